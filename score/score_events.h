/* score_events.h - laughter events and per-input summary figures.
 *
 * An event is a run of frames whose signal (the best smoothed score among the
 * faces of the frame) rises to at least `on` and lasts until it falls below
 * `off` (< on): the gap between the two is the hysteresis that keeps a score
 * hovering at the threshold from splitting one laugh into many. Frames
 * without a face count as signal 0. Streaming: nothing is kept per frame. */
#ifndef SCORE_EVENTS_H
#define SCORE_EVENTS_H

#include <stdint.h>

typedef struct {
    double start_s, end_s; /* first frame at or above on; first frame below off (or the end) */
    double peak_s;
    float peak;
} sev_event;

typedef struct {
    float on, off;
    int active;
    sev_event cur;
    double last_t;
} sev_detector;

/* off is clamped to [0, on]. */
void sev_init(sev_detector *d, float on, float off);
/* One frame at time t_s with signal v. Returns 1 and fills *done when an
 * event ended at this frame. */
int sev_push(sev_detector *d, double t_s, float v, sev_event *done);
/* End of input at end_s (the time just past the last frame): returns 1 and
 * fills *done when an event was still open. */
int sev_finish(sev_detector *d, double end_s, sev_event *done);

/* The hysteresis gap used by smile-score (off = threshold - SEV_HYSTERESIS). */
#define SEV_HYSTERESIS 0.1f

/* Per-input summary accumulators. */
typedef struct {
    int64_t frames, frames_with_face, corrupt;
    double score_sum;       /* of every face's score */
    int64_t score_n;
    int64_t frames_smiling; /* signal >= threshold */
} sev_summary;

#endif /* SCORE_EVENTS_H */

/* face_track.h - IoU tracker with per-track score smoothing.
 *
 * Plain structs, no allocation: the pipeline embeds one, tests drive it with
 * boxes directly. Each update associates detections with tracks greedily by
 * IoU (best pairs first, IoU >= iou_min); a matched track moves its box part
 * way towards the detection (box_alpha) and resets missed; an unmatched one
 * counts missed frames and is dropped after max_missed; an unmatched
 * detection starts a track with a new id. Scores are smoothed by an EMA with
 * alpha = 1 - exp(-dt / tau), dt in seconds. */
#ifndef FACE_TRACK_H
#define FACE_TRACK_H

#define FACE_MAX_TRACKS 32

typedef struct {
    float x, y, w, h;
} face_box;

typedef struct {
    int id;
    face_box box;
    int missed;      /* frames since last matched */
    int hits;        /* frames matched in all */
    float score;     /* last raw score (-1: none yet) */
    float smoothed;  /* EMA of score */
    double t_score;  /* time of the last score */
    int det;         /* index of this frame's matched detection, -1 if none */
} face_track;

typedef struct {
    face_track t[FACE_MAX_TRACKS];
    int n;
    int next_id;
    int max_missed;
    float iou_min;
    float box_alpha; /* 1: jump to the detection; smaller: smoother */
} face_tracker;

void face_tracker_init(face_tracker *tr, int max_missed, float box_alpha);
void face_tracker_reset(face_tracker *tr); /* drop tracks; ids keep increasing */

/* One frame of detections (n may be 0). Boxes beyond FACE_MAX_TRACKS live
 * tracks are ignored. */
void face_tracker_update(face_tracker *tr, const face_box *dets, int n);

/* Feed a track's score at time t_s; tau_s <= 0 disables smoothing. */
void face_track_score(face_track *t, float score, double t_s, float tau_s);

float face_box_iou(const face_box *a, const face_box *b);

#endif /* FACE_TRACK_H */

/* score_plot.h - the --plot timeline: one panel per input, the smoothed score
 * of each track against time, the threshold as a dashed line and laughter
 * events shaded. A series keeps at most SP_MAX_POINTS points (it halves its
 * resolution when full), so memory does not grow with video length. */
#ifndef SCORE_PLOT_H
#define SCORE_PLOT_H

#include <stddef.h>

#define SP_MAX_POINTS 8192

typedef struct sp_series sp_series;

sp_series *sp_new(const char *name);
void sp_free(sp_series *s);
/* One face's smoothed score at time t. Call in time order. */
void sp_add(sp_series *s, double t, int track, float v);
void sp_event(sp_series *s, double start_s, double end_s);
void sp_set_duration(sp_series *s, double end_s);
size_t sp_points(const sp_series *s);

/* Writes the PNG atomically (temporary file + rename). 0, or -1 with err. */
int sp_write_png(const char *path, sp_series *const *series, int n, float threshold, char *err,
                 size_t errlen);

/* Frees cairo's and fontconfig's process-wide caches (text drawing fills
 * them), so leak checkers see a clean exit. Call once, at the very end. */
void sp_shutdown(void);

#endif /* SCORE_PLOT_H */

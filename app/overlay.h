/* overlay.h - draws a frame and its overlay with cairo: the letterboxed
 * (optionally mirrored) video, each face's box coloured by its score with
 * a percentage and a bar, the large laughter meter for the main face, the
 * score history graph, and frames/s and latency.
 *
 * Pure cairo + pango: no GTK, so the worker can draw the same overlay onto
 * snapshots, and tests can render it without a display. */
#ifndef OVERLAY_H
#define OVERLAY_H

#include <cairo.h>

#include "app_frame.h"

#define OVERLAY_HISTORY_MAX 1024

typedef struct {
    int mirror;            /* selfie view: flip left and right */
    int show_hud;          /* meter, graph and stats (off for snapshots) */
    double fps;            /* frames drawn a second; < 0: unknown */
    double latency_ms;     /* frame arrival to draw; < 0: unknown */
    /* Main-face score history: times (seconds, same clock as now_s) and
     * scores in 0..1 (negative: no face), oldest first. */
    const double *hist_t;
    const float *hist_v;
    int n_hist;
    double now_s;
    double history_span_s; /* seconds across the graph (30) */
    int shutter_on;
    double threshold;      /* smile shutter threshold 0..1 */
    double shutter_hold;   /* 0..1: how far the current smile is towards a shot */
    int recording;
    int stale;             /* the source stopped: the last picture, dimmed, no overlay */
} overlay_hud;

void overlay_hud_defaults(overlay_hud *hud);

/* Where a img_w x img_h image sits, letterboxed, in an area_w x area_h area. */
void overlay_fit(int area_w, int area_h, int img_w, int img_h, double *ox, double *oy,
                 double *scale);

/* The colour of a face box for a smoothed score in 0..1 (blue to green);
 * a negative score (no model) gives yellow. rgb[] in 0..1. */
void overlay_score_color(float score, double rgb[3]);

/* Draws everything into cr, covering 0,0..area_w,area_h. f may be NULL
 * (draws the background only). */
void overlay_draw(cairo_t *cr, int area_w, int area_h, const app_frame *f,
                  const overlay_hud *hud);

/* Screen rectangle of face i as drawn (for tests and hit checks). */
void overlay_face_rect(int area_w, int area_h, const app_frame *f, int i, int mirror, double *x,
                       double *y, double *w, double *h);

#endif

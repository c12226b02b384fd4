/* score_plot.c - PNG timeline with cairo (see score_plot.h). */
#include "score_plot.h"

#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    double t;
    int track;
    float v;
} sp_point;

struct sp_series {
    char name[256];
    sp_point *pts;
    size_t n;
    int keep_every, skipped; /* decimation: keep one point in keep_every */
    double *ev;              /* start, end pairs */
    size_t n_ev, cap_ev;
    double end_s;
};

sp_series *sp_new(const char *name) {
    sp_series *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->pts = malloc(SP_MAX_POINTS * sizeof(*s->pts));
    if (!s->pts) {
        free(s);
        return NULL;
    }
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->keep_every = 1;
    return s;
}

void sp_free(sp_series *s) {
    if (!s) return;
    free(s->pts);
    free(s->ev);
    free(s);
}

size_t sp_points(const sp_series *s) { return s ? s->n : 0; }

void sp_add(sp_series *s, double t, int track, float v) {
    if (!s) return;
    if (t > s->end_s) s->end_s = t;
    if (++s->skipped < s->keep_every) return;
    s->skipped = 0;
    if (s->n == SP_MAX_POINTS) { /* halve the resolution */
        for (size_t i = 0; i < SP_MAX_POINTS / 2; i++) s->pts[i] = s->pts[2 * i];
        s->n = SP_MAX_POINTS / 2;
        s->keep_every *= 2;
    }
    s->pts[s->n++] = (sp_point){t, track, v};
}

void sp_event(sp_series *s, double start_s, double end_s) {
    if (!s) return;
    if (s->n_ev + 2 > s->cap_ev) {
        size_t nc = s->cap_ev ? 2 * s->cap_ev : 32;
        double *ne = realloc(s->ev, nc * sizeof(*ne));
        if (!ne) return; /* the plot just lacks the shading */
        s->ev = ne;
        s->cap_ev = nc;
    }
    s->ev[s->n_ev++] = start_s;
    s->ev[s->n_ev++] = end_s;
}

void sp_set_duration(sp_series *s, double end_s) {
    if (s && end_s > s->end_s) s->end_s = end_s;
}

static const double palette[8][3] = {
    {0.12, 0.47, 0.71}, {0.84, 0.15, 0.16}, {0.17, 0.63, 0.17}, {0.58, 0.40, 0.74},
    {1.00, 0.50, 0.05}, {0.55, 0.34, 0.29}, {0.89, 0.47, 0.76}, {0.09, 0.75, 0.81},
};

static void draw_panel(cairo_t *cr, const sp_series *s, double x0, double y0, double w, double h,
                       float threshold) {
    double dur = s->end_s > 0 ? s->end_s : 1.0;
    double px = x0 + 50, pw = w - 70, py = y0 + 24, ph = h - 50;
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_font_size(cr, 13);
    cairo_move_to(cr, x0 + 10, y0 + 16);
    cairo_show_text(cr, s->name);
    /* events */
    cairo_set_source_rgba(cr, 1.0, 0.85, 0.2, 0.45);
    for (size_t i = 0; i + 1 < s->n_ev; i += 2) {
        double a = px + pw * s->ev[i] / dur, b = px + pw * s->ev[i + 1] / dur;
        cairo_rectangle(cr, a, py, b - a < 1 ? 1 : b - a, ph);
        cairo_fill(cr);
    }
    /* axes and labels */
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, px, py, pw, ph);
    cairo_stroke(cr);
    cairo_set_font_size(cr, 10);
    char lab[32];
    for (int k = 0; k <= 4; k++) {
        double v = k / 4.0, yy = py + ph * (1 - v);
        snprintf(lab, sizeof(lab), "%.2f", v);
        cairo_move_to(cr, x0 + 18, yy + 3);
        cairo_show_text(cr, lab);
        double tt = dur * k / 4.0, xx = px + pw * k / 4.0;
        snprintf(lab, sizeof(lab), "%.1f s", tt);
        cairo_move_to(cr, xx - 12, py + ph + 14);
        cairo_show_text(cr, lab);
    }
    double dash = 4;
    cairo_set_dash(cr, &dash, 1, 0);
    cairo_move_to(cr, px, py + ph * (1 - threshold));
    cairo_line_to(cr, px + pw, py + ph * (1 - threshold));
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
    /* one polyline per track; a gap over 1 s breaks the line */
    cairo_set_line_width(cr, 1.5);
    for (size_t i = 0; i < s->n; i++) {
        int tr = s->pts[i].track;
        int seen = 0;
        for (size_t j = 0; j < i; j++)
            if (s->pts[j].track == tr) {
                seen = 1;
                break;
            }
        if (seen) continue;
        const double *c = palette[(unsigned)tr % 8];
        cairo_set_source_rgb(cr, c[0], c[1], c[2]);
        double last_t = -1e9;
        for (size_t j = i; j < s->n; j++) {
            if (s->pts[j].track != tr) continue;
            double xx = px + pw * s->pts[j].t / dur, yy = py + ph * (1 - s->pts[j].v);
            if (s->pts[j].t - last_t > 1.0) {
                cairo_stroke(cr);
                cairo_move_to(cr, xx, yy);
                cairo_rectangle(cr, xx - 0.75, yy - 0.75, 1.5, 1.5);
                cairo_move_to(cr, xx, yy);
            } else {
                cairo_line_to(cr, xx, yy);
            }
            last_t = s->pts[j].t;
        }
        cairo_stroke(cr);
    }
}

int sp_write_png(const char *path, sp_series *const *series, int n, float threshold, char *err,
                 size_t errlen) {
    if (n < 1) n = 1;
    int w = 1000, panel_h = 220, h = panel_h * n;
    if (h > 16000) h = 16000, panel_h = h / n; /* cairo's size limit */
    if (panel_h < 60) {
        snprintf(err, errlen, "%s: too many inputs (%d) for one plot", path, n);
        return -1;
    }
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_t *cr = cairo_create(surf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    for (int i = 0; i < n && series && series[i]; i++)
        draw_panel(cr, series[i], 0, (double)i * panel_h, w, panel_h, threshold);
    cairo_destroy(cr);
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    int rc = -1;
    if (!tmp) {
        snprintf(err, errlen, "%s: out of memory", path);
    } else {
        snprintf(tmp, plen + 16, "%s.tmp-%ld", path, (long)getpid());
        cairo_status_t cs = cairo_surface_write_to_png(surf, tmp);
        if (cs != CAIRO_STATUS_SUCCESS) {
            snprintf(err, errlen, "%s: cannot write the plot: %s", path,
                     cairo_status_to_string(cs));
            unlink(tmp);
        } else if (rename(tmp, path) != 0) {
            snprintf(err, errlen, "%s: cannot rename the plot into place: %s", path,
                     strerror(errno));
            unlink(tmp);
        } else {
            rc = 0;
        }
        free(tmp);
    }
    cairo_surface_destroy(surf);
    return rc;
}

void sp_shutdown(void) {
    cairo_debug_reset_static_data();
    FcFini();
}

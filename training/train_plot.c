/* train_plot.c - line plots with cairo (training curves, optimizer races)
 * written atomically as PNG. */
#include <cairo.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"

static const double palette[][3] = {
    {0.12, 0.47, 0.71}, {1.00, 0.50, 0.05}, {0.17, 0.63, 0.17}, {0.84, 0.15, 0.16},
    {0.58, 0.40, 0.74}, {0.55, 0.34, 0.29}, {0.89, 0.47, 0.76}, {0.50, 0.50, 0.50},
    {0.74, 0.74, 0.13}, {0.09, 0.75, 0.81}};

static cairo_status_t png_to_buf(void *closure, const unsigned char *data, unsigned int len)
{
    struct {
        unsigned char *p;
        size_t n, cap;
    } *b = closure;
    if (b->n + len > b->cap) {
        size_t cap = (b->cap ? b->cap : 65536);
        while (cap < b->n + len)
            cap *= 2;
        unsigned char *np = realloc(b->p, cap);
        if (!np)
            return CAIRO_STATUS_NO_MEMORY;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, len);
    b->n += len;
    return CAIRO_STATUS_SUCCESS;
}

/* Encodes the surface as PNG in memory and writes it atomically. */
int tr_surface_save(cairo_surface_t *surf, const char *path)
{
    struct {
        unsigned char *p;
        size_t n, cap;
    } b = {0};
    if (cairo_surface_write_to_png_stream(surf, png_to_buf, &b) != CAIRO_STATUS_SUCCESS) {
        free(b.p);
        tr_error("%s: PNG encoding failed", path);
        return -1;
    }
    nn_error e = {{0}};
    int rc = 0;
    if (nn_write_file_atomic(path, b.p, b.n, &e)) {
        tr_error("%s", e.msg);
        rc = -1;
    }
    free(b.p);
    return rc;
}

static double nice_step(double range)
{
    double s = pow(10, floor(log10(range / 5)));
    if (range / s > 10)
        s *= 2;
    if (range / s > 10)
        s *= 2.5;
    return s;
}

/* Draws one plot into the rectangle (x0, y0, w, h) of cr. */
static void draw_plot(cairo_t *cr, double X0, double Y0, double W, double H, const char *title,
                      const char *xlabel, const char *ylabel, const tr_series *s, int ns, int logy)
{
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < s[k].n; i++) {
            double y = s[k].y[i];
            if (!isfinite(y) || (logy && y <= 0))
                continue;
            if (logy)
                y = log10(y);
            xmin = fmin(xmin, s[k].x[i]);
            xmax = fmax(xmax, s[k].x[i]);
            ymin = fmin(ymin, y);
            ymax = fmax(ymax, y);
        }
    if (!isfinite(xmin)) {
        xmin = 0;
        xmax = 1;
        ymin = 0;
        ymax = 1;
    }
    if (xmax - xmin < 1e-9)
        xmax = xmin + 1;
    if (ymax - ymin < 1e-9) {
        ymax += 0.5;
        ymin -= 0.5;
    }
    double pad = 0.05 * (ymax - ymin);
    ymin -= pad;
    ymax += pad;
    double L = X0 + 70, R = X0 + W - 20, T = Y0 + 40, B = Y0 + H - 50;
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_rectangle(cr, X0, Y0, W, H);
    cairo_fill(cr);
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 15);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_text_extents_t te;
    cairo_text_extents(cr, title, &te);
    cairo_move_to(cr, X0 + W / 2 - te.width / 2, Y0 + 24);
    cairo_show_text(cr, title);
    cairo_set_font_size(cr, 11);
    /* grid and ticks */
    cairo_set_line_width(cr, 1);
    double ys = nice_step(ymax - ymin);
    for (double v = ceil(ymin / ys) * ys; v <= ymax; v += ys) {
        double py = B - (v - ymin) / (ymax - ymin) * (B - T);
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, L, py);
        cairo_line_to(cr, R, py);
        cairo_stroke(cr);
        char lab[32];
        if (logy)
            snprintf(lab, sizeof lab, "%.3g", pow(10, v));
        else
            snprintf(lab, sizeof lab, "%.3g", fabs(v) < 1e-12 ? 0 : v);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        cairo_text_extents(cr, lab, &te);
        cairo_move_to(cr, L - 6 - te.width, py + 4);
        cairo_show_text(cr, lab);
    }
    double xs = nice_step(xmax - xmin);
    if (xs < 1 && xmax - xmin >= 2)
        xs = 1;
    for (double v = ceil(xmin / xs) * xs; v <= xmax + 1e-9; v += xs) {
        double px = L + (v - xmin) / (xmax - xmin) * (R - L);
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, px, T);
        cairo_line_to(cr, px, B);
        cairo_stroke(cr);
        char lab[32];
        snprintf(lab, sizeof lab, "%.4g", v);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        cairo_text_extents(cr, lab, &te);
        cairo_move_to(cr, px - te.width / 2, B + 16);
        cairo_show_text(cr, lab);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_rectangle(cr, L, T, R - L, B - T);
    cairo_stroke(cr);
    cairo_text_extents(cr, xlabel, &te);
    cairo_move_to(cr, (L + R) / 2 - te.width / 2, B + 36);
    cairo_show_text(cr, xlabel);
    cairo_save(cr);
    cairo_text_extents(cr, ylabel, &te);
    cairo_move_to(cr, X0 + 16, (T + B) / 2 + te.width / 2);
    cairo_rotate(cr, -M_PI / 2);
    cairo_show_text(cr, ylabel);
    cairo_restore(cr);
    /* series */
    cairo_save(cr);
    cairo_rectangle(cr, L, T, R - L, B - T);
    cairo_clip(cr);
    cairo_set_line_width(cr, 2);
    for (int k = 0; k < ns; k++) {
        const double *c = palette[k % 10];
        cairo_set_source_rgb(cr, c[0], c[1], c[2]);
        double dash[2] = {6, 4};
        cairo_set_dash(cr, dash, s[k].dashed ? 2 : 0, 0);
        int started = 0;
        for (int i = 0; i < s[k].n; i++) {
            double y = s[k].y[i];
            if (!isfinite(y) || (logy && y <= 0)) {
                started = 0;
                continue;
            }
            if (logy)
                y = log10(y);
            double px = L + (s[k].x[i] - xmin) / (xmax - xmin) * (R - L);
            double py = B - (y - ymin) / (ymax - ymin) * (B - T);
            if (started)
                cairo_line_to(cr, px, py);
            else
                cairo_move_to(cr, px, py);
            started = 1;
        }
        cairo_stroke(cr);
        if (s[k].n == 1) { /* a single point: a dot */
            double px = L + (s[k].x[0] - xmin) / (xmax - xmin) * (R - L);
            double y = logy ? log10(s[k].y[0]) : s[k].y[0];
            cairo_arc(cr, px, B - (y - ymin) / (ymax - ymin) * (B - T), 3, 0, 2 * M_PI);
            cairo_fill(cr);
        }
    }
    cairo_set_dash(cr, NULL, 0, 0);
    cairo_restore(cr);
    /* legend */
    double ly = T + 14;
    for (int k = 0; k < ns; k++) {
        const double *c = palette[k % 10];
        cairo_set_source_rgb(cr, c[0], c[1], c[2]);
        double dash[2] = {6, 4};
        cairo_set_dash(cr, dash, s[k].dashed ? 2 : 0, 0);
        cairo_set_line_width(cr, 3);
        cairo_move_to(cr, R - 130, ly - 4);
        cairo_line_to(cr, R - 105, ly - 4);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, R - 100, ly);
        cairo_show_text(cr, s[k].label);
        ly += 16;
    }
}

int tr_plot_png(const char *path, int width, int height, const char *title, const char *xlabel,
                const char *ylabel, const tr_series *s, int n_series, int logy)
{
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    cairo_t *cr = cairo_create(surf);
    draw_plot(cr, 0, 0, width, height, title, xlabel, ylabel, s, n_series, logy);
    cairo_destroy(cr);
    int rc = tr_surface_save(surf, path);
    cairo_surface_destroy(surf);
    return rc;
}

int tr_plot_curves_png(const char *path, const char *title, const tr_series *loss, int n_loss,
                       const tr_series *acc, int n_acc)
{
    int W = 1200, H = 460;
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_t *cr = cairo_create(surf);
    char t1[700], t2[700];
    snprintf(t1, sizeof t1, "loss (%s)", title);
    snprintf(t2, sizeof t2, "accuracy (%s)", title);
    draw_plot(cr, 0, 0, W / 2, H, t1, "epoch", "loss", loss, n_loss, 0);
    draw_plot(cr, W / 2, 0, W / 2, H, t2, "epoch", "accuracy", acc, n_acc, 0);
    cairo_destroy(cr);
    int rc = tr_surface_save(surf, path);
    cairo_surface_destroy(surf);
    return rc;
}

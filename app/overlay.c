/* overlay.c - the live view's drawing; see overlay.h. */
#include "overlay.h"
#include "face_track.h"

#include <glib/gi18n.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int app_frame_reserve(app_frame *f, int width, int height)
{
    size_t stride = (size_t)width * 4;
    size_t need = stride * (size_t)height;
    if (width <= 0 || height <= 0)
        return -1;
    if (need > f->capacity) {
        uint32_t *p = realloc(f->pixels, need);
        if (!p)
            return -1;
        f->pixels = p;
        f->capacity = need;
    }
    f->width = width;
    f->height = height;
    f->stride = (int)stride;
    return 0;
}

void app_frame_clear(app_frame *f)
{
    free(f->pixels);
    memset(f, 0, sizeof *f);
}

int app_frame_pick_main(const face_result *faces, int n)
{
    int best = -1;
    float best_area = 0;
    for (int pass = 0; pass < 2 && best < 0; pass++) {
        for (int i = 0; i < n; i++) {
            float a = faces[i].w * faces[i].h;
            if (pass == 0 && faces[i].missed != 0)
                continue;
            if (a > best_area) {
                best_area = a;
                best = i;
            }
        }
    }
    return best;
}

void overlay_hud_defaults(overlay_hud *hud)
{
    memset(hud, 0, sizeof *hud);
    hud->mirror = 1;
    hud->show_hud = 1;
    hud->fps = -1;
    hud->latency_ms = -1;
    hud->history_span_s = 30;
    hud->threshold = 0.8;
}

void overlay_fit(int area_w, int area_h, int img_w, int img_h, double *ox, double *oy,
                 double *scale)
{
    double s = 1;
    if (img_w > 0 && img_h > 0 && area_w > 0 && area_h > 0)
        s = fmin((double)area_w / img_w, (double)area_h / img_h);
    *scale = s;
    *ox = floor((area_w - img_w * s) / 2);
    *oy = floor((area_h - img_h * s) / 2);
}

void overlay_score_color(float score, double rgb[3])
{
    static const double none[3] = {0xf6 / 255.0, 0xd3 / 255.0, 0x2d / 255.0};
    static const double lo[3] = {0x35 / 255.0, 0x84 / 255.0, 0xe4 / 255.0};
    static const double hi[3] = {0x33 / 255.0, 0xd1 / 255.0, 0x7a / 255.0};
    if (score < 0 || isnan(score)) {
        memcpy(rgb, none, sizeof none);
        return;
    }
    double t = score > 1 ? 1 : score;
    for (int c = 0; c < 3; c++)
        rgb[c] = lo[c] + (hi[c] - lo[c]) * t;
}

void overlay_face_rect(int area_w, int area_h, const app_frame *f, int i, int mirror, double *x,
                       double *y, double *w, double *h)
{
    double ox, oy, s;
    const face_result *r = &f->faces[i];
    overlay_fit(area_w, area_h, f->width, f->height, &ox, &oy, &s);
    double fx = mirror ? f->width - r->x - r->w : r->x;
    *x = ox + fx * s;
    *y = oy + r->y * s;
    *w = r->w * s;
    *h = r->h * s;
}

static void rounded_rect(cairo_t *cr, double x, double y, double w, double h, double r)
{
    if (r > w / 2)
        r = w / 2;
    if (r > h / 2)
        r = h / 2;
    cairo_new_sub_path(cr);
    cairo_arc(cr, x + w - r, y + r, r, -M_PI / 2, 0);
    cairo_arc(cr, x + w - r, y + h - r, r, 0, M_PI / 2);
    cairo_arc(cr, x + r, y + h - r, r, M_PI / 2, M_PI);
    cairo_arc(cr, x + r, y + r, r, M_PI, 3 * M_PI / 2);
    cairo_close_path(cr);
}

/* Text at (x, y) (top-left) on a dark pill so it reads on any video.
 * Returns the pill's width. align: 0 left, 1 right edge at x, 2 centred. */
static double draw_label(cairo_t *cr, PangoLayout *layout, const char *text, double px,
                         int bold, double x, double y, int align, const double *rgb)
{
    PangoFontDescription *fd = pango_font_description_from_string("Sans");
    pango_font_description_set_absolute_size(fd, px * PANGO_SCALE);
    if (bold)
        pango_font_description_set_weight(fd, PANGO_WEIGHT_BOLD);
    pango_layout_set_font_description(layout, fd);
    pango_font_description_free(fd);
    pango_layout_set_text(layout, text, -1);
    int tw, th;
    pango_layout_get_pixel_size(layout, &tw, &th);
    double pad = px * 0.3;
    double w = tw + 2 * pad, h = th + pad;
    if (align == 1)
        x -= w;
    else if (align == 2)
        x -= w / 2;
    cairo_set_source_rgba(cr, 0, 0, 0, 0.6);
    rounded_rect(cr, x, y, w, h, h / 3);
    cairo_fill(cr);
    if (rgb)
        cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
    else
        cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_move_to(cr, x + pad, y + pad / 2);
    pango_cairo_show_layout(cr, layout);
    return w;
}

/* Whether face i is coasting (unseen this frame) over a face seen this
 * frame: the tracker keeps a face through a few missed frames, so a face
 * that jumps leaves its old track overlapping the new one for a moment. */
static int coasting_over_seen(const app_frame *f, int i)
{
    const face_result *a = &f->faces[i];
    if (!a->missed)
        return 0;
    face_box ab = {a->x, a->y, a->w, a->h};
    for (int j = 0; j < f->n_faces; j++) {
        const face_result *b = &f->faces[j];
        face_box bb = {b->x, b->y, b->w, b->h};
        if (j != i && !b->missed && face_box_iou(&ab, &bb) > 0)
            return 1;
    }
    return 0;
}

/* top_limit: the highest y a label may start at (below the fps readout). */
static void draw_faces(cairo_t *cr, PangoLayout *layout, int area_w, int area_h,
                       const app_frame *f, int mirror, double scale, double top_limit)
{
    char buf[64];
    for (int i = 0; i < f->n_faces; i++) {
        const face_result *r = &f->faces[i];
        double x, y, w, h, rgb[3];
        float sc = f->has_scores ? r->smoothed : -1;
        overlay_face_rect(area_w, area_h, f, i, mirror, &x, &y, &w, &h);
        overlay_score_color(sc, rgb);
        double lw = fmax(2.0, 3.0 * fmin(scale, 1.5));
        double alpha = r->missed ? 0.5 : 1.0;
        cairo_set_line_width(cr, lw);
        cairo_set_source_rgba(cr, rgb[0], rgb[1], rgb[2], alpha);
        rounded_rect(cr, x, y, w, h, w * 0.08);
        cairo_stroke(cr);
        if (coasting_over_seen(f, i))
            continue; /* its label and bar would sit on the live face's */
        double px = fmax(12, fmin(22, w * 0.14));
        if (sc >= 0) {
            snprintf(buf, sizeof buf, "%d %%", (int)lrint(sc * 100));
            /* the bar under the box: the score as a fraction of the box width */
            double by = y + h + lw + 3, bh = fmax(5, px * 0.4);
            cairo_set_source_rgba(cr, 0, 0, 0, 0.55);
            rounded_rect(cr, x, by, w, bh, bh / 2);
            cairo_fill(cr);
            cairo_set_source_rgba(cr, rgb[0], rgb[1], rgb[2], alpha);
            rounded_rect(cr, x, by, fmax(bh, w * sc), bh, bh / 2);
            cairo_fill(cr);
        } else {
            /* TRANSLATORS: label over a face box when there is no smile model */
            snprintf(buf, sizeof buf, "%s", _("Face"));
        }
        /* Above the box when there is room; a face at the top edge gets its
         * label just inside the box instead of under the fps readout. */
        double ly = y - px * 1.6 - lw;
        if (ly < top_limit)
            ly = y + lw + 2;
        draw_label(cr, layout, buf, px, 1, x, ly, 0, rgb);
    }
}

static void draw_meter(cairo_t *cr, PangoLayout *layout, double vx, double vy, double vw,
                       double vh, const app_frame *f, const overlay_hud *hud)
{
    char buf[64];
    double mw = fmax(18, fmin(34, vw * 0.04));
    double mh = vh * 0.42;
    double mx = vx + vw - mw - 16, my = vy + vh * 0.12;
    float sc = -1;
    if (f->main_face >= 0 && f->has_scores)
        sc = f->faces[f->main_face].smoothed;
    double rgb[3];
    overlay_score_color(sc < 0 ? 0 : sc, rgb);
    cairo_set_source_rgba(cr, 0, 0, 0, 0.55);
    rounded_rect(cr, mx, my, mw, mh, mw / 2);
    cairo_fill(cr);
    if (sc >= 0) {
        double fh = fmax(mw, mh * sc);
        cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
        rounded_rect(cr, mx, my + mh - fh, mw, fh, mw / 2);
        cairo_fill(cr);
    }
    if (hud->shutter_on) {
        double ty = my + mh * (1 - hud->threshold);
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_set_line_width(cr, 2);
        cairo_move_to(cr, mx - 5, ty);
        cairo_line_to(cr, mx + mw + 5, ty);
        cairo_stroke(cr);
        if (hud->shutter_hold > 0) {
            /* a ring that closes as the smile is held long enough for a shot */
            cairo_set_line_width(cr, 4);
            cairo_set_source_rgb(cr, 1, 1, 1);
            cairo_arc(cr, mx + mw / 2, my - mw, mw * 0.6, -M_PI / 2,
                      -M_PI / 2 + 2 * M_PI * fmin(1, hud->shutter_hold));
            cairo_stroke(cr);
        }
    }
    double px = fmax(14, fmin(30, vh * 0.05));
    if (sc >= 0)
        snprintf(buf, sizeof buf, "%d %%", (int)lrint(sc * 100));
    else
        snprintf(buf, sizeof buf, "–");
    draw_label(cr, layout, buf, px, 1, mx + mw, my + mh + 8, 1, NULL);
    /* TRANSLATORS: caption of the big meter: how much the main face laughs */
    draw_label(cr, layout, _("Laughter"), px * 0.5, 0, mx + mw, my + mh + 14 + px * 1.4, 1,
               NULL);
}

static void draw_graph(cairo_t *cr, double vx, double vy, double vw, double vh,
                       const overlay_hud *hud)
{
    double gh = fmax(40, fmin(90, vh * 0.16));
    double gx = vx + 12, gw = vw - 24, gy = vy + vh - gh - 12;
    cairo_set_source_rgba(cr, 0, 0, 0, 0.45);
    rounded_rect(cr, gx, gy, gw, gh, 8);
    cairo_fill(cr);
    if (hud->shutter_on) {
        double dash[] = {4, 4};
        cairo_set_dash(cr, dash, 2, 0);
        cairo_set_line_width(cr, 1);
        cairo_set_source_rgba(cr, 1, 1, 1, 0.6);
        double ty = gy + gh * (1 - hud->threshold);
        cairo_move_to(cr, gx, ty);
        cairo_line_to(cr, gx + gw, ty);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
    }
    if (hud->n_hist < 2)
        return;
    cairo_save(cr);
    rounded_rect(cr, gx, gy, gw, gh, 8);
    cairo_clip(cr);
    cairo_set_line_width(cr, 2);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    /* runs of samples with a face: each filled faintly, then outlined */
    int i = 0;
    while (i < hud->n_hist) {
        while (i < hud->n_hist &&
               (hud->hist_v[i] < 0 || hud->now_s - hud->hist_t[i] > hud->history_span_s))
            i++;
        int start = i;
        while (i < hud->n_hist && hud->hist_v[i] >= 0)
            i++;
        if (i - start < 2)
            continue;
        for (int pass = 0; pass < 2; pass++) {
            for (int k = start; k < i; k++) {
                double x = gx + gw - (hud->now_s - hud->hist_t[k]) / hud->history_span_s * gw;
                double y = gy + 3 + (gh - 6) * (1 - hud->hist_v[k]);
                if (k == start)
                    cairo_move_to(cr, x, y);
                else
                    cairo_line_to(cr, x, y);
            }
            if (pass == 0) {
                double x0 = gx + gw - (hud->now_s - hud->hist_t[start]) / hud->history_span_s * gw;
                double x1 = gx + gw - (hud->now_s - hud->hist_t[i - 1]) / hud->history_span_s * gw;
                double rgb[3];
                cairo_line_to(cr, x1, gy + gh);
                cairo_line_to(cr, x0, gy + gh);
                cairo_close_path(cr);
                overlay_score_color(0.5f, rgb);
                cairo_set_source_rgba(cr, rgb[0], rgb[1], rgb[2], 0.35);
                cairo_fill(cr);
            } else {
                cairo_set_source_rgb(cr, 1, 1, 1);
                cairo_stroke(cr);
            }
        }
    }
    cairo_restore(cr);
}

void overlay_draw(cairo_t *cr, int area_w, int area_h, const app_frame *f,
                  const overlay_hud *hud)
{
    cairo_save(cr);
    cairo_set_source_rgb(cr, 0.08, 0.08, 0.08);
    cairo_rectangle(cr, 0, 0, area_w, area_h);
    cairo_fill(cr);
    if (!f || !f->pixels || f->width <= 0) {
        cairo_restore(cr);
        return;
    }
    double ox, oy, s;
    overlay_fit(area_w, area_h, f->width, f->height, &ox, &oy, &s);
    cairo_surface_t *img = cairo_image_surface_create_for_data(
        (unsigned char *)f->pixels, CAIRO_FORMAT_RGB24, f->width, f->height, f->stride);
    cairo_save(cr);
    if (!hud->mirror != !f->mirrored) {
        cairo_translate(cr, ox + f->width * s, oy);
        cairo_scale(cr, -s, s);
    } else {
        cairo_translate(cr, ox, oy);
        cairo_scale(cr, s, s);
    }
    cairo_set_source_surface(cr, img, 0, 0);
    /* bilinear is plenty for video and keeps the whole app cheap */
    cairo_pattern_set_filter(cairo_get_source(cr),
                             fabs(s - 1) < 1e-9 ? CAIRO_FILTER_FAST : CAIRO_FILTER_BILINEAR);
    cairo_rectangle(cr, 0, 0, f->width, f->height);
    cairo_fill(cr);
    cairo_restore(cr);
    cairo_surface_destroy(img);

    double vw = f->width * s, vh = f->height * s;
    if (hud->stale) { /* old faces and scores would be misleading */
        cairo_set_source_rgba(cr, 0, 0, 0, 0.55);
        cairo_rectangle(cr, ox, oy, vw, vh);
        cairo_fill(cr);
        cairo_restore(cr);
        return;
    }
    PangoLayout *layout = pango_cairo_create_layout(cr);
    if (hud->show_hud) {
        char buf[128];
        if (f->has_scores)
            draw_meter(cr, layout, ox, oy, vw, vh, f, hud);
        if (f->has_scores)
            draw_graph(cr, ox, oy, vw, vh, hud);
        if (hud->fps >= 0 && hud->latency_ms >= 0)
            /* TRANSLATORS: frames per second and the delay from camera to screen */
            snprintf(buf, sizeof buf, _("%.0f fps · %.0f ms"), hud->fps, hud->latency_ms);
        else if (hud->fps >= 0)
            snprintf(buf, sizeof buf, _("%.0f fps"), hud->fps);
        else
            buf[0] = 0;
        if (buf[0])
            draw_label(cr, layout, buf, 13, 0, ox + 12, oy + 12, 0, NULL);
        if (hud->recording) {
            static const double red[3] = {0xe0 / 255.0, 0x1b / 255.0, 0x24 / 255.0};
            /* TRANSLATORS: shown while recording video; keep it short */
            draw_label(cr, layout, _("● REC"), 14, 1, ox + vw - 12, oy + 12, 1, red);
        }
    }
    /* the faces last: nothing may hide a box */
    draw_faces(cr, layout, area_w, area_h, f, hud->mirror, s, oy + (hud->show_hud ? 40 : 4));
    g_object_unref(layout);
    cairo_restore(cr);
}

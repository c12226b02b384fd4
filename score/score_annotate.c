/* score_annotate.c - boxes and scores drawn with cairo (see score_annotate.h). */
#include "score_annotate.h"

#include <cairo.h>
#include <stdio.h>
#include <stdlib.h>

#include "image_io.h"

struct sc_annotator {
    cairo_surface_t *surf;
    int w, h;
};

sc_annotator *sc_annotator_new(void) { return calloc(1, sizeof(sc_annotator)); }

void sc_annotator_free(sc_annotator *a) {
    if (!a) return;
    if (a->surf) cairo_surface_destroy(a->surf);
    free(a);
}

int sc_annotate(sc_annotator *a, uint8_t *rgb, int width, int height, const face_result *faces,
                int n, float threshold, uint8_t **jpeg, size_t *jpeg_size) {
    *jpeg = NULL;
    *jpeg_size = 0;
    if (!a || !rgb || width <= 0 || height <= 0) return -1;
    if (!a->surf || a->w != width || a->h != height) {
        if (a->surf) cairo_surface_destroy(a->surf);
        a->surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
        a->w = width;
        a->h = height;
        if (cairo_surface_status(a->surf) != CAIRO_STATUS_SUCCESS) {
            cairo_surface_destroy(a->surf);
            a->surf = NULL;
            return -1;
        }
    }
    cairo_surface_flush(a->surf);
    uint8_t *px = cairo_image_surface_get_data(a->surf);
    int st = cairo_image_surface_get_stride(a->surf);
    for (int y = 0; y < height; y++) {
        uint32_t *o = (uint32_t *)(void *)(px + (size_t)y * st);
        const uint8_t *i = rgb + (size_t)y * width * 3;
        for (int x = 0; x < width; x++)
            o[x] = (uint32_t)i[3 * x] << 16 | (uint32_t)i[3 * x + 1] << 8 | i[3 * x + 2];
    }
    cairo_surface_mark_dirty(a->surf);
    cairo_t *cr = cairo_create(a->surf);
    cairo_set_line_width(cr, 2.0);
    cairo_set_font_size(cr, 14.0);
    for (int k = 0; k < n; k++) {
        const face_result *f = &faces[k];
        if (f->missed > 0) continue;
        int smiling = f->smoothed >= threshold;
        if (smiling) cairo_set_source_rgb(cr, 0.1, 0.9, 0.2);
        else cairo_set_source_rgb(cr, 1.0, 0.6, 0.1);
        cairo_rectangle(cr, f->x, f->y, f->w, f->h);
        cairo_stroke(cr);
        char lab[32];
        snprintf(lab, sizeof(lab), "%.2f", f->smoothed);
        double ty = f->y > 18 ? f->y - 5 : f->y + f->h + 15;
        cairo_move_to(cr, f->x, ty);
        cairo_show_text(cr, lab);
    }
    cairo_destroy(cr);
    cairo_surface_flush(a->surf);
    for (int y = 0; y < height; y++) {
        const uint32_t *i = (const uint32_t *)(const void *)(px + (size_t)y * st);
        uint8_t *o = rgb + (size_t)y * width * 3;
        for (int x = 0; x < width; x++) {
            o[3 * x] = (uint8_t)(i[x] >> 16);
            o[3 * x + 1] = (uint8_t)(i[x] >> 8);
            o[3 * x + 2] = (uint8_t)i[x];
        }
    }
    if (img_jpeg_encode(rgb, width, height, width * 3, 3, 85, jpeg, jpeg_size) != IMG_OK) {
        *jpeg = NULL;
        return -1;
    }
    return 0;
}

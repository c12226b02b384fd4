/* train_detect.c - the face detector for whole photos (data sources with
 * "detect"): vision's Haar detector with the app's settings (scale 1.1,
 * 5 neighbours); of several faces, the one nearest the image centre (the
 * subject of a portrait such as LFW's). */
#include <math.h>
#include <stdlib.h>

#include "face_detect.h"
#include "train.h"

typedef struct {
    face_detector *det;
    face_detect_params p;
} tr_det;

void *tr_detector_new(char *err, size_t errlen)
{
    tr_det *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (face_detector_new(NULL, &d->det, err, errlen) != FACE_OK) {
        free(d);
        return NULL;
    }
    /* face_pipeline.h's documented defaults */
    face_detect_params_defaults(&d->p);
    d->p.scale_factor = 1.1f;
    d->p.min_neighbors = 5;
    d->p.min_w = d->p.min_h = 30;
    return d;
}

void tr_detector_free(void *det)
{
    tr_det *d = det;
    if (!d)
        return;
    face_detector_free(d->det);
    free(d);
}

int tr_detect(void *det, const uint8_t *grey, int width, int height, int stride, float box[4])
{
    tr_det *d = det;
    face_rect r[16];
    /* faces smaller than a fifth of the photo are bystanders */
    face_detect_params p = d->p;
    int side = width < height ? width : height;
    if (p.min_w < side / 5)
        p.min_w = p.min_h = side / 5;
    int n = face_detect(d->det, grey, width, height, stride, &p, r, 16);
    if (n <= 0)
        return 0;
    if (n > 16)
        n = 16;
    int best = 0;
    double bd = INFINITY;
    for (int i = 0; i < n; i++) {
        double cx = r[i].x + 0.5 * r[i].w - 0.5 * width, cy = r[i].y + 0.5 * r[i].h - 0.5 * height;
        double dist = hypot(cx, cy);
        if (dist < bd) {
            bd = dist;
            best = i;
        }
    }
    box[0] = (float)r[best].x;
    box[1] = (float)r[best].y;
    box[2] = (float)r[best].w;
    box[3] = (float)r[best].h;
    return 1;
}

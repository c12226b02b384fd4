/* train_detect.c - the face detector for whole photos (data sources with
 * "detect"): vision's Haar detector with the app's settings (scale 1.1,
 * 5 neighbours); of several faces, the one nearest the image centre (the
 * subject of a portrait such as LFW's). Detection costs tens of ms a photo,
 * so boxes can be cached in a text file keyed by a hash of the pixels, and
 * photos over 200 px are searched at half size (2x2 means; a 110 px face
 * is still 55 px there, well above the 24 px window). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "face_detect.h"
#include "train.h"

typedef struct {
    uint64_t key;
    float box[4]; /* w = 0: no face */
} cache_entry;

typedef struct {
    face_detector *det;
    face_detect_params p;
    char *cache_path;
    cache_entry *tab; /* open addressing, key 0 = empty */
    size_t cap, n;
    int dirty;
    uint8_t *half; /* half-size copy of a large photo */
    size_t half_cap;
} tr_det;

static void cache_save(tr_det *d);

const char *tr_face_cache_path;

static uint64_t hash_image(const uint8_t *g, int w, int h, int stride)
{
    uint64_t x = 0xcbf29ce484222325ull ^ ((uint64_t)w << 32 | (uint64_t)h);
    for (int y = 0; y < h; y++)
        for (int i = 0; i < w; i++) {
            x ^= g[(size_t)y * (size_t)stride + (size_t)i];
            x *= 0x100000001b3ull;
        }
    return x ? x : 1;
}

static cache_entry *lookup(tr_det *d, uint64_t key, int insert)
{
    if (insert && (d->n + 1) * 2 > d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 4096;
        cache_entry *nt = calloc(ncap, sizeof *nt);
        if (!nt)
            return NULL;
        for (size_t i = 0; i < d->cap; i++)
            if (d->tab[i].key) {
                size_t j = d->tab[i].key & (ncap - 1);
                while (nt[j].key)
                    j = (j + 1) & (ncap - 1);
                nt[j] = d->tab[i];
            }
        free(d->tab);
        d->tab = nt;
        d->cap = ncap;
    }
    if (!d->cap)
        return NULL;
    size_t j = key & (d->cap - 1);
    while (d->tab[j].key && d->tab[j].key != key)
        j = (j + 1) & (d->cap - 1);
    if (d->tab[j].key == key)
        return &d->tab[j];
    if (!insert)
        return NULL;
    d->tab[j].key = key;
    d->n++;
    return &d->tab[j];
}

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
    if (tr_face_cache_path) {
        d->cache_path = strdup(tr_face_cache_path);
        FILE *f = fopen(tr_face_cache_path, "r");
        if (f) {
            char line[256];
            while (fgets(line, sizeof line, f)) {
                uint64_t key;
                float b[4];
                if (sscanf(line, "%" SCNx64 " %f %f %f %f", &key, &b[0], &b[1], &b[2], &b[3]) != 5 || !key)
                    continue; /* a damaged line only costs a detection */
                cache_entry *e = lookup(d, key, 1);
                if (e)
                    memcpy(e->box, b, sizeof b);
            }
            fclose(f);
        }
    }
    return d;
}

static void cache_save(tr_det *d)
{
    if (d->cache_path && d->dirty) {
        size_t cap = d->n * 64 + 1, len = 0;
        char *buf = malloc(cap);
        for (size_t i = 0; buf && i < d->cap; i++)
            if (d->tab[i].key)
                len += (size_t)snprintf(buf + len, cap - len, "%016" PRIx64 " %.1f %.1f %.1f %.1f\n", d->tab[i].key,
                                        (double)d->tab[i].box[0], (double)d->tab[i].box[1],
                                        (double)d->tab[i].box[2], (double)d->tab[i].box[3]);
        nn_error e = {{0}};
        if (buf && nn_write_file_atomic(d->cache_path, buf, len, &e))
            tr_error("face cache not saved: %s", e.msg);
        free(buf);
        d->dirty = 0;
    }
}

void tr_detector_free(void *det)
{
    tr_det *d = det;
    if (!d)
        return;
    cache_save(d);
    free(d->half);
    free(d->cache_path);
    free(d->tab);
    face_detector_free(d->det);
    free(d);
}

int tr_detect(void *det, const uint8_t *grey, int width, int height, int stride, float box[4])
{
    tr_det *d = det;
    uint64_t key = d->cache_path ? hash_image(grey, width, height, stride) : 0;
    if (key) {
        cache_entry *e = lookup(d, key, 0);
        if (e) {
            memcpy(box, e->box, 4 * sizeof *box);
            return e->box[2] > 0;
        }
    }
    face_rect r[16];
    int f = 1;
    if (width >= 200 && height >= 200) {
        int hw = width / 2, hh = height / 2;
        if ((size_t)hw * (size_t)hh > d->half_cap) {
            uint8_t *nb = realloc(d->half, (size_t)hw * (size_t)hh);
            if (nb) {
                d->half = nb;
                d->half_cap = (size_t)hw * (size_t)hh;
            }
        }
        if ((size_t)hw * (size_t)hh <= d->half_cap) {
            for (int y = 0; y < hh; y++) {
                const uint8_t *a = grey + (size_t)(2 * y) * (size_t)stride, *b = a + stride;
                for (int x = 0; x < hw; x++)
                    d->half[(size_t)y * (size_t)hw + (size_t)x] =
                        (uint8_t)((a[2 * x] + a[2 * x + 1] + b[2 * x] + b[2 * x + 1] + 2) / 4);
            }
            grey = d->half;
            width = hw;
            height = hh;
            stride = hw;
            f = 2;
        }
    }
    /* faces smaller than a fifth of the photo are bystanders */
    face_detect_params p = d->p;
    int side = width < height ? width : height;
    if (p.min_w < side / 5)
        p.min_w = p.min_h = side / 5;
    if (f == 2 && p.min_w < 24)
        p.min_w = p.min_h = 24;
    int n = face_detect(d->det, grey, width, height, stride, &p, r, 16);
    float b[4] = {0, 0, 0, 0};
    if (n > 0) {
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
        b[0] = (float)(r[best].x * f);
        b[1] = (float)(r[best].y * f);
        b[2] = (float)(r[best].w * f);
        b[3] = (float)(r[best].h * f);
    }
    if (key) {
        cache_entry *e = lookup(d, key, 1);
        if (e) {
            memcpy(e->box, b, sizeof b);
            /* flush now and then, so an interrupted run keeps its work */
            if (++d->dirty >= 500)
                cache_save(d);
        }
    }
    memcpy(box, b, sizeof b);
    return b[2] > 0;
}

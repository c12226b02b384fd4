/* train_detect.c - the face detector for whole photos (data sources with
 * "detect"): vision's Haar detector with the app's settings (scale 1.1,
 * 5 neighbours); of several faces, the one nearest the image centre (the
 * subject of a portrait such as LFW's). Detection costs tens of ms a photo,
 * so boxes can be cached in a text file keyed by a hash of the pixels; the
 * file's first line names the detection it holds, and a cache of another
 * kind is ignored. */
/* Bump when the boxes tr_detect finds change for the same pixels. */
#define CACHE_HEADER "# smile-train face boxes v3: full-resolution scan, overlaps suppressed, key x y w h\n"

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
    /* the full scan smile-score and the app run with their defaults */
    face_config fc;
    face_config_defaults(&fc);
    face_config_detect_params(&fc, &d->p);
    if (tr_face_cache_path) {
        d->cache_path = strdup(tr_face_cache_path);
        FILE *f = fopen(tr_face_cache_path, "r");
        char line[256];
        if (f && (!fgets(line, sizeof line, f) || strcmp(line, CACHE_HEADER) != 0)) {
            tr_error("%s holds face boxes of another detector version; finding the faces again",
                    tr_face_cache_path);
            fclose(f);
            f = NULL;
        }
        if (f) {
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
        size_t cap = d->n * 64 + sizeof CACHE_HEADER, len = 0;
        char *buf = malloc(cap);
        if (buf)
            len = (size_t)snprintf(buf, cap, "%s", CACHE_HEADER);
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
    /* Exactly the scorer's and the app's full scan (face_pipeline.c), at
     * full resolution: a half-size search, used before to save time, put
     * boxes ~4 % larger than the app's and cost 0.7 points on LFW photos
     * through smile-score. */
    int n = face_detect(d->det, grey, width, height, stride, &d->p, r, 16);
    float b[4] = {0, 0, 0, 0};
    if (n > 16)
        n = 16;
    n = face_rects_suppress(r, n); /* as the pipeline does: no face twice, no neck */
    /* the subject: the face nearest the centre, of those at least a fifth of
     * the photo's side (smaller ones are bystanders) */
    int side = width < height ? width : height, best = -1;
    double bd = INFINITY;
    for (int i = 0; i < n; i++) {
        if (r[i].w < side / 5)
            continue;
        double cx = r[i].x + 0.5 * r[i].w - 0.5 * width, cy = r[i].y + 0.5 * r[i].h - 0.5 * height;
        double dist = hypot(cx, cy);
        if (dist < bd) {
            bd = dist;
            best = i;
        }
    }
    if (best >= 0) {
        b[0] = (float)r[best].x;
        b[1] = (float)r[best].y;
        b[2] = (float)r[best].w;
        b[3] = (float)r[best].h;
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

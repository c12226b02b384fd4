/* face_pipeline.c - detect, track, crop and score faces frame by frame.
 *
 * Speed comes from scanning the whole frame only when needed: every
 * full_scan_interval frames, or at once when something changed outside the
 * tracked faces (a cheap 16x16 block-mean difference against the previous
 * frame, so a face that appears is found on its first frame). In between,
 * each track is searched in a window twice its size at nearby scales. */
#include "face_pipeline.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "face_detect.h"
#include "face_track.h"

#define BLOCK 16
#define BLOCK_DIFF 6        /* mean grey change that marks a block as changed */
#define MAX_DETS FACE_MAX_TRACKS
#define MAX_PIXELS (1 << 28)
#define RESERVE_CANDIDATES 16384
/* Faces per forward pass. The workspace grows with the batch (smilenet:
 * 0.6 MB a face, twice that with mirror averaging), a frame rarely holds
 * more than a few faces, and 8 already fill the kernels' vectors. */
#define SCORE_BATCH 8

struct face_pipeline {
    face_config cfg;
    face_detector *det;
    const nn_net *model;
    nn_ctx *ctx;
    int in_size; /* floats per face */
    float *inputs; /* FACE_MAX_TRACKS x in_size: the network inputs of a frame */
    face_tracker tr;
    int fw, fh;                /* frame size the state belongs to */
    uint8_t *blocks, *prev;    /* block means of this and the last frame */
    int bw, bh;
    size_t blocks_cap;
    uint8_t *still_copy; /* a still bordered or turned for another search */
    size_t still_copy_cap;
    int since_full;
    int n_last_input;
    face_pipeline_stats stats;
    char err[512];
};

static void seterr(face_pipeline *fp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fp->err, sizeof fp->err, fmt, ap);
    va_end(ap);
}

void face_config_defaults(face_config *cfg)
{
    cfg->cascade_path = NULL;
    cfg->scale_factor = 1.1f;
    cfg->min_neighbors = 5;
    cfg->min_face = 30;
    cfg->max_face = 0;
    cfg->full_scan_interval = 15;
    cfg->smoothing_tau_s = 0.3f;
    cfg->score_interval_s = 0.0f;
    cfg->max_missed_frames = 3;
}

void face_crop_rect(const nn_crop_geometry *g, float x, float y, float w, float h, float *rx,
                    float *ry, float *rw, float *rh)
{
    float r[4];
    nn_crop_rect(g, x, y, w, h, r);
    *rx = r[0], *ry = r[1], *rw = r[2], *rh = r[3];
}

face_status face_crop_input(const nn_input_spec *spec, const uint8_t *grey, int width, int height,
                            int stride, float bx, float by, float bw, float bh, float *out)
{
    if (!spec || !grey || !out || width <= 0 || height <= 0 || stride < width || !(bw > 0) ||
        !(bh > 0))
        return FACE_ERR_ARG;
    float rx, ry, rw, rh;
    face_crop_rect(&spec->crop, bx, by, bw, bh, &rx, &ry, &rw, &rh);
    return nn_preprocess_grey(spec, grey, width, height, stride, rx, ry, rw, rh, out) == NN_OK
               ? FACE_OK
               : FACE_ERR_ARG;
}

face_status face_pipeline_new(const face_config *cfg_in, const nn_net *model, face_pipeline **out,
                              char *err, size_t errlen)
{
    if (!out) {
        if (err && errlen)
            snprintf(err, errlen, "face_pipeline_new: out is NULL");
        return FACE_ERR_ARG;
    }
    *out = NULL;
    face_config cfg;
    if (cfg_in)
        cfg = *cfg_in;
    else
        face_config_defaults(&cfg);
    if (!(cfg.scale_factor > 1.0f && cfg.scale_factor <= 4.0f) || cfg.min_neighbors < 0 ||
        cfg.min_face < 0 || cfg.max_face < 0 || cfg.full_scan_interval < 1 ||
        !(cfg.smoothing_tau_s >= 0) || cfg.max_missed_frames < 0) {
        if (err && errlen)
            snprintf(err, errlen,
                     "face_config: scale_factor %.3g must be in (1, 4], min_neighbors, min_face, "
                     "max_face, max_missed_frames >= 0, full_scan_interval >= 1, tau >= 0",
                     (double)cfg.scale_factor);
        return FACE_ERR_ARG;
    }
    face_pipeline *fp = calloc(1, sizeof *fp);
    if (!fp) {
        if (err && errlen)
            snprintf(err, errlen, "face pipeline: out of memory");
        return FACE_ERR_NOMEM;
    }
    fp->cfg = cfg;
    face_status st = face_detector_new(cfg.cascade_path, &fp->det, err, errlen);
    if (st != FACE_OK) {
        free(fp);
        return st;
    }
    if (model) {
        const nn_input_spec *spec = nn_net_input(model);
        if (!spec || spec->channels != 1 || spec->width <= 0 || spec->height <= 0) {
            if (err && errlen)
                snprintf(err, errlen, "model: the face pipeline needs a grey (1-channel) input");
            face_pipeline_free(fp);
            return FACE_ERR_MODEL;
        }
        nn_error ne;
        if (nn_ctx_new(model, SCORE_BATCH, &fp->ctx, &ne) != NN_OK) {
            if (err && errlen)
                snprintf(err, errlen, "model: %s", ne.msg);
            face_pipeline_free(fp);
            return FACE_ERR_MODEL;
        }
        fp->model = model;
        fp->in_size = spec->channels * spec->width * spec->height;
        fp->inputs = malloc(sizeof(float) * FACE_MAX_TRACKS * (size_t)fp->in_size);
        if (!fp->inputs) {
            if (err && errlen)
                snprintf(err, errlen, "face pipeline: out of memory");
            face_pipeline_free(fp);
            return FACE_ERR_NOMEM;
        }
    }
    face_tracker_init(&fp->tr, cfg.max_missed_frames, 0.7f);
    *out = fp;
    return FACE_OK;
}

void face_pipeline_free(face_pipeline *fp)
{
    if (!fp)
        return;
    face_detector_free(fp->det);
    nn_ctx_free(fp->ctx);
    free(fp->inputs);
    free(fp->blocks);
    free(fp->prev);
    free(fp->still_copy);
    free(fp);
}

void face_pipeline_reset(face_pipeline *fp)
{
    if (!fp)
        return;
    face_tracker_reset(&fp->tr);
    fp->fw = fp->fh = 0; /* forces a full scan and fresh block means */
}

const char *face_pipeline_error(const face_pipeline *fp) { return fp ? fp->err : "NULL pipeline"; }

const float *face_pipeline_last_input(const face_pipeline *fp, int *n)
{
    if (n)
        *n = fp && fp->ctx ? fp->n_last_input : 0;
    return fp && fp->ctx ? fp->inputs : NULL;
}

void face_pipeline_get_stats(const face_pipeline *fp, face_pipeline_stats *st)
{
    if (fp && st)
        *st = fp->stats;
}

static int check_frame(face_pipeline *fp, const uint8_t *grey, int width, int height, int stride,
                       const face_result *out, int max_out)
{
    if (!fp)
        return 0;
    fp->err[0] = 0;
    if (!grey || width <= 0 || height <= 0 || stride < width || max_out < 0 ||
        (max_out > 0 && !out)) {
        seterr(fp, "face pipeline: bad frame (pixels %p, %dx%d, stride %d) or output (%d)",
               (const void *)grey, width, height, stride, max_out);
        return 0;
    }
    if ((long long)width * height > MAX_PIXELS || (long long)stride * height > 4LL * MAX_PIXELS) {
        seterr(fp, "face pipeline: frame %dx%d with stride %d is too large", width, height, stride);
        return 0;
    }
    return 1;
}

void face_config_detect_params(const face_config *cfg, face_detect_params *p)
{
    face_detect_params_defaults(p);
    p->scale_factor = cfg->scale_factor;
    p->min_neighbors = cfg->min_neighbors;
    p->min_w = p->min_h = cfg->min_face;
    p->max_w = p->max_h = cfg->max_face;
}


/* The whole image, for faces of at least min_face pixels (the configured
 * minimum if larger). The boxes move by -shift: the border of a padded still.
 * strength (may be NULL) receives the most raw windows grouped into a box. */
static int full_scan(face_pipeline *fp, const uint8_t *grey, int w, int h, int stride,
                     int min_face, int shift, face_box *dets, int max, int *strength)
{
    face_detect_params p;
    face_config_detect_params(&fp->cfg, &p);
    if (p.min_w < min_face)
        p.min_w = p.min_h = min_face;
    face_rect r[MAX_DETS];
    int n = face_detect(fp->det, grey, w, h, stride, &p, r, MAX_DETS);
    fp->stats.full_scans++;
    fp->stats.windows += face_detector_windows(fp->det);
    if (n < 0)
        return -1;
    n = face_rects_suppress(r, n < MAX_DETS ? n : MAX_DETS);
    if (n > max)
        n = max;
    for (int i = 0; i < n && strength; i++)
        *strength = r[i].neighbors > *strength ? r[i].neighbors : *strength;
    for (int i = 0; i < n; i++) {
        face_box b = {(float)(r[i].x - shift), (float)(r[i].y - shift), (float)r[i].w,
                      (float)r[i].h};
        dets[i] = b;
    }
    return n;
}

/* The pipeline's scratch image for a still: grown to n bytes, or NULL. */
static uint8_t *still_scratch(face_pipeline *fp, size_t n)
{
    if (n > fp->still_copy_cap) {
        uint8_t *p = realloc(fp->still_copy, n);
        if (!p)
            return NULL;
        fp->still_copy = p;
        fp->still_copy_cap = n;
    }
    return fp->still_copy;
}

/* A photo that the face fills (a passport photo, a data set's crop) leaves
 * the cascade's windows no margin around the face, and nothing is found. So
 * a still without a face, at most twice as long as wide, is scanned once
 * more inside a border of 3/8 of its longer side that repeats its edge
 * pixels, for faces at least half its shorter side (a scene photo gains no
 * small false faces). The neighbour threshold stays the configured one: 3
 * instead of 5 found 3 % more of SMILEsmileD's crops, but also 6 new false
 * faces in 104 icons and diagrams instead of 3. Crops clamp at the edge the
 * same way, so a box that reaches past the photo is scored on the photo
 * itself. Returns the boxes in photo coordinates, or -1. */
#define STILL_BORDER 0.375f
static int scan_padded_still(face_pipeline *fp, const uint8_t *grey, int w, int h, int stride,
                             face_box *dets, int max)
{
    int shorter = w < h ? w : h, longer = w > h ? w : h;
    if (shorter < 24 || longer > 2 * shorter)
        return 0; /* too small for the cascade's window, or not shaped like a face crop */
    int m = (int)lrintf(STILL_BORDER * (float)longer);
    long long pw = w + 2LL * m, ph = h + 2LL * m;
    if (pw * ph > MAX_PIXELS)
        return 0;
    if (!still_scratch(fp, (size_t)(pw * ph)))
        return -1;
    face_pad_edges(grey, w, h, stride, m, m, fp->still_copy);
    return full_scan(fp, fp->still_copy, (int)pw, (int)ph, (int)pw, shorter / 2, m, dets, max, NULL);
}

/* Search near a track: a window of twice its size, boxes 0.75x to 1.35x.
 * Returns the boxes found there (a second face next to the first counts). */
static int local_scan(face_pipeline *fp, const uint8_t *grey, int w, int h, int stride,
                      const face_box *b, face_box *out, int max)
{
    float side = fmaxf(b->w, b->h);
    int x0 = (int)floorf(b->x - 0.5f * side), y0 = (int)floorf(b->y - 0.5f * side);
    int x1 = (int)ceilf(b->x + 1.5f * side), y1 = (int)ceilf(b->y + 1.5f * side);
    x0 = x0 < 0 ? 0 : x0, y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > w ? w : x1, y1 = y1 > h ? h : y1;
    face_detect_params p;
    face_config_detect_params(&fp->cfg, &p);
    /* a face was here a frame ago: ask for fewer neighbours than a cold find */
    p.min_neighbors = p.min_neighbors > 2 ? p.min_neighbors / 2 : p.min_neighbors;
    int mn = (int)(0.75f * side), mx = (int)ceilf(1.35f * side);
    if (mn > p.min_w)
        p.min_w = p.min_h = mn;
    if (p.max_w == 0 || mx < p.max_w)
        p.max_w = p.max_h = mx;
    if (x1 - x0 < p.min_w || y1 - y0 < p.min_h || p.max_w < p.min_w || max <= 0)
        return 0;
    face_rect r[4];
    int n = face_detect(fp->det, grey + (size_t)y0 * stride + x0, x1 - x0, y1 - y0, stride, &p, r,
                        4);
    fp->stats.local_scans++;
    fp->stats.windows += face_detector_windows(fp->det);
    if (n <= 0)
        return 0;
    n = face_rects_suppress(r, n > 4 ? 4 : n);
    if (n > max)
        n = max;
    for (int i = 0; i < n; i++) {
        face_box fb = {(float)(r[i].x + x0), (float)(r[i].y + y0), (float)r[i].w, (float)r[i].h};
        out[i] = fb;
    }
    return n;
}

/* Block means of the frame; returns how many blocks changed since the last
 * frame outside the (enlarged) tracked boxes. */
static int changed_blocks(face_pipeline *fp, const uint8_t *grey, int w, int h, int stride)
{
    int bw = w / BLOCK, bh = h / BLOCK;
    if (bw == 0 || bh == 0)
        return 1;
    uint8_t *t = fp->prev;
    fp->prev = fp->blocks;
    fp->blocks = t;
    for (int by = 0; by < bh; by++) {
        unsigned acc[4096 / BLOCK];
        int nb = bw < 4096 / BLOCK ? bw : 4096 / BLOCK;
        memset(acc, 0, sizeof(unsigned) * (size_t)nb);
        for (int y = 0; y < BLOCK; y++) {
            const uint8_t *row = grey + (size_t)(by * BLOCK + y) * stride;
            for (int bx = 0; bx < nb; bx++) {
                const uint8_t *p = row + bx * BLOCK;
                unsigned s = 0;
                for (int x = 0; x < BLOCK; x++)
                    s += p[x];
                acc[bx] += s;
            }
        }
        for (int bx = 0; bx < bw; bx++)
            fp->blocks[by * bw + bx] = bx < nb ? (uint8_t)(acc[bx] / (BLOCK * BLOCK)) : 0;
    }
    int changed = 0;
    for (int by = 0; by < bh; by++)
        for (int bx = 0; bx < bw; bx++) {
            int d = fp->blocks[by * bw + bx] - fp->prev[by * bw + bx];
            if (d < BLOCK_DIFF && d > -BLOCK_DIFF)
                continue;
            float cx = (bx + 0.5f) * BLOCK, cy = (by + 0.5f) * BLOCK;
            int inside = 0;
            for (int i = 0; i < fp->tr.n && !inside; i++) {
                const face_box *b = &fp->tr.t[i].box;
                float m = 0.25f * b->w;
                inside = cx >= b->x - m && cx <= b->x + b->w + m && cy >= b->y - m &&
                         cy <= b->y + b->h + m;
            }
            changed += !inside;
        }
    return changed;
}

static int new_frame_size(face_pipeline *fp, int w, int h)
{
    int bw = w / BLOCK, bh = h / BLOCK;
    size_t n = (size_t)(bw > 0 ? bw : 1) * (size_t)(bh > 0 ? bh : 1);
    if (n > fp->blocks_cap) { /* reset() keeps the buffers: no allocation per video */
        uint8_t *a = realloc(fp->blocks, n), *b = a ? realloc(fp->prev, n) : NULL;
        if (a)
            fp->blocks = a;
        if (!a || !b)
            return 0;
        fp->prev = b;
        fp->blocks_cap = n;
    }
    if (face_detector_reserve(fp->det, RESERVE_CANDIDATES) != 0)
        return 0;
    memset(fp->blocks, 0, n);
    memset(fp->prev, 0, n);
    fp->bw = bw, fp->bh = bh;
    fp->fw = w, fp->fh = h;
    face_tracker_reset(&fp->tr);
    return 1;
}

/* Crop every face into the network inputs and run them SCORE_BATCH at a time. */
static void score_faces(face_pipeline *fp, const uint8_t *grey, int w, int h, int stride,
                        const face_box *boxes, int n, float *scores)
{
    fp->n_last_input = 0;
    if (!fp->ctx || n == 0) {
        for (int i = 0; i < n; i++)
            scores[i] = -1;
        return;
    }
    const nn_input_spec *spec = nn_net_input(fp->model);
    float *in = fp->inputs;
    if (n > FACE_MAX_TRACKS)
        n = FACE_MAX_TRACKS; /* the input block's size; every caller's arrays hold no more */
    for (int i = 0; i < n; i++)
        if (face_crop_input(spec, grey, w, h, stride, boxes[i].x, boxes[i].y, boxes[i].w,
                            boxes[i].h, in + (size_t)i * fp->in_size) != FACE_OK)
            memset(in + (size_t)i * fp->in_size, 0, sizeof(float) * (size_t)fp->in_size);
    int no = nn_net_n_outputs(fp->model);
    for (int first = 0; first < n; first += SCORE_BATCH) {
        int m = n - first < SCORE_BATCH ? n - first : SCORE_BATCH;
        const float *o = nn_forward(fp->ctx, in + (size_t)first * fp->in_size, m);
        for (int i = 0; i < m; i++)
            scores[first + i] = o ? o[i * no + (no > 1 ? 1 : 0)] : -1;
    }
    fp->n_last_input = n;
}

/* An upright cascade misses heads tilted past about 15 degrees: of 200 LFW
 * test photos turned 25 degrees, the plain scan found a face in 81. A still
 * that has no face after the other scans is turned by each of STILL_TILTS
 * about its centre onto a canvas that holds it whole (edges repeated) and
 * searched there, for faces of at least 1/8 of its shorter side: tilted
 * heads are those of portraits and selfies, and big photos stay cheap. The
 * turn whose strongest face has the most cascade neighbours wins (a turn the
 * wrong way can still raise a weak false face). Its faces are scored upright
 * on the canvas (scores[], at most max_score of them), and their boxes come
 * back in photo coordinates: the upright box, centred where the face is.
 * Returns the number of faces, or -1. */
static const float STILL_TILTS[] = {25.0f, -25.0f};

typedef struct {
    float c, s;         /* cos and sin of the turn */
    int cw, ch;         /* canvas size */
    float pcx, pcy;     /* photo centre */
    float ccx, ccy;     /* canvas centre */
} still_turn;

static still_turn turn_for(float deg, int w, int h)
{
    float a = deg * 0.017453292f;
    still_turn t = {cosf(a), sinf(a), 0, 0, 0.5f * (float)w, 0.5f * (float)h, 0, 0};
    t.cw = (int)ceilf(fabsf((float)w * t.c) + fabsf((float)h * t.s));
    t.ch = (int)ceilf(fabsf((float)w * t.s) + fabsf((float)h * t.c));
    t.ccx = 0.5f * (float)t.cw, t.ccy = 0.5f * (float)t.ch;
    return t;
}

/* canvas (u, v) shows the photo at its centre + R(a) ((u, v) - canvas centre),
 * bilinear, clamped at the edges */
static void render_turn(const still_turn *t, const uint8_t *grey, int w, int h, int stride,
                        uint8_t *canvas)
{
    for (int v = 0; v < t->ch; v++) {
        float dy = (float)v + 0.5f - t->ccy;
        for (int u = 0; u < t->cw; u++) {
            float dx = (float)u + 0.5f - t->ccx;
            float sx = t->pcx + t->c * dx - t->s * dy - 0.5f;
            float sy = t->pcy + t->s * dx + t->c * dy - 0.5f;
            sx = fminf(fmaxf(sx, 0.0f), (float)(w - 1));
            sy = fminf(fmaxf(sy, 0.0f), (float)(h - 1));
            int x0 = (int)sx, y0 = (int)sy;
            int x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
            float fx = sx - (float)x0, fy = sy - (float)y0;
            const uint8_t *r0 = grey + (size_t)y0 * stride, *r1 = grey + (size_t)y1 * stride;
            float top = r0[x0] + fx * (float)(r0[x1] - r0[x0]);
            float bot = r1[x0] + fx * (float)(r1[x1] - r1[x0]);
            canvas[(size_t)v * t->cw + u] = (uint8_t)(top + fy * (bot - top) + 0.5f);
        }
    }
}

static int scan_tilted_still(face_pipeline *fp, const uint8_t *grey, int w, int h, int stride,
                             face_box *dets, int max, int max_score, float *scores)
{
    enum { N_TILTS = sizeof STILL_TILTS / sizeof STILL_TILTS[0] };
    if (w < 24 || h < 24)
        return 0; /* no face fits, turned or not */
    int best = -1, best_strength = 0, best_n = 0;
    for (int k = 0; k < N_TILTS; k++) {
        still_turn t = turn_for(STILL_TILTS[k], w, h);
        if ((long long)t.cw * t.ch > MAX_PIXELS)
            return 0;
        uint8_t *canvas = still_scratch(fp, (size_t)t.cw * (size_t)t.ch);
        if (!canvas)
            return -1;
        render_turn(&t, grey, w, h, stride, canvas);
        face_box found[MAX_DETS];
        int strength = 0;
        int n = full_scan(fp, canvas, t.cw, t.ch, t.cw, (w < h ? w : h) / 8, 0, found, MAX_DETS,
                          &strength);
        if (n < 0)
            return -1;
        if (n > 0 && strength > best_strength) {
            best = k, best_strength = strength, best_n = n < max ? n : max;
            memcpy(dets, found, sizeof(face_box) * (size_t)best_n);
        }
    }
    if (best < 0)
        return 0;
    still_turn t = turn_for(STILL_TILTS[best], w, h);
    if (best != N_TILTS - 1) /* the canvas holds the last turn */
        render_turn(&t, grey, w, h, stride, fp->still_copy);
    score_faces(fp, fp->still_copy, t.cw, t.ch, t.cw, dets, best_n < max_score ? best_n : max_score,
                scores);
    for (int i = 0; i < best_n; i++) {
        float dx = dets[i].x + 0.5f * dets[i].w - t.ccx, dy = dets[i].y + 0.5f * dets[i].h - t.ccy;
        dets[i].x = t.pcx + t.c * dx - t.s * dy - 0.5f * dets[i].w;
        dets[i].y = t.pcy + t.s * dx + t.c * dy - 0.5f * dets[i].h;
    }
    return best_n;
}

int face_pipeline_process(face_pipeline *fp, const uint8_t *grey, int width, int height,
                          int stride, double t_s, face_result *out, int max_out)
{
    if (!check_frame(fp, grey, width, height, stride, out, max_out))
        return -1;
    int full = 0;
    if (width != fp->fw || height != fp->fh) {
        if (!new_frame_size(fp, width, height)) {
            seterr(fp, "face pipeline: out of memory");
            return -1;
        }
        full = 1;
    }
    int changed = changed_blocks(fp, grey, width, height, stride);
    if (changed > 0 || ++fp->since_full >= fp->cfg.full_scan_interval)
        full = 1;
    face_box dets[MAX_DETS];
    int nd = 0;
    if (full) {
        fp->since_full = 0;
        nd = full_scan(fp, grey, width, height, stride, 0, 0, dets, MAX_DETS, NULL);
        if (nd < 0) {
            seterr(fp, "face pipeline: detector failed (out of memory?)");
            return -1;
        }
    } else {
        for (int i = 0; i < fp->tr.n && nd < MAX_DETS; i++) {
            face_box b[4];
            int nb = local_scan(fp, grey, width, height, stride, &fp->tr.t[i].box, b, 4);
            for (int k = 0; k < nb && nd < MAX_DETS; k++) {
                int dup = 0; /* neighbouring tracks' windows overlap */
                for (int j = 0; j < nd && !dup; j++)
                    dup = face_box_iou(&dets[j], &b[k]) > 0.5f;
                if (!dup)
                    dets[nd++] = b[k];
            }
        }
    }
    face_tracker_update(&fp->tr, dets, nd);
    fp->stats.frames++;
    int n = fp->tr.n < max_out ? fp->tr.n : max_out;
    /* The tracks due a score: all of them, or with score_interval_s those
     * never scored or scored long enough ago. */
    face_box boxes[FACE_MAX_TRACKS] = {{0}}; /* zeroed: GCC 12 cannot see nd_score bound it */
    float scores[FACE_MAX_TRACKS];
    int due[FACE_MAX_TRACKS], nd_score = 0;
    float every = fp->cfg.score_interval_s;
    for (int i = 0; i < n; i++) {
        const face_track *t = &fp->tr.t[i];
        if (every <= 0 || t->score < 0 || !(t_s - t->t_score < (double)every)) {
            due[nd_score] = i;
            boxes[nd_score++] = t->box;
        }
    }
    score_faces(fp, grey, width, height, stride, boxes, nd_score, scores);
    if (fp->ctx)
        fp->stats.scored += nd_score;
    for (int k = 0; k < nd_score; k++) {
        face_track *t = &fp->tr.t[due[k]];
        if (scores[k] >= 0)
            face_track_score(t, scores[k], t_s, fp->cfg.smoothing_tau_s);
    }
    for (int i = 0; i < n; i++) {
        const face_track *t = &fp->tr.t[i];
        int has = fp->ctx && t->score >= 0;
        face_result r = {t->box.x, t->box.y, t->box.w, t->box.h, t->id,
                         has ? t->score : -1, has ? t->smoothed : -1, t->missed};
        out[i] = r;
    }
    return n;
}

int face_pipeline_process_still(face_pipeline *fp, const uint8_t *grey, int width, int height,
                                int stride, face_result *out, int max_out)
{
    if (!check_frame(fp, grey, width, height, stride, out, max_out))
        return -1;
    face_box dets[MAX_DETS];
    int nd = full_scan(fp, grey, width, height, stride, 0, 0, dets, MAX_DETS, NULL);
    if (nd == 0)
        nd = scan_padded_still(fp, grey, width, height, stride, dets, MAX_DETS);
    float scores[MAX_DETS];
    int scored = 0;
    if (nd == 0) {
        nd = scan_tilted_still(fp, grey, width, height, stride, dets, MAX_DETS, max_out, scores);
        scored = 1;
    }
    if (nd < 0) {
        seterr(fp, "face pipeline: detector failed (out of memory?)");
        return -1;
    }
    int n = nd < max_out ? nd : max_out;
    if (!scored || n == 0)
        score_faces(fp, grey, width, height, stride, dets, n, scores);
    if (fp->ctx)
        fp->stats.scored += n;
    for (int i = 0; i < n; i++) {
        face_result r = {dets[i].x, dets[i].y, dets[i].w, dets[i].h, i, scores[i], scores[i], 0};
        out[i] = r;
    }
    return n;
}

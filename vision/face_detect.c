/* face_detect.c - OpenCV-compatible multi-scale Haar cascade evaluation.
 *
 * Per pyramid level: resize the image (OpenCV's bit-exact INTER_LINEAR_EXACT),
 * build the integral and squared integral, and run the cascade on every
 * window the way CascadeClassifierInvoker does (including its skip of the
 * next position after a window fails stage 0). The cascade is flattened
 * into per-stump records whose rectangle corners are integral offsets for a
 * fixed row stride, computed once per stride. */
#include "face_detect.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LEVELS 256
#define MAX_PIXELS (1 << 28)
#define GROUP_EPS 0.2

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2_PATH 1
#endif

/* One weak classifier with its feature resolved to integral offsets. */
typedef struct {
    int o[3][4];
    float w[3];
    float thr, left, right;
} eval_stump;

struct face_detector {
    haar_cascade *c;
    int stride;        /* integral row stride the offsets are computed for */
    eval_stump *ev;    /* one per node (stumps: one per tree) */
    int nofs[4];       /* the variance window (1, 1, win-2, win-2) */
    double norm_area;
    /* work buffers, grown on demand */
    uint8_t *level;
    size_t level_cap;
    uint32_t *sum, *sq;
    size_t int_cap;
    int *xofs, *yofs, *hrow0, *hrow1;
    short *alpha, *beta;
    size_t x_cap;
    face_rect *cand;
    int ncand, cand_cap;
    int *parent, *label, *cls_n;
    long *cls_sum;
    int grp_cap;
    long windows;
    int (*lbp_ofs)[16]; /* LBP cascades: the 4x4 grid of integral points per node */
    int simd;    /* AVX2 lockstep scan (stump cascades on CPUs that have it) */
    int *rowres; /* per grid position of a row: the cascade's verdict */
    size_t rowres_cap;
};

void face_detect_params_defaults(face_detect_params *p)
{
    p->scale_factor = 1.1f;
    p->min_neighbors = 3;
    p->min_w = p->min_h = 0;
    p->max_w = p->max_h = 0;
}

void face_pad_edges(const uint8_t *grey, int width, int height, int stride, int mx, int my,
                    uint8_t *out)
{
    size_t pw = (size_t)width + 2 * (size_t)mx;
    for (int y = -my; y < height + my; y++) {
        const uint8_t *src = grey + (size_t)(y < 0 ? 0 : y >= height ? height - 1 : y) * stride;
        uint8_t *dst = out + (size_t)(y + my) * pw;
        memset(dst, src[0], (size_t)mx);
        memcpy(dst + mx, src, (size_t)width);
        memset(dst + mx + width, src[width - 1], (size_t)mx);
    }
}

const haar_cascade *face_detector_cascade(const face_detector *d) { return d ? d->c : NULL; }
long face_detector_windows(const face_detector *d) { return d ? d->windows : 0; }

/* a before b in strength: more raw windows, then the larger, then the
 * earlier (a strict order, so two boxes never drop each other) */
static int stronger(const face_rect *a, int ia, const face_rect *b, int ib)
{
    if (a->neighbors != b->neighbors)
        return a->neighbors > b->neighbors;
    long aa = (long)a->w * a->h, ab = (long)b->w * b->h;
    return aa != ab ? aa > ab : ia < ib;
}

/* Whether the stronger box s already accounts for the weaker w. */
static int explains(const face_rect *s, const face_rect *w)
{
    long ix = (long)(s->x + s->w < w->x + w->w ? s->x + s->w : w->x + w->w) - (s->x > w->x ? s->x : w->x);
    long iy = (long)(s->y + s->h < w->y + w->h ? s->y + s->h : w->y + w->h) - (s->y > w->y ? s->y : w->y);
    long as = (long)s->w * s->h, aw = (long)w->w * w->h;
    long smaller = as < aw ? as : aw;
    if (ix > 0 && iy > 0 && smaller > 0 && 2 * ix * iy >= smaller)
        return 1; /* the same face twice */
    /* centres doubled to stay in integers */
    long scx = 2L * s->x + s->w, scy = 2L * s->y + s->h;
    long wcx = 2L * w->x + w->w, wcy = 2L * w->y + w->h;
    return w->w < s->w && 10 * labs(wcx - scx) < 6L * s->w && wcy > scy && w->y < s->y + s->h;
}

int face_rects_suppress(face_rect *r, int n)
{
    if (!r || n <= 0)
        return 0;
    int m = n < FACE_SUPPRESS_MAX ? n : FACE_SUPPRESS_MAX;
    enum { OPEN, KEEP, DROP };
    unsigned char state[FACE_SUPPRESS_MAX] = {0};
    /* Strongest open box first: it is kept, and drops what it explains, so a
     * dropped box never drops another (non-maximum suppression). */
    for (;;) {
        int s = -1;
        for (int i = 0; i < m; i++)
            if (state[i] == OPEN && (s < 0 || stronger(&r[i], i, &r[s], s)))
                s = i;
        if (s < 0)
            break;
        state[s] = KEEP;
        for (int i = 0; i < m; i++)
            if (state[i] == OPEN && explains(&r[s], &r[i]))
                state[i] = DROP;
    }
    int k = 0;
    for (int i = 0; i < n; i++)
        if (i >= m || state[i] == KEEP)
            r[k++] = r[i];
    return k;
}

face_status face_detector_new(const char *cascade_path, face_detector **out, char *err,
                              size_t errlen)
{
    if (!out)
        return FACE_ERR_ARG;
    *out = NULL;
    haar_cascade *c = NULL;
    haar_status hs = haar_cascade_load(cascade_path, &c, err, errlen);
    if (hs != HAAR_OK)
        return hs == HAAR_ERR_NOMEM ? FACE_ERR_NOMEM : FACE_ERR_CASCADE;
    face_detector *d = calloc(1, sizeof *d);
    if (d)
        d->ev = malloc(sizeof(eval_stump) * (size_t)c->nnodes);
    if (d && c->lbp)
        d->lbp_ofs = malloc(sizeof(int[16]) * (size_t)c->nnodes);
    if (!d || !d->ev || (c->lbp && !d->lbp_ofs)) {
        if (d)
            free(d->ev);
        free(d);
        haar_cascade_free(c);
        if (err && errlen)
            snprintf(err, errlen, "face detector: out of memory");
        return FACE_ERR_NOMEM;
    }
    d->c = c;
#ifdef HAVE_AVX2_PATH
    __builtin_cpu_init();
    /* stump cascades; an LBP stump's left/right must be leaves 0 and 1 */
    int lbp_ok = 1;
    for (int i = 0; c->lbp && i < c->nnodes; i++)
        lbp_ok &= c->nodes[i].left == 0 && c->nodes[i].right == -1;
    d->simd = c->stumps_only && lbp_ok && __builtin_cpu_supports("avx2") && !getenv("FACE_DETECT_SCALAR");
#endif
    d->norm_area = (double)(c->win_w - 2) * (c->win_h - 2);
    *out = d;
    return FACE_OK;
}

void face_detector_free(face_detector *d)
{
    if (!d)
        return;
    haar_cascade_free(d->c);
    free(d->ev);
    free(d->level);
    free(d->sum);
    free(d->sq);
    free(d->xofs);
    free(d->hrow0);
    free(d->hrow1);
    free(d->alpha);
    free(d->yofs);
    free(d->beta);
    free(d->cand);
    free(d->parent);
    free(d->label);
    free(d->cls_n);
    free(d->cls_sum);
    free(d->rowres);
    free(d->lbp_ofs);
    free(d);
}

/* Corner offsets of rect r in an integral image of row stride s:
 * sum = p[o0] - p[o1] - p[o2] + p[o3]. */
static void rect_offsets(int o[4], int x, int y, int w, int h, int s)
{
    o[0] = y * s + x;
    o[1] = y * s + x + w;
    o[2] = (y + h) * s + x;
    o[3] = (y + h) * s + x + w;
}

static void set_stride(face_detector *d, int stride)
{
    if (d->stride == stride)
        return;
    const haar_cascade *c = d->c;
    for (int i = 0; i < c->nnodes; i++) {
        const haar_node *n = &c->nodes[i];
        const haar_feature *f = &c->features[n->feature];
        eval_stump *e = &d->ev[i];
        memset(e, 0, sizeof *e);
        for (int k = 0; k < f->nrects; k++) {
            rect_offsets(e->o[k], f->r[k].x, f->r[k].y, f->r[k].w, f->r[k].h, stride);
            e->w[k] = f->r[k].weight;
        }
        e->thr = n->threshold;
        e->left = n->left;
        e->right = n->right;
    }
    /* stumps: leaves of tree t are leaves[2t], leaves[2t+1] */
    if (c->stumps_only)
        for (int t = 0; t < c->ntrees; t++) {
            d->ev[t].left = c->leaves[c->trees[t].first_leaf];
            d->ev[t].right = c->leaves[c->trees[t].first_leaf + 1];
        }
    rect_offsets(d->nofs, 1, 1, c->win_w - 2, c->win_h - 2, stride);
    for (int i = 0; c->lbp && i < c->nnodes; i++) {
        const haar_rect *r = &c->features[c->nodes[i].feature].r[0];
        for (int k = 0; k < 16; k++)
            d->lbp_ofs[i][k] = (r->y + (k / 4) * r->h) * stride + r->x + (k % 4) * r->w;
    }
    d->stride = stride;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 1;
    void *q = realloc(*p, need * elem);
    if (!q)
        return 0;
    *p = q;
    *cap = need;
    return 1;
}

static inline int32_t rsum(const uint32_t *p, const int o[4])
{
    return (int32_t)(p[o[0]] - p[o[1]] - p[o[2]] + p[o[3]]);
}

static inline float feature_value(const eval_stump *e, const uint32_t *p)
{
    float r = e->w[0] * (float)rsum(p, e->o[0]) + e->w[1] * (float)rsum(p, e->o[1]);
    if (e->w[2] != 0.0f)
        r += e->w[2] * (float)rsum(p, e->o[2]);
    return r;
}

/* OpenCV's multi-block LBP code: the centre block's sum against its 8
 * neighbours, clockwise from the top-left. */
static inline int lbp_code(const uint32_t *p, const int o[16])
{
#define BS(a, b, c2, d2) ((int32_t)(p[o[a]] - p[o[b]] - p[o[c2]] + p[o[d2]]))
    int32_t cv = BS(5, 6, 9, 10);
    return (BS(0, 1, 4, 5) >= cv ? 128 : 0) | (BS(1, 2, 5, 6) >= cv ? 64 : 0) |
           (BS(2, 3, 6, 7) >= cv ? 32 : 0) | (BS(6, 7, 10, 11) >= cv ? 16 : 0) |
           (BS(10, 11, 14, 15) >= cv ? 8 : 0) | (BS(9, 10, 13, 14) >= cv ? 4 : 0) |
           (BS(8, 9, 12, 13) >= cv ? 2 : 0) | (BS(4, 5, 8, 9) >= cv ? 1 : 0);
#undef BS
}

static int run_lbp(const face_detector *d, const uint32_t *p)
{
    const haar_cascade *c = d->c;
    for (int s = 0; s < c->nstages; s++) {
        const haar_stage *st = &c->stages[s];
        double sum = 0;
        for (int t = 0; t < st->ntrees; t++) {
            const haar_tree *tr = &c->trees[st->first_tree + t];
            int idx = 0;
            do {
                int node = tr->first_node + idx;
                int code = lbp_code(p, d->lbp_ofs[node]);
                const int32_t *sub = c->subsets + 8 * node;
                idx = ((uint32_t)sub[code >> 5] & (1u << (code & 31))) ? c->nodes[node].left
                                                                        : c->nodes[node].right;
            } while (idx > 0);
            sum += c->leaves[tr->first_leaf - idx];
        }
        if (sum < st->threshold)
            return -s;
    }
    return 1;
}

/* The cascade at one window: 1 = face, -k = rejected by stage k, -1 also for
 * a flat window (as OpenCV's runAt). */
static int run_window(const face_detector *d, const uint32_t *p, const uint32_t *q)
{
    const haar_cascade *c = d->c;
    if (c->lbp) /* LBP codes are contrast-free: no variance test */
        return run_lbp(d, p);
    int32_t vs = rsum(p, d->nofs);
    uint32_t vq = q[d->nofs[0]] - q[d->nofs[1]] - q[d->nofs[2]] + q[d->nofs[3]];
    double nf = d->norm_area * vq - (double)vs * vs;
    if (!(nf > 0.0))
        return -1;
    float vnf = (float)(1.0 / sqrt(nf));
    if (!(d->norm_area * vnf < 1e-1))
        return -1;
    const eval_stump *ev = d->ev;
    if (c->stumps_only) {
        for (int s = 0; s < c->nstages; s++) {
            const haar_stage *st = &c->stages[s];
            const eval_stump *e = ev + st->first_tree;
            double sum = 0;
            for (int t = 0; t < st->ntrees; t++, e++) {
                float v = feature_value(e, p) * vnf;
                sum += v < e->thr ? e->left : e->right;
            }
            if (sum < st->threshold)
                return -s;
        }
        return 1;
    }
    for (int s = 0; s < c->nstages; s++) {
        const haar_stage *st = &c->stages[s];
        double sum = 0;
        for (int t = 0; t < st->ntrees; t++) {
            const haar_tree *tr = &c->trees[st->first_tree + t];
            int idx = 0;
            do {
                const eval_stump *e = &ev[tr->first_node + idx];
                float v = feature_value(e, p) * vnf;
                idx = v < e->thr ? (int)e->left : (int)e->right;
            } while (idx > 0);
            sum += c->leaves[tr->first_leaf - idx];
        }
        if (sum < st->threshold)
            return -s;
    }
    return 1;
}

/* OpenCV's INTER_LINEAR_EXACT for 8-bit (what CascadeClassifier uses for its
 * pyramid): 8-bit fixed-point coefficients rounded half to even, horizontal
 * pass exact in 8.8, vertical pass in 16.16 rounded half up; positions left
 * or right of the source replicate the edge pixel. */
static void coeffs_exact(double scale, int n, int dn, int *ofs, short *cf, int *lo, int *hi)
{
    *lo = 0;
    *hi = dn;
    for (int i = 0; i < dn; i++) {
        double f = scale * (i + 0.5) - 0.5;
        int iv = (int)floor(f);
        ofs[i] = 0;
        cf[2 * i] = 256, cf[2 * i + 1] = 0;
        if (iv >= 0 && n > 1) {
            if (iv < n - 1) {
                int c1 = (int)lrint((f - iv) * 256.0);
                ofs[i] = iv;
                cf[2 * i + 1] = (short)c1;
                cf[2 * i] = (short)(256 - c1);
            } else {
                ofs[i] = n - 1;
                if (i < *hi)
                    *hi = i;
            }
        } else if (i + 1 > *lo) {
            *lo = i + 1;
        }
    }
}

static void hrow_exact(const face_detector *d, const uint8_t *s, int w, int *buf, int dw, int lo,
                       int hi)
{
    int dx = 0;
    for (; dx < lo && dx < dw; dx++)
        buf[dx] = s[0] << 8;
    for (; dx < hi; dx++) {
        const uint8_t *p = s + d->xofs[dx];
        buf[dx] = p[0] * d->alpha[2 * dx] + p[1] * d->alpha[2 * dx + 1];
    }
    for (; dx < dw; dx++)
        buf[dx] = s[w - 1] << 8;
}

static int resize_exact(face_detector *d, const uint8_t *src, int w, int h, int sstride,
                        uint8_t *dst, int dw, int dh)
{
    if (dw == w && dh == h) {
        for (int y = 0; y < h; y++)
            memcpy(dst + (size_t)y * dw, src + (size_t)y * sstride, (size_t)w);
        return 1;
    }
    size_t need = (size_t)(dw > dh ? dw : dh);
    if (need > d->x_cap) {
        int *xo = realloc(d->xofs, sizeof(int) * need);
        if (xo)
            d->xofs = xo;
        int *h0 = realloc(d->hrow0, sizeof(int) * need);
        if (h0)
            d->hrow0 = h0;
        int *h1 = realloc(d->hrow1, sizeof(int) * need);
        if (h1)
            d->hrow1 = h1;
        short *al = realloc(d->alpha, sizeof(short) * 2 * need);
        if (al)
            d->alpha = al;
        int *yo = realloc(d->yofs, sizeof(int) * need);
        if (yo)
            d->yofs = yo;
        short *be = realloc(d->beta, sizeof(short) * 2 * need);
        if (be)
            d->beta = be;
        if (!xo || !h0 || !h1 || !al || !yo || !be)
            return 0;
        d->x_cap = need;
    }
    int xlo, xhi, ylo, yhi;
    coeffs_exact(1.0 / ((double)dw / w), w, dw, d->xofs, d->alpha, &xlo, &xhi);
    coeffs_exact(1.0 / ((double)dh / h), h, dh, d->yofs, d->beta, &ylo, &yhi);
    int *A = d->hrow0, *B = d->hrow1, ra = -1, rb = -1;
    for (int dy = 0; dy < dh; dy++) {
        uint8_t *o = dst + (size_t)dy * dw;
        if (dy < ylo || dy >= yhi) { /* one replicated edge row */
            int row = dy < ylo ? 0 : h - 1;
            hrow_exact(d, src + (size_t)row * sstride, w, A, dw, xlo, xhi);
            ra = row;
            for (int dx = 0; dx < dw; dx++)
                o[dx] = (uint8_t)((A[dx] + 128) >> 8);
            continue;
        }
        int ya = d->yofs[dy], yb = ya + 1;
        if (ya != ra) {
            if (ya == rb) {
                int *t = A;
                A = B, B = t;
                rb = ra, ra = ya;
            } else {
                hrow_exact(d, src + (size_t)ya * sstride, w, A, dw, xlo, xhi);
                ra = ya;
            }
        }
        if (yb != rb) {
            hrow_exact(d, src + (size_t)yb * sstride, w, B, dw, xlo, xhi);
            rb = yb;
        }
        int c0 = d->beta[2 * dy], c1 = d->beta[2 * dy + 1];
        for (int dx = 0; dx < dw; dx++) {
            int v = (A[dx] * c0 + B[dx] * c1 + (1 << 15)) >> 16;
            o[dx] = (uint8_t)(v > 255 ? 255 : v);
        }
    }
    return 1;
}

#ifdef HAVE_AVX2_PATH

/* 8 windows at grid positions x0 + l*step of one row, through the whole
 * (stump) cascade in lockstep: res[l] = 1 (face), -k (rejected at stage k)
 * or -1 (flat window), bit-identical to run_window: the same float products
 * and sums, leaf sums in double in stump order, IEEE sqrt and division. */
__attribute__((target("avx2"))) static inline __m256i load8(const uint32_t *p, int step)
{
    if (step == 1)
        return _mm256_loadu_si256((const __m256i *)(const void *)p);
    __m256 a = _mm256_loadu_ps((const float *)(const void *)p);
    __m256 b = _mm256_loadu_ps((const float *)(const void *)(p + 8));
    __m256 ev = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)); /* a0 a2 b0 b2 | a4 a6 b4 b6 */
    return _mm256_castpd_si256(
        _mm256_permute4x64_pd(_mm256_castps_pd(ev), _MM_SHUFFLE(3, 1, 2, 0)));
}

__attribute__((target("avx2"))) static inline __m256i rsum8(const uint32_t *p, const int o[4],
                                                          int step)
{
    __m256i a = load8(p + o[0], step), b = load8(p + o[1], step);
    __m256i c = load8(p + o[2], step), e = load8(p + o[3], step);
    return _mm256_add_epi32(_mm256_sub_epi32(_mm256_sub_epi32(a, b), c), e);
}

/* The end of stage st for 8 lockstep windows (both cascade kinds): lanes
 * whose leaf sum is under the stage threshold leave with -st, as the scalar
 * path reports them; after the last stage the survivors get 1. Returns the
 * lanes still alive. */
__attribute__((target("avx2"))) static inline int stage_end8(__m256d sum_lo, __m256d sum_hi,
                                                             float threshold, int st, int nstages,
                                                             int alive, int *res)
{
    __m256d th = _mm256_set1_pd((double)threshold);
    int fail = _mm256_movemask_pd(_mm256_cmp_pd(sum_lo, th, _CMP_LT_OQ)) |
               _mm256_movemask_pd(_mm256_cmp_pd(sum_hi, th, _CMP_LT_OQ)) << 4;
    int died = alive & fail;
    for (int l = 0; l < 8; l++)
        if (died >> l & 1)
            res[l] = -st;
    alive &= ~fail;
    if (st + 1 == nstages)
        for (int l = 0; l < 8; l++)
            if (alive >> l & 1)
                res[l] = 1;
    return alive;
}

__attribute__((target("avx2"))) static void run8(const face_detector *d, const uint32_t *p,
                                                 const uint32_t *q, int step, int nlive,
                                                 int *res)
{
    const haar_cascade *c = d->c;
    __m256i vs = rsum8(p, d->nofs, step), vq = rsum8(q, d->nofs, step);
    __m256d area = _mm256_set1_pd(d->norm_area);
    __m256d s_lo = _mm256_cvtepi32_pd(_mm256_castsi256_si128(vs));
    __m256d s_hi = _mm256_cvtepi32_pd(_mm256_extracti128_si256(vs, 1));
    /* vq < 2^31 for a 22x22 window of bytes, so the signed conversion is exact */
    __m256d q_lo = _mm256_cvtepi32_pd(_mm256_castsi256_si128(vq));
    __m256d q_hi = _mm256_cvtepi32_pd(_mm256_extracti128_si256(vq, 1));
    __m256d nf_lo = _mm256_sub_pd(_mm256_mul_pd(area, q_lo), _mm256_mul_pd(s_lo, s_lo));
    __m256d nf_hi = _mm256_sub_pd(_mm256_mul_pd(area, q_hi), _mm256_mul_pd(s_hi, s_hi));
    __m256d zero = _mm256_setzero_pd(), one = _mm256_set1_pd(1.0), tenth = _mm256_set1_pd(1e-1);
    __m256d okp_lo = _mm256_cmp_pd(nf_lo, zero, _CMP_GT_OQ), okp_hi = _mm256_cmp_pd(nf_hi, zero, _CMP_GT_OQ);
    /* non-positive lanes get sqrt(1): harmless, they are masked off */
    nf_lo = _mm256_blendv_pd(one, nf_lo, okp_lo);
    nf_hi = _mm256_blendv_pd(one, nf_hi, okp_hi);
    __m128 f_lo = _mm256_cvtpd_ps(_mm256_div_pd(one, _mm256_sqrt_pd(nf_lo)));
    __m128 f_hi = _mm256_cvtpd_ps(_mm256_div_pd(one, _mm256_sqrt_pd(nf_hi)));
    __m256 vnf = _mm256_set_m128(f_hi, f_lo);
    __m256d ok_lo = _mm256_and_pd(okp_lo, _mm256_cmp_pd(_mm256_mul_pd(area, _mm256_cvtps_pd(f_lo)), tenth, _CMP_LT_OQ));
    __m256d ok_hi = _mm256_and_pd(okp_hi, _mm256_cmp_pd(_mm256_mul_pd(area, _mm256_cvtps_pd(f_hi)), tenth, _CMP_LT_OQ));
    int alive = (_mm256_movemask_pd(ok_lo) | _mm256_movemask_pd(ok_hi) << 4) & ((1 << nlive) - 1);
    for (int l = 0; l < 8; l++)
        res[l] = -1;
    const eval_stump *e = d->ev;
    for (int st = 0; st < c->nstages && alive; st++) {
        const haar_stage *sg = &c->stages[st];
        __m256d sum_lo = zero, sum_hi = zero;
        for (int t = 0; t < sg->ntrees; t++, e++) {
            __m256 r = _mm256_add_ps(
                _mm256_mul_ps(_mm256_set1_ps(e->w[0]), _mm256_cvtepi32_ps(rsum8(p, e->o[0], step))),
                _mm256_mul_ps(_mm256_set1_ps(e->w[1]), _mm256_cvtepi32_ps(rsum8(p, e->o[1], step))));
            if (e->w[2] != 0.0f)
                r = _mm256_add_ps(r, _mm256_mul_ps(_mm256_set1_ps(e->w[2]),
                                                   _mm256_cvtepi32_ps(rsum8(p, e->o[2], step))));
            __m256 v = _mm256_mul_ps(r, vnf);
            __m256 lt = _mm256_cmp_ps(v, _mm256_set1_ps(e->thr), _CMP_LT_OQ);
            __m256 leaf = _mm256_blendv_ps(_mm256_set1_ps(e->right), _mm256_set1_ps(e->left), lt);
            sum_lo = _mm256_add_pd(sum_lo, _mm256_cvtps_pd(_mm256_castps256_ps128(leaf)));
            sum_hi = _mm256_add_pd(sum_hi, _mm256_cvtps_pd(_mm256_extractf128_ps(leaf, 1)));
        }
        alive = stage_end8(sum_lo, sum_hi, sg->threshold, st, c->nstages, alive, res);
    }
}

/* 8 LBP windows in lockstep (stump LBP cascades): the 16 grid points of each
 * node are 8-wide loads, the code picks a subset bit per lane by a gather.
 * Integer codes and double leaf sums: identical to run_lbp. */
__attribute__((target("avx2"))) static void run8_lbp(const face_detector *d, const uint32_t *p,
                                                     int step, int nlive, int *res)
{
    const haar_cascade *c = d->c;
    int alive = (1 << nlive) - 1;
    for (int l = 0; l < 8; l++)
        res[l] = -1;
    const __m256i one = _mm256_set1_epi32(1), m31 = _mm256_set1_epi32(31);
    __m256d zero = _mm256_setzero_pd();
    int node = 0;
    for (int st = 0; st < c->nstages && alive; st++) {
        const haar_stage *sg = &c->stages[st];
        __m256d sum_lo = zero, sum_hi = zero;
        for (int t = 0; t < sg->ntrees; t++, node++) {
            const int *o = d->lbp_ofs[node];
            __m256i g[16];
            for (int k = 0; k < 16; k++)
                g[k] = load8(p + o[k], step);
#define B8(a, b, c2, e2) \
    _mm256_add_epi32(_mm256_sub_epi32(_mm256_sub_epi32(g[a], g[b]), g[c2]), g[e2])
            __m256i cv = B8(5, 6, 9, 10);
            /* x >= cv  <=>  !(cv > x) */
#define BIT(a, b, c2, e2, v) \
    _mm256_andnot_si256(_mm256_cmpgt_epi32(cv, B8(a, b, c2, e2)), _mm256_set1_epi32(v))
            __m256i code = _mm256_or_si256(
                _mm256_or_si256(_mm256_or_si256(BIT(0, 1, 4, 5, 128), BIT(1, 2, 5, 6, 64)),
                                _mm256_or_si256(BIT(2, 3, 6, 7, 32), BIT(6, 7, 10, 11, 16))),
                _mm256_or_si256(_mm256_or_si256(BIT(10, 11, 14, 15, 8), BIT(9, 10, 13, 14, 4)),
                                _mm256_or_si256(BIT(8, 9, 12, 13, 2), BIT(4, 5, 8, 9, 1))));
#undef BIT
#undef B8
            __m256i word = _mm256_i32gather_epi32((const int *)(c->subsets + 8 * node),
                                                  _mm256_srli_epi32(code, 5), 4);
            __m256i bit = _mm256_and_si256(_mm256_srlv_epi32(word, _mm256_and_si256(code, m31)), one);
            __m256 isleft = _mm256_castsi256_ps(_mm256_cmpeq_epi32(bit, one));
            const haar_tree *tr = &c->trees[sg->first_tree + t];
            __m256 leaf = _mm256_blendv_ps(_mm256_set1_ps(c->leaves[tr->first_leaf + 1]),
                                           _mm256_set1_ps(c->leaves[tr->first_leaf]), isleft);
            sum_lo = _mm256_add_pd(sum_lo, _mm256_cvtps_pd(_mm256_castps256_ps128(leaf)));
            sum_hi = _mm256_add_pd(sum_hi, _mm256_cvtps_pd(_mm256_extractf128_ps(leaf, 1)));
        }
        alive = stage_end8(sum_lo, sum_hi, sg->threshold, st, c->nstages, alive, res);
    }
}
#endif

/* Integral and squared integral of img (w x h, stride w) into arrays of
 * (h+1) rows of the detector's stride; unsigned so sums wrap safely (window
 * differences stay exact). */
static void integrals(face_detector *d, const uint8_t *img, int w, int h)
{
    int s = d->stride;
    uint32_t *sum = d->sum, *sq = d->sq;
    memset(sum, 0, sizeof(uint32_t) * (size_t)(w + 1));
    memset(sq, 0, sizeof(uint32_t) * (size_t)(w + 1));
    for (int y = 0; y < h; y++) {
        const uint8_t *p = img + (size_t)y * w;
        const uint32_t *ps = sum + (size_t)y * s, *pq = sq + (size_t)y * s;
        uint32_t *cs = sum + (size_t)(y + 1) * s, *cq = sq + (size_t)(y + 1) * s;
        uint32_t rs = 0, rq = 0;
        cs[0] = cq[0] = 0;
        for (int x = 0; x < w; x++) {
            uint32_t v = p[x];
            rs += v;
            rq += v * v;
            cs[x + 1] = ps[x + 1] + rs;
            cq[x + 1] = pq[x + 1] + rq;
        }
    }
}

static int add_cand(face_detector *d, int x, int y, int w, int h)
{
    if (d->ncand == d->cand_cap) {
        int nc = d->cand_cap ? 2 * d->cand_cap : 256;
        face_rect *p = realloc(d->cand, sizeof *p * (size_t)nc);
        if (!p)
            return 0;
        d->cand = p;
        d->cand_cap = nc;
    }
    face_rect r = {x, y, w, h, 1};
    d->cand[d->ncand++] = r;
    return 1;
}

/* Grouping's per-candidate arrays, grown to n. A failed realloc keeps the
 * old block (so free still works) and leaves grp_cap as it was. */
static int grow_group_buffers(face_detector *d, int n)
{
    int *a = realloc(d->parent, sizeof(int) * (size_t)n);
    if (a)
        d->parent = a;
    int *b = realloc(d->label, sizeof(int) * (size_t)n);
    if (b)
        d->label = b;
    int *c = realloc(d->cls_n, sizeof(int) * (size_t)n);
    if (c)
        d->cls_n = c;
    long *e = realloc(d->cls_sum, sizeof(long) * 4 * (size_t)n);
    if (e)
        d->cls_sum = e;
    if (!a || !b || !c || !e)
        return -1;
    d->grp_cap = n;
    return 0;
}

int face_detector_reserve(face_detector *d, int max_candidates)
{
    if (!d || max_candidates <= d->cand_cap)
        return d ? 0 : -1;
    face_rect *p = realloc(d->cand, sizeof *p * (size_t)max_candidates);
    if (!p)
        return -1;
    d->cand = p;
    d->cand_cap = max_candidates;
    return grow_group_buffers(d, max_candidates);
}

static int similar(const face_rect *a, const face_rect *b)
{
    double delta = GROUP_EPS * ((a->w < b->w ? a->w : b->w) + (a->h < b->h ? a->h : b->h)) * 0.5;
    return abs(a->x - b->x) <= delta && abs(a->y - b->y) <= delta &&
           abs(a->x + a->w - b->x - b->w) <= delta && abs(a->y + a->h - b->y - b->h) <= delta;
}

static int find_root(int *parent, int i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

static int cmp_area_desc(const void *a, const void *b)
{
    const face_rect *p = a, *q = b;
    long ap = (long)p->w * p->h, aq = (long)q->w * q->h;
    if (ap != aq)
        return ap < aq ? 1 : -1;
    if (p->y != q->y)
        return p->y - q->y;
    return p->x - q->x;
}

/* OpenCV's groupRectangles(rects, threshold, 0.2) in place on d->cand,
 * then clipObjects to the image. Returns the number of boxes left. */
static int group_rects(face_detector *d, int threshold, int img_w, int img_h)
{
    int n = d->ncand;
    if (threshold > 0 && n > 0) {
        if (n > d->grp_cap && grow_group_buffers(d, n))
            return -1;
        int *parent = d->parent;
        for (int i = 0; i < n; i++)
            parent[i] = i;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                if (similar(&d->cand[i], &d->cand[j])) {
                    int a = find_root(parent, i), b = find_root(parent, j);
                    if (a != b)
                        parent[a > b ? a : b] = a < b ? a : b;
                }
        int ncls = 0;
        for (int i = 0; i < n; i++) {
            int r = find_root(parent, i);
            if (r == i)
                d->label[i] = ncls++;
            else
                d->label[i] = d->label[r]; /* roots are the smallest index */
        }
        memset(d->cls_n, 0, sizeof(int) * (size_t)ncls);
        memset(d->cls_sum, 0, sizeof(long) * 4 * (size_t)ncls);
        for (int i = 0; i < n; i++) {
            long *s = d->cls_sum + 4 * d->label[i];
            s[0] += d->cand[i].x;
            s[1] += d->cand[i].y;
            s[2] += d->cand[i].w;
            s[3] += d->cand[i].h;
            d->cls_n[d->label[i]]++;
        }
        /* averaged class boxes overwrite the front of cand (ncls <= n) */
        face_rect *rr = d->cand;
        for (int k = 0; k < ncls; k++) {
            float s = 1.f / (float)d->cls_n[k];
            const long *c = d->cls_sum + 4 * k;
            rr[k].x = (int)lrintf((float)c[0] * s);
            rr[k].y = (int)lrintf((float)c[1] * s);
            rr[k].w = (int)lrintf((float)c[2] * s);
            rr[k].h = (int)lrintf((float)c[3] * s);
            rr[k].neighbors = d->cls_n[k];
        }
        /* drop weak classes and small boxes inside stronger big ones */
        int kept = 0;
        for (int i = 0; i < ncls; i++) {
            int n1 = rr[i].neighbors, j;
            if (n1 <= threshold) {
                d->label[i] = 0;
                continue;
            }
            for (j = 0; j < ncls; j++) {
                int n2 = rr[j].neighbors;
                if (j == i || n2 <= threshold)
                    continue;
                int dx = (int)lrint(rr[j].w * GROUP_EPS), dy = (int)lrint(rr[j].h * GROUP_EPS);
                if (rr[i].x >= rr[j].x - dx && rr[i].y >= rr[j].y - dy &&
                    rr[i].x + rr[i].w <= rr[j].x + rr[j].w + dx &&
                    rr[i].y + rr[i].h <= rr[j].y + rr[j].h + dy && (n2 > (n1 > 3 ? n1 : 3) || n1 < 3))
                    break;
            }
            d->label[i] = (j == ncls);
        }
        for (int i = 0; i < ncls; i++)
            if (d->label[i])
                rr[kept++] = rr[i];
        n = kept;
    }
    /* clipObjects: intersect with the image, drop empty ones */
    int m = 0;
    for (int i = 0; i < n; i++) {
        face_rect r = d->cand[i];
        int x0 = r.x > 0 ? r.x : 0, y0 = r.y > 0 ? r.y : 0;
        int x1 = r.x + r.w < img_w ? r.x + r.w : img_w, y1 = r.y + r.h < img_h ? r.y + r.h : img_h;
        if (x1 > x0 && y1 > y0) {
            r.x = x0, r.y = y0, r.w = x1 - x0, r.h = y1 - y0;
            d->cand[m++] = r;
        }
    }
    if (m > 1)
        qsort(d->cand, (size_t)m, sizeof(face_rect), cmp_area_desc);
    return m;
}

int face_detect(face_detector *d, const uint8_t *grey, int width, int height, int stride,
                const face_detect_params *p, face_rect *out, int max_out)
{
    if (!d || !grey || !p || width <= 0 || height <= 0 || stride < width || max_out < 0 ||
        (max_out > 0 && !out) || (long long)width * height > MAX_PIXELS ||
        (long long)stride * height > 4LL * MAX_PIXELS || !(p->scale_factor > 1.0f) ||
        p->scale_factor > 10.0f)
        return -1;
    const haar_cascade *c = d->c;
    int maxw = p->max_w > 0 ? p->max_w : width, maxh = p->max_h > 0 ? p->max_h : height;
    float scales[MAX_LEVELS];
    int nscales = 0;
    for (double factor = 1;; factor *= p->scale_factor) {
        int ww = (int)lrint(c->win_w * factor), wh = (int)lrint(c->win_h * factor);
        if (ww > maxw || wh > maxh || ww > width || wh > height || nscales == MAX_LEVELS)
            break;
        if (ww < p->min_w || wh < p->min_h)
            continue;
        scales[nscales++] = (float)factor;
    }
    d->ncand = 0;
    d->windows = 0;
    if (nscales == 0)
        return 0;
    /* level 0 is the largest: size the buffers and the stride for it */
    int w0 = (int)lrintf((float)width / scales[0]), h0 = (int)lrintf((float)height / scales[0]);
    int need_stride = ((w0 + 1 + 7) / 8) * 8;
    if (need_stride > d->stride)
        set_stride(d, need_stride);
    /* + 64: the 8-wide scan reads up to 16 + window columns past a row start */
    size_t int_need = (size_t)(h0 + 2) * (size_t)d->stride + 64;
    if (int_need > d->int_cap) {
        size_t old_cap = d->int_cap;
        if (!grow((void **)&d->sum, &d->int_cap, int_need, sizeof(uint32_t)))
            return -1;
        d->int_cap = old_cap;
        if (!grow((void **)&d->sq, &d->int_cap, int_need, sizeof(uint32_t)))
            return -1;
        memset(d->sum, 0, sizeof(uint32_t) * int_need);
        memset(d->sq, 0, sizeof(uint32_t) * int_need);
    }
    if (!grow((void **)&d->level, &d->level_cap, (size_t)(w0 + 1) * (size_t)(h0 + 1), 1))
        return -1;
    if (!grow((void **)&d->rowres, &d->rowres_cap, (size_t)w0 + 16, sizeof(int)))
        return -1;

    for (int li = 0; li < nscales; li++) {
        float sc = scales[li];
        int sw = (int)lrintf((float)width / sc), sh = (int)lrintf((float)height / sc);
        if (sw < c->win_w || sh < c->win_h)
            continue;
        if (!resize_exact(d, grey, width, height, stride, d->level, sw, sh))
            return -1;
        integrals(d, d->level, sw, sh);
        int ystep = sc >= 2 ? 1 : 2;
        int ww = (int)lrintf((float)c->win_w * sc), wh = (int)lrintf((float)c->win_h * sc);
        int xend = sw + 1 - c->win_w, yend = sh + 1 - c->win_h;
        /* setWindow refuses x + win >= sw + 1 */
        for (int y = 0; y < yend; y += ystep) {
            if (y + c->win_h >= sh + 1)
                break;
            const uint32_t *prow = d->sum + (size_t)y * d->stride;
            const uint32_t *qrow = d->sq + (size_t)y * d->stride;
#ifdef HAVE_AVX2_PATH
            if (d->simd) {
                /* every grid position of the row, 8 at a time; then OpenCV's walk */
                int ngrid = (xend + ystep - 1) / ystep;
                for (int g = 0; g < ngrid; g += 8) {
                    int nl = ngrid - g < 8 ? ngrid - g : 8;
                    if (c->lbp)
                        run8_lbp(d, prow + g * ystep, ystep, nl, d->rowres + g);
                    else
                        run8(d, prow + g * ystep, qrow + g * ystep, ystep, nl, d->rowres + g);
                }
                for (int x = 0; x < xend; x += ystep) {
                    d->windows++;
                    int r = d->rowres[x / ystep];
                    if (r > 0 && !add_cand(d, (int)lrintf((float)x * sc),
                                           (int)lrintf((float)y * sc), ww, wh))
                        return -1;
                    if (r == 0)
                        x += ystep;
                }
                continue;
            }
#endif
            for (int x = 0; x < xend; x += ystep) {
                if (x + c->win_w >= sw + 1)
                    break;
                d->windows++;
                int r = run_window(d, prow + x, qrow + x);
                if (r > 0 && !add_cand(d, (int)lrintf((float)x * sc), (int)lrintf((float)y * sc),
                                       ww, wh))
                    return -1;
                if (r == 0)
                    x += ystep;
            }
        }
    }
    int n = group_rects(d, p->min_neighbors, width, height);
    if (n < 0)
        return -1;
    for (int i = 0; i < n && i < max_out; i++)
        out[i] = d->cand[i];
    return n;
}

/* nn_layers.c - forward and backward passes of every layer, and the
 * per-thread workspace they run in. Tensors are NCHW, batch outermost. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define NN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NN_CLONES
#endif

#define ALIGN_FLOATS 16 /* 64-byte alignment of every buffer */

static size_t round_up(size_t n) { return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; }

static int conv_is_pointwise(const nn_layer *l)
{
    return l->kh == 1 && l->kw == 1 && l->sh == 1 && l->sw == 1 && l->pad_t == 0 &&
           l->pad_l == 0;
}

static size_t conv_col_size(const nn_layer *l)
{
    return (size_t)l->in_c * l->kh * l->kw * l->out_h * l->out_w;
}

/* Stride-1 convolutions whose output rows fill 16-lane vectors well enough
 * (at least 3/4 of the lanes: lenet's 28 and 14 columns, smilenet's 48, 24
 * and 12) run direct: see conv_direct. Narrower maps (smilenet's 6x6) would
 * waste most lanes, strided ones (seed) have no contiguous windows: im2col. */
static int conv_is_direct(const nn_layer *l)
{
    int vecs = (l->out_w + 15) / 16;
    return l->sh == 1 && l->sw == 1 && !conv_is_pointwise(l) && 4 * l->out_w >= 3 * 16 * vecs;
}

/* the zero-padded input of a direct conv, [C, oh+kh-1, ow+kw-1], plus 16
 * floats that the last row's vector loads run into */
static size_t conv_direct_size(const nn_layer *l)
{
    return (size_t)l->in_c * (l->out_h + l->kh - 1) * (l->out_w + l->kw - 1) + 16;
}

/* ------------------------------------------------------------ workspace */

nn_status nn_ws_init(nn_ws *ws, const nn_net *net, int max_batch, int train, nn_error *err)
{
    memset(ws, 0, sizeof *ws);
    if (max_batch < 1 || max_batch > (1 << 20)) {
        nn_seterr(err, "batch size %d out of range [1, %d]", max_batch, 1 << 20);
        return NN_ERR_ARG;
    }
    int L = net->n_layers;
    ws->max_batch = max_batch;
    ws->train = train;
    ws->act = calloc((size_t)L + 1, sizeof *ws->act);
    ws->aux_off = calloc((size_t)L + 1, sizeof *ws->aux_off);
    if (!ws->act || !ws->aux_off)
        goto nomem;
    size_t B = (size_t)max_batch;
    size_t total = 0, col = 0, aux = 0, maxact = round_up((size_t)net->input.width *
                                                          net->input.height * net->input.channels);
    /* offsets first, then one allocation */
    size_t *offs = calloc((size_t)L + 1, sizeof *offs);
    /* Inference reads an activation only as the next layer's input, or as a
     * residual layer's shortcut: the others take turns in two shared buffers
     * (shared[i] = 1 or 2), which took smilenet's from 2.5 MB a face to 0.6. */
    unsigned char *shared = calloc((size_t)L + 1, 1);
    if (!offs || !shared) {
        free(offs);
        free(shared);
        goto nomem;
    }
    size_t shared_size = 0;
    if (!train) {
        for (int i = 1; i <= L; i++)
            shared[i] = 1;
        for (int i = 0; i < L; i++)
            if (net->layers[i].kind == NN_L_RESIDUAL)
                shared[i - net->layers[i].skip] = 0; /* the shortcut's source keeps its own */
        for (int i = 1; i <= L; i++)
            if (shared[i]) {
                shared[i] = shared[i - 1] == 1 ? 2 : 1; /* never the input's buffer */
                size_t o = round_up(B * nn_layer_out_size(&net->layers[i - 1]));
                shared_size = o > shared_size ? o : shared_size;
            }
    }
    offs[0] = total;
    total += round_up(B * maxact);
    for (int i = 0; i < L; i++) {
        const nn_layer *l = &net->layers[i];
        size_t o = round_up(nn_layer_out_size(l));
        if (o > maxact)
            maxact = o;
        offs[i + 1] = total;
        if (!shared[i + 1])
            total += round_up(B * o);
        if (l->kind == NN_L_CONV && !conv_is_pointwise(l) && conv_col_size(l) > col)
            col = conv_col_size(l);
        if (l->kind == NN_L_CONV && conv_is_direct(l) && conv_direct_size(l) > col)
            col = conv_direct_size(l);
        ws->aux_off[i] = aux;
        if (l->kind == NN_L_DROPOUT)
            aux += round_up(B * nn_layer_out_size(l));
        else if (l->kind == NN_L_BATCHNORM)
            aux += round_up(3 * (size_t)l->in_c);
        else if (l->kind == NN_L_RESIDUAL && train)
            aux += round_up(B * nn_layer_out_size(l)); /* the shortcut's gradient */
    }
    size_t shared_off = total;
    total += 2 * shared_size;
    col = round_up(col);
    size_t col_off = total;
    total += train ? 2 * col : col;
    size_t aux_base = total;
    total += aux;
    size_t pack_off = total;
    total += round_up(nn_gemm_pack_floats());
    size_t dbuf_off = total, grads_off = 0;
    if (train) {
        total += 2 * round_up(B * maxact);
        grads_off = total;
        total += round_up(net->n_params);
    }
    total += ALIGN_FLOATS;
    ws->block = aligned_alloc(64, total * sizeof(float));
    if (!ws->block) {
        free(offs);
        free(shared);
        goto nomem;
    }
    /* touch every page now: fresh pages are slow, and nothing below allocates */
    memset(ws->block, 0, total * sizeof(float));
    float *base = ws->block;
    for (int i = 0; i <= L; i++)
        ws->act[i] = base + (shared[i] ? shared_off + (shared[i] - 1) * shared_size : offs[i]);
    free(offs);
    free(shared);
    ws->col = base + col_off;
    ws->aux = base + aux_base;
    ws->pack = base + pack_off;
    if (train) {
        ws->dbuf[0] = base + dbuf_off;
        ws->dbuf[1] = base + dbuf_off + round_up(B * maxact);
        ws->grads = base + grads_off;
    }
    return NN_OK;
nomem:
    nn_seterr(err, "out of memory for a workspace of batch %d", max_batch);
    nn_ws_free(ws);
    return NN_ERR_NOMEM;
}

void nn_ws_free(nn_ws *ws)
{
    free(ws->act);
    free(ws->aux_off);
    free(ws->block);
    memset(ws, 0, sizeof *ws);
}

/* ------------------------------------------------------------ conv */

/* Columns ox whose input column ox*s - pad + kj lies inside [0, W): [lo, hi) */
static void valid_range(int ow, int s, int pad, int kj, int W, int *lo, int *hi)
{
    int off = kj - pad; /* ix = ox*s + off */
    int a = off >= 0 ? 0 : (-off + s - 1) / s;
    int b = W - 1 - off < 0 ? 0 : (W - 1 - off) / s + 1;
    *lo = a < ow ? a : ow;
    *hi = b < ow ? b : ow;
    if (*hi < *lo)
        *hi = *lo;
}

/* x[C,H,W] -> col[C*kh*kw, oh*ow] (zeros where the window hangs over the pad) */
NN_CLONES
static void im2col(const nn_layer *l, const float *x, float *col)
{
    int oh = l->out_h, ow = l->out_w, H = l->in_h, W = l->in_w, sw = l->sw;
    size_t P = (size_t)oh * ow;
    for (int c = 0; c < l->in_c; c++)
        for (int ki = 0; ki < l->kh; ki++)
            for (int kj = 0; kj < l->kw; kj++) {
                float *row = col + ((size_t)(c * l->kh + ki) * l->kw + kj) * P;
                int lo, hi, off = kj - l->pad_l;
                valid_range(ow, sw, l->pad_l, kj, W, &lo, &hi);
                for (int oy = 0; oy < oh; oy++) {
                    int iy = oy * l->sh - l->pad_t + ki;
                    float *r = row + (size_t)oy * ow;
                    if (iy < 0 || iy >= H) {
                        memset(r, 0, (size_t)ow * sizeof(float));
                        continue;
                    }
                    const float *xr = x + ((size_t)c * H + iy) * W;
                    for (int ox = 0; ox < lo; ox++)
                        r[ox] = 0.0f;
                    if (sw == 1)
                        memcpy(r + lo, xr + lo + off, (size_t)(hi - lo) * sizeof(float));
                    else
                        for (int ox = lo; ox < hi; ox++)
                            r[ox] = xr[ox * sw + off];
                    for (int ox = hi; ox < ow; ox++)
                        r[ox] = 0.0f;
                }
            }
}

/* the adjoint: dx[C,H,W] += scatter of dcol */
NN_CLONES
static void col2im(const nn_layer *l, const float *col, float *dx)
{
    int oh = l->out_h, ow = l->out_w, H = l->in_h, W = l->in_w, sw = l->sw;
    size_t P = (size_t)oh * ow;
    for (int c = 0; c < l->in_c; c++)
        for (int ki = 0; ki < l->kh; ki++)
            for (int kj = 0; kj < l->kw; kj++) {
                const float *row = col + ((size_t)(c * l->kh + ki) * l->kw + kj) * P;
                int lo, hi, off = kj - l->pad_l;
                valid_range(ow, sw, l->pad_l, kj, W, &lo, &hi);
                if (hi <= lo)
                    continue;
                for (int oy = 0; oy < oh; oy++) {
                    int iy = oy * l->sh - l->pad_t + ki;
                    if (iy < 0 || iy >= H)
                        continue;
                    const float *r = row + (size_t)oy * ow;
                    float *xr = dx + ((size_t)c * H + iy) * W + off + lo * sw;
                    if (sw == 1)
                        for (int ox = lo; ox < hi; ox++)
                            xr[ox - lo] += r[ox];
                    else
                        for (int ox = lo; ox < hi; ox++)
                            xr[(ox - lo) * sw] += r[ox];
                }
            }
}

/* ------------------------------------------------------------ direct conv */

/* With the input copied into a zero-padded xp[C, Hp, Wp] (Hp = oh+kh-1,
 * Wp = ow+kw-1), output columns ox..ox+15 of row oy see, for each (c, ki,
 * kj), the 16 consecutive floats at xp[c][oy+ki][ox+kj]: one unaligned load
 * from L1 replaces a row of im2col, and the weights are broadcast straight
 * from W[OC][C][kh][kw] (k-contiguous per channel), so nothing is packed.
 * Lanes past ow read the next row's data and are never stored. A tile is
 * DR channels x DV vectors of 16 columns (24 of AVX-512's 32 registers). */
#define DR 8
#define DV 3

typedef float v16 __attribute__((vector_size(64)));

/* One tile: y[o][p + 0..15] = b[o] + sum_k w[o][k] xp[xo + off(k)] for R
 * channels o (rows K apart in w, P apart in y) and V vectors. Each vector's
 * sum runs k = 0..K-1 in order, whatever the tile, so results do not depend
 * on how the map was tiled. yn[v] < 16 stores only that many lanes; 16 may
 * spill into the next vector's columns, which are stored after it. */
__attribute__((always_inline)) static inline void direct_tile(int R, int V, const float *w, size_t K,
                                                              const float *b, const float *xp,
                                                              int C, int kh, int kw, int Wp,
                                                              size_t HpWp, const int *xo,
                                                              float *y, size_t P, const int *yo,
                                                              const int *yn)
{
    v16 acc[DR][DV];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 3
        for (int v = 0; v < V; v++)
            acc[r][v] = b[r] + (v16){0};
    const float *wk = w;
    for (int c = 0; c < C; c++)
        for (int ki = 0; ki < kh; ki++) {
            const float *xr = xp + c * HpWp + (size_t)ki * Wp;
            for (int kj = 0; kj < kw; kj++, wk++) {
                v16 xv[DV];
#pragma GCC unroll 3
                for (int v = 0; v < V; v++)
                    memcpy(&xv[v], xr + xo[v] + kj, sizeof xv[v]);
#pragma GCC unroll 8
                for (int r = 0; r < R; r++) {
                    float a = wk[(size_t)r * K];
#pragma GCC unroll 3
                    for (int v = 0; v < V; v++)
                        acc[r][v] += a * xv[v];
                }
            }
        }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 3
        for (int v = 0; v < V; v++) {
            float *d = y + r * P + yo[v];
            if (yn[v] == 16) {
                memcpy(d, &acc[r][v], sizeof acc[r][v]);
            } else {
                float t[16];
                memcpy(t, &acc[r][v], sizeof t);
                for (int i = 0; i < yn[v]; i++)
                    d[i] = t[i];
            }
        }
}

/* y[OC, oh, ow] = conv(x[C, H, W]) + b for one sample, stride 1; xp holds
 * conv_direct_size(l) floats */
NN_CLONES
static void conv_direct(const nn_layer *l, const float *w, const float *b, const float *x,
                        float *y, float *xp)
{
    int C = l->in_c, H = l->in_h, W = l->in_w, oh = l->out_h, ow = l->out_w;
    int kh = l->kh, kw = l->kw, Hp = oh + kh - 1, Wp = ow + kw - 1;
    size_t HpWp = (size_t)Hp * Wp, K = (size_t)C * kh * kw, P = (size_t)oh * ow;
    /* every float of xp is written: no memset */
    for (int c = 0; c < C; c++)
        for (int py = 0; py < Hp; py++) {
            float *d = xp + c * HpWp + (size_t)py * Wp;
            int iy = py - l->pad_t;
            int lo = l->pad_l < Wp ? l->pad_l : Wp;
            int n = iy < 0 || iy >= H ? 0 : W < Wp - lo ? W : Wp - lo;
            if (n == 0)
                lo = Wp;
            for (int i = 0; i < lo; i++)
                d[i] = 0.0f;
            if (n > 0)
                memcpy(d + lo, x + ((size_t)c * H + iy) * W, (size_t)n * sizeof(float));
            for (int i = lo + n; i < Wp; i++)
                d[i] = 0.0f;
        }
    memset(xp + C * HpWp, 0, 16 * sizeof(float));
    int nvx = (ow + 15) / 16, nvec = oh * nvx;
    for (int o0 = 0; o0 < l->out_c;) {
        int left = l->out_c - o0, R = left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
        for (int g0 = 0; g0 < nvec; g0 += DV) {
            int V = nvec - g0 < DV ? nvec - g0 : DV, xo[DV], yo[DV], yn[DV];
            for (int v = 0; v < V; v++) {
                int g = g0 + v, oy = g / nvx, ox = g % nvx * 16;
                xo[v] = oy * Wp + ox;
                yo[v] = oy * ow + ox;
                /* the channel's last vector must not spill into the next channel */
                yn[v] = g == nvec - 1 ? ow - ox : 16;
            }
            const float *wo = w + (size_t)o0 * K, *bo = b + o0;
            float *yo0 = y + (size_t)o0 * P;
#define DIRECT_TILE(r, v)                                                                      \
    direct_tile(r, v, wo, K, bo, xp, C, kh, kw, Wp, HpWp, xo, yo0, P, yo, yn)
            switch (R * 4 + V) {
            case 8 * 4 + 3: DIRECT_TILE(8, 3); break;
            case 8 * 4 + 2: DIRECT_TILE(8, 2); break;
            case 8 * 4 + 1: DIRECT_TILE(8, 1); break;
            case 4 * 4 + 3: DIRECT_TILE(4, 3); break;
            case 4 * 4 + 2: DIRECT_TILE(4, 2); break;
            case 4 * 4 + 1: DIRECT_TILE(4, 1); break;
            case 2 * 4 + 3: DIRECT_TILE(2, 3); break;
            case 2 * 4 + 2: DIRECT_TILE(2, 2); break;
            case 2 * 4 + 1: DIRECT_TILE(2, 1); break;
            case 1 * 4 + 3: DIRECT_TILE(1, 3); break;
            case 1 * 4 + 2: DIRECT_TILE(1, 2); break;
            default: DIRECT_TILE(1, 1); break;
            }
#undef DIRECT_TILE
        }
        o0 += R;
    }
}

/* y[N,OC,P] = W[OC,K] col[K,P] + b */
static void conv_fwd(const nn_layer *l, const float *w, const float *b, const float *x,
                     float *y, int batch, float *col, float *pack)
{
    int K = l->in_c * l->kh * l->kw, P = l->out_h * l->out_w;
    size_t isz = nn_layer_in_size(l), osz = nn_layer_out_size(l);
    if (conv_is_direct(l)) {
        for (int n = 0; n < batch; n++)
            conv_direct(l, w, b, x + n * isz, y + n * osz, col);
        return;
    }
    for (int n = 0; n < batch; n++) {
        const float *xn = x + n * isz;
        float *yn = y + n * osz;
        const float *cn = xn;
        if (!conv_is_pointwise(l)) {
            im2col(l, xn, col);
            cn = col;
        }
        for (int o = 0; o < l->out_c; o++)
            for (int p = 0; p < P; p++)
                yn[(size_t)o * P + p] = b[o];
        nn_sgemm(0, 0, l->out_c, P, K, w, K, cn, P, 1.0f, yn, P, pack);
    }
}

static void conv_bwd(const nn_layer *l, const float *w, float *dw, float *db, const float *x,
                     const float *dy, float *dx, int batch, float *col, float *dcol, float *pack)
{
    int K = l->in_c * l->kh * l->kw, P = l->out_h * l->out_w;
    size_t isz = nn_layer_in_size(l), osz = nn_layer_out_size(l);
    int pw = conv_is_pointwise(l);
    for (int n = 0; n < batch; n++) {
        const float *xn = x + n * isz, *dyn = dy + n * osz;
        const float *cn = xn;
        if (!pw) {
            im2col(l, xn, col);
            cn = col;
        }
        nn_sgemm(0, 1, l->out_c, K, P, dyn, P, cn, P, 1.0f, dw, K, pack);
        for (int o = 0; o < l->out_c; o++) {
            float s = 0.0f;
            for (int p = 0; p < P; p++)
                s += dyn[(size_t)o * P + p];
            db[o] += s;
        }
        if (dx) {
            float *dxn = dx + n * isz;
            if (pw) {
                nn_sgemm(1, 0, K, P, l->out_c, w, K, dyn, P, 0.0f, dxn, P, pack);
            } else {
                nn_sgemm(1, 0, K, P, l->out_c, w, K, dyn, P, 0.0f, dcol, P, pack);
                memset(dxn, 0, isz * sizeof(float));
                col2im(l, dcol, dxn);
            }
        }
    }
}

/* ------------------------------------------------------------ pooling */

/* the common 2x2 stride-2 max pool: rows pairwise, then columns pairwise */
static void maxpool22_fwd(const nn_layer *l, const float *x, float *y, int batch)
{
    int H = l->in_h, W = l->in_w, oh = l->out_h, ow = l->out_w;
    for (int nc = 0; nc < batch * l->in_c; nc++) {
        const float *xc = x + (size_t)nc * H * W;
        float *yc = y + (size_t)nc * oh * ow;
        for (int oy = 0; oy < oh; oy++) {
            const float *r0 = xc + (size_t)2 * oy * W, *r1 = r0 + W;
            float *yr = yc + (size_t)oy * ow;
            for (int ox = 0; ox < ow; ox++) {
                float a = r0[2 * ox] > r0[2 * ox + 1] ? r0[2 * ox] : r0[2 * ox + 1];
                float b = r1[2 * ox] > r1[2 * ox + 1] ? r1[2 * ox] : r1[2 * ox + 1];
                yr[ox] = a > b ? a : b;
            }
        }
    }
}

NN_CLONES
static void pool_fwd(const nn_layer *l, const float *x, float *y, int batch, int is_max)
{
    int H = l->in_h, W = l->in_w;
    if (is_max && l->kh == 2 && l->kw == 2 && l->sh == 2 && l->sw == 2) {
        maxpool22_fwd(l, x, y, batch);
        return;
    }
    float inv = 1.0f / (float)(l->kh * l->kw);
    for (int nc = 0; nc < batch * l->in_c; nc++) {
        const float *xc = x + (size_t)nc * H * W;
        float *yc = y + (size_t)nc * l->out_h * l->out_w;
        for (int oy = 0; oy < l->out_h; oy++)
            for (int ox = 0; ox < l->out_w; ox++) {
                const float *xw = xc + (size_t)oy * l->sh * W + (size_t)ox * l->sw;
                float m = is_max ? xw[0] : 0.0f;
                for (int i = 0; i < l->kh; i++)
                    for (int j = 0; j < l->kw; j++) {
                        float v = xw[(size_t)i * W + j];
                        if (is_max)
                            m = v > m ? v : m;
                        else
                            m += v;
                    }
                yc[oy * l->out_w + ox] = is_max ? m : m * inv;
            }
    }
}

/* max: the gradient goes to the first maximum of each window (as computed
 * again from x, so no index buffer is kept) */
NN_CLONES
static void pool_bwd(const nn_layer *l, const float *x, const float *dy, float *dx, int batch,
                     int is_max)
{
    int H = l->in_h, W = l->in_w;
    float inv = 1.0f / (float)(l->kh * l->kw);
    memset(dx, 0, (size_t)batch * nn_layer_in_size(l) * sizeof(float));
    for (int nc = 0; nc < batch * l->in_c; nc++) {
        const float *xc = x + (size_t)nc * H * W;
        float *dxc = dx + (size_t)nc * H * W;
        const float *dyc = dy + (size_t)nc * l->out_h * l->out_w;
        for (int oy = 0; oy < l->out_h; oy++)
            for (int ox = 0; ox < l->out_w; ox++) {
                size_t base = (size_t)oy * l->sh * W + (size_t)ox * l->sw;
                float g = dyc[oy * l->out_w + ox];
                if (is_max) {
                    size_t arg = base;
                    float m = xc[base];
                    for (int i = 0; i < l->kh; i++)
                        for (int j = 0; j < l->kw; j++) {
                            size_t k = base + (size_t)i * W + j;
                            if (xc[k] > m)
                                m = xc[k], arg = k;
                        }
                    dxc[arg] += g;
                } else {
                    for (int i = 0; i < l->kh; i++)
                        for (int j = 0; j < l->kw; j++)
                            dxc[base + (size_t)i * W + j] += g * inv;
                }
            }
    }
}

/* ------------------------------------------------------------ batchnorm */

/* 16 partial sums: vectorisable without reassociation, and repeatable */
static inline float sum16(const float *x, size_t n)
{
    float acc[16] = {0}, s = 0.0f;
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int l = 0; l < 16; l++)
            acc[l] += x[i + l];
    for (; i < n; i++)
        s += x[i];
    for (int l = 0; l < 16; l++)
        s += acc[l];
    return s;
}

/* sum (x - m)^2 */
static inline float sqdev16(const float *x, size_t n, float m)
{
    float acc[16] = {0}, s = 0.0f;
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int l = 0; l < 16; l++)
            acc[l] += (x[i + l] - m) * (x[i + l] - m);
    for (; i < n; i++)
        s += (x[i] - m) * (x[i] - m);
    for (int l = 0; l < 16; l++)
        s += acc[l];
    return s;
}

/* sum dy (x - m) */
static inline float dotdev16(const float *dy, const float *x, size_t n, float m)
{
    float acc[16] = {0}, s = 0.0f;
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int l = 0; l < 16; l++)
            acc[l] += dy[i + l] * (x[i + l] - m);
    for (; i < n; i++)
        s += dy[i] * (x[i] - m);
    for (int l = 0; l < 16; l++)
        s += acc[l];
    return s;
}

/* aux: mean[C], invstd[C], var[C] of the batch (train mode). Float sums per
 * sample row, double across rows. */
NN_CLONES
static void bn_fwd(const nn_layer *l, const float *gamma, const float *beta, const float *run,
                   const float *x, float *y, int batch, int train, float *aux)
{
    int C = l->in_c;
    size_t S = (size_t)l->in_h * l->in_w, csz = (size_t)C * S;
    for (int c = 0; c < C; c++) {
        float mean, invstd;
        if (train) {
            double s = 0.0, ss = 0.0;
            for (int n = 0; n < batch; n++)
                s += sum16(x + n * csz + c * S, S);
            mean = (float)(s / ((double)batch * S));
            for (int n = 0; n < batch; n++)
                ss += sqdev16(x + n * csz + c * S, S, mean);
            double var = ss / ((double)batch * S);
            invstd = (float)(1.0 / sqrt(var + NN_BN_EPS));
            aux[c] = mean, aux[C + c] = invstd, aux[2 * C + c] = (float)var;
        } else {
            mean = run[c];
            invstd = 1.0f / sqrtf(run[C + c] + NN_BN_EPS);
        }
        float a = gamma[c] * invstd, bb = beta[c] - mean * a;
        for (int n = 0; n < batch; n++) {
            const float *xc = x + n * csz + c * S;
            float *yc = y + n * csz + c * S;
            for (size_t i = 0; i < S; i++)
                yc[i] = xc[i] * a + bb;
        }
    }
}

NN_CLONES
static void bn_bwd(const nn_layer *l, const float *gamma, float *dgamma, float *dbeta,
                   const float *x, const float *dy, float *dx, int batch, const float *aux)
{
    int C = l->in_c;
    size_t S = (size_t)l->in_h * l->in_w, csz = (size_t)C * S;
    double M = (double)batch * S;
    for (int c = 0; c < C; c++) {
        float mean = aux[c], invstd = aux[C + c];
        double sdy = 0.0, sdyx = 0.0;
        for (int n = 0; n < batch; n++) {
            const float *xc = x + n * csz + c * S, *dyc = dy + n * csz + c * S;
            sdy += sum16(dyc, S);
            sdyx += dotdev16(dyc, xc, S, mean);
        }
        sdyx *= invstd;
        dgamma[c] += (float)sdyx;
        dbeta[c] += (float)sdy;
        if (!dx)
            continue;
        float k = gamma[c] * invstd, m1 = (float)(sdy / M), m2 = (float)(sdyx / M) * invstd;
        for (int n = 0; n < batch; n++) {
            const float *xc = x + n * csz + c * S, *dyc = dy + n * csz + c * S;
            float *dxc = dx + n * csz + c * S;
            for (size_t i = 0; i < S; i++)
                dxc[i] = k * (dyc[i] - m1 - (xc[i] - mean) * m2);
        }
    }
}

/* ------------------------------------------------------------ activations */

static inline float sigmoidf(float x)
{
    /* never exp of a large positive number */
    if (x >= 0.0f)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

void nn_sigmoid_fwd(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = sigmoidf(x[i]);
}

void nn_softmax_fwd(const float *x, float *y, int n)
{
    float m = x[0];
    for (int i = 1; i < n; i++)
        m = x[i] > m ? x[i] : m;
    float s = 0.0f;
    for (int i = 0; i < n; i++) {
        y[i] = expf(x[i] - m);
        s += y[i];
    }
    float inv = 1.0f / s;
    for (int i = 0; i < n; i++)
        y[i] *= inv;
}

/* element-wise activations and their derivatives (from x or from y) */
NN_CLONES
static void act_fwd(nn_layer_kind kind, float alpha, const float *x, float *y, size_t n)
{
    switch (kind) {
    case NN_L_RELU:
        for (size_t k = 0; k < n; k++)
            y[k] = x[k] > 0.0f ? x[k] : 0.0f;
        break;
    case NN_L_LEAKYRELU:
        for (size_t k = 0; k < n; k++)
            y[k] = x[k] > 0.0f ? x[k] : alpha * x[k];
        break;
    case NN_L_SIGMOID: nn_sigmoid_fwd(x, y, n); break;
    case NN_L_TANH:
        for (size_t k = 0; k < n; k++)
            y[k] = tanhf(x[k]);
        break;
    default: break;
    }
}

NN_CLONES
static void act_bwd(nn_layer_kind kind, float alpha, const float *x, const float *y,
                    const float *dy, float *dx, size_t n)
{
    switch (kind) {
    case NN_L_RELU:
        for (size_t k = 0; k < n; k++)
            dx[k] = x[k] > 0.0f ? dy[k] : 0.0f;
        break;
    case NN_L_LEAKYRELU:
        for (size_t k = 0; k < n; k++)
            dx[k] = x[k] > 0.0f ? dy[k] : alpha * dy[k];
        break;
    case NN_L_SIGMOID:
        for (size_t k = 0; k < n; k++)
            dx[k] = dy[k] * y[k] * (1.0f - y[k]);
        break;
    case NN_L_TANH:
        for (size_t k = 0; k < n; k++)
            dx[k] = dy[k] * (1.0f - y[k] * y[k]);
        break;
    default: break;
    }
}

/* dropout mask of one sample: depends on (seed, layer, sample index) only,
 * so it is the same whichever thread runs the sample */
static void dropout_mask(float *m, size_t n, float p, uint64_t seed, int layer, int sample)
{
    nn_rng rng;
    nn_rng_seed(&rng, seed ^ ((uint64_t)(unsigned)layer << 40) ^ (uint64_t)(unsigned)sample *
                                                                    0x9E3779B97F4A7C15ull);
    float keep = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++)
        m[i] = nn_rng_uniform(&rng) < p ? 0.0f : keep;
}

/* ------------------------------------------------------------ driver */

void nn_run_forward(const nn_net *net, nn_ws *ws, int batch, int upto, int train,
                    uint64_t rng_seed, int sample_base)
{
    for (int i = 0; i < upto; i++) {
        const nn_layer *l = &net->layers[i];
        const float *x = ws->act[i];
        float *y = ws->act[i + 1];
        const float *w = net->params + l->w_off, *b = net->params + l->b_off;
        size_t osz = nn_layer_out_size(l), n = (size_t)batch * osz;
        float *aux = ws->aux + ws->aux_off[i], *pack = ws->pack;
        switch (l->kind) {
        case NN_L_CONV: conv_fwd(l, w, b, x, y, batch, ws->col, pack); break;
        case NN_L_MAXPOOL: pool_fwd(l, x, y, batch, 1); break;
        case NN_L_AVGPOOL: pool_fwd(l, x, y, batch, 0); break;
        case NN_L_GAP: {
            size_t S = (size_t)l->in_h * l->in_w;
            for (size_t k = 0; k < n; k++) {
                float s = 0.0f;
                for (size_t j = 0; j < S; j++)
                    s += x[k * S + j];
                y[k] = s / (float)S;
            }
            break;
        }
        case NN_L_DENSE: {
            int I = (int)nn_layer_in_size(l), O = l->out_c;
            for (int s = 0; s < batch; s++)
                memcpy(y + (size_t)s * O, b, (size_t)O * sizeof(float));
            nn_sgemm_nt_dot(batch, O, I, x, I, w, I, y, O);
            break;
        }
        case NN_L_FLATTEN: memcpy(y, x, n * sizeof(float)); break;
        case NN_L_DROPOUT:
            if (train && l->alpha > 0.0f) {
                for (int s = 0; s < batch; s++)
                    dropout_mask(aux + s * osz, osz, l->alpha, rng_seed, i, sample_base + s);
                for (size_t k = 0; k < n; k++)
                    y[k] = x[k] * aux[k];
            } else {
                memcpy(y, x, n * sizeof(float));
            }
            break;
        case NN_L_BATCHNORM:
            bn_fwd(l, w, b, net->state + l->s_off, x, y, batch, train, aux);
            break;
        case NN_L_RELU:
        case NN_L_LEAKYRELU:
        case NN_L_SIGMOID:
        case NN_L_TANH: act_fwd(l->kind, l->alpha, x, y, n); break;
        case NN_L_SOFTMAX:
            for (int s = 0; s < batch; s++)
                nn_softmax_fwd(x + s * osz, y + s * osz, (int)osz);
            break;
        case NN_L_RESIDUAL: {
            const float *from = ws->act[i - l->skip];
            for (size_t k = 0; k < n; k++)
                y[k] = x[k] + from[k];
            break;
        }
        case NN_L_COUNT: break;
        }
    }
}

const float *nn_run_backward(const nn_net *net, nn_ws *ws, int batch, int upto,
                            const float *dtop)
{
    const float *dy = dtop;
    for (int i = upto - 1; i >= 0; i--) {
        const nn_layer *l = &net->layers[i];
        const float *x = ws->act[i], *y = ws->act[i + 1];
        float *dx = i > 0 || ws->want_input_grad ? (dy == ws->dbuf[0] ? ws->dbuf[1] : ws->dbuf[0])
                                                  : NULL;
        const float *w = net->params + l->w_off;
        float *dw = ws->grads + l->w_off, *db = ws->grads + l->b_off;
        size_t isz = nn_layer_in_size(l), n = (size_t)batch * isz;
        const float *aux = ws->aux + ws->aux_off[i];
        float *pack = ws->pack;
        switch (l->kind) {
        case NN_L_CONV:
            conv_bwd(l, w, dw, db, x, dy, dx, batch, ws->col, ws->col + round_up(conv_col_size(l)),
                     pack);
            break;
        case NN_L_MAXPOOL:
            if (dx)
                pool_bwd(l, x, dy, dx, batch, 1);
            break;
        case NN_L_AVGPOOL:
            if (dx)
                pool_bwd(l, x, dy, dx, batch, 0);
            break;
        case NN_L_GAP:
            if (dx) {
                size_t S = (size_t)l->in_h * l->in_w;
                for (size_t k = 0; k < n; k++)
                    dx[k] = dy[k / S] / (float)S;
            }
            break;
        case NN_L_DENSE: {
            int I = (int)isz, O = l->out_c;
            nn_sgemm(1, 0, O, I, batch, dy, O, x, I, 1.0f, dw, I, pack);
            for (int s = 0; s < batch; s++)
                for (int o = 0; o < O; o++)
                    db[o] += dy[(size_t)s * O + o];
            if (dx)
                nn_sgemm(0, 0, batch, I, O, dy, O, w, I, 0.0f, dx, I, pack);
            break;
        }
        case NN_L_FLATTEN:
            if (dx)
                memcpy(dx, dy, n * sizeof(float));
            break;
        case NN_L_DROPOUT:
            if (dx) {
                if (l->alpha > 0.0f)
                    for (size_t k = 0; k < n; k++)
                        dx[k] = dy[k] * aux[k];
                else
                    memcpy(dx, dy, n * sizeof(float));
            }
            break;
        case NN_L_BATCHNORM:
            bn_bwd(l, w, dw, db, x, dy, dx, batch, aux);
            break;
        case NN_L_RELU:
        case NN_L_LEAKYRELU:
        case NN_L_SIGMOID:
        case NN_L_TANH:
            if (dx)
                act_bwd(l->kind, l->alpha, x, y, dy, dx, n);
            break;
        case NN_L_SOFTMAX:
            if (dx)
                for (int s = 0; s < batch; s++) {
                    const float *ys = y + s * isz, *dys = dy + s * isz;
                    float d = 0.0f;
                    for (size_t k = 0; k < isz; k++)
                        d += dys[k] * ys[k];
                    for (size_t k = 0; k < isz; k++)
                        dx[s * isz + k] = ys[k] * (dys[k] - d);
                }
            break;
        case NN_L_RESIDUAL:
            /* the shortcut's share waits in aux until the backward pass
             * reaches the layer whose input it was added from */
            memcpy(ws->aux + ws->aux_off[i], dy, n * sizeof(float));
            if (dx)
                memcpy(dx, dy, n * sizeof(float));
            break;
        case NN_L_COUNT: break;
        }
        if (!dx)
            return NULL;
        for (int r = i + 1; r < upto; r++) {
            const nn_layer *lr = &net->layers[r];
            if (lr->kind == NN_L_RESIDUAL && r - lr->skip == i) {
                const float *ds = ws->aux + ws->aux_off[r];
                for (size_t k = 0; k < n; k++)
                    dx[k] += ds[k];
            }
        }
        dy = dx;
    }
    return dy;
}

/* nn_gemm.c - single-precision matrix multiply for conv and dense layers.
 *
 * C[M,N] = beta * C + op(A)[M,K] * op(B)[K,N], row-major, beta 0 or 1.
 * op(A) = A[M,K] (ta = 0, lda >= K) or A stored [K,M] (ta = 1, lda >= M);
 * op(B) = B[K,N] (tb = 0) or B stored [N,K] (tb = 1).
 *
 * BLIS-style: blocks of op(B) (KC x NC) and op(A) (MC x KC) are packed into
 * contiguous panels, and an MR x NR register-tile kernel runs over them.
 * Each C element sums its k terms in a fixed order (KC blocks in turn, k
 * ascending inside a block), so results are repeatable run to run.
 * Single-row products (batch-1 dense layers) skip packing: they stream the
 * weights once, which is all a matrix-vector product can do (their rounding
 * may differ from the packed path's in the last bits). */
#include <string.h>

#include "nn_internal.h"

/* One binary for every x86-64: GCC builds each kernel for AVX-512, AVX2 and
 * baseline SSE2 and picks one at load time (ifunc). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define NN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NN_CLONES
#endif

#define MR 8
#define NR 32
#define KC 128
#define MC 128
#define NC 1024

size_t nn_gemm_pack_floats(void) { return (size_t)KC * NC + (size_t)MC * KC; }

typedef float v16 __attribute__((vector_size(64)));

/* ------------------------------------------------------------ packing */

/* op(A)[i0.., k0..] -> panels of MR rows, k-major: ap[p][k][r]; zero-padded */
__attribute__((always_inline)) static inline void pack_a(int ta, const float *A, int lda, int i0, int mc, int k0, int kc, float *ap)
{
    for (int p = 0; p < mc; p += MR) {
        int rows = mc - p < MR ? mc - p : MR;
        float *dst = ap + (size_t)p * kc;
        if (!ta) {
            for (int r = 0; r < MR; r++) {
                if (r < rows) {
                    const float *src = A + (size_t)(i0 + p + r) * lda + k0;
                    for (int k = 0; k < kc; k++)
                        dst[k * MR + r] = src[k];
                } else {
                    for (int k = 0; k < kc; k++)
                        dst[k * MR + r] = 0.0f;
                }
            }
        } else {
            for (int k = 0; k < kc; k++) {
                const float *src = A + (size_t)(k0 + k) * lda + i0 + p;
                int r = 0;
                for (; r < rows; r++)
                    dst[k * MR + r] = src[r];
                for (; r < MR; r++)
                    dst[k * MR + r] = 0.0f;
            }
        }
    }
}

/* op(B)[k0.., j0..] -> panels of NR columns: bp[q][k][c]; zero-padded */
__attribute__((always_inline)) static inline void pack_b(int tb, const float *B, int ldb, int k0, int kc, int j0, int nc, float *bp)
{
    for (int q = 0; q < nc; q += NR) {
        int cols = nc - q < NR ? nc - q : NR;
        float *dst = bp + (size_t)q * kc;
        if (!tb) {
            for (int k = 0; k < kc; k++) {
                const float *src = B + (size_t)(k0 + k) * ldb + j0 + q;
                float *d = dst + k * NR;
                int c = 0;
                for (; c < cols; c++)
                    d[c] = src[c];
                for (; c < NR; c++)
                    d[c] = 0.0f;
            }
        } else {
            for (int c = 0; c < NR; c++) {
                if (c < cols) {
                    const float *src = B + (size_t)(j0 + q + c) * ldb + k0;
                    for (int k = 0; k < kc; k++)
                        dst[k * NR + c] = src[k];
                } else {
                    for (int k = 0; k < kc; k++)
                        dst[k * NR + c] = 0.0f;
                }
            }
        }
    }
}

/* ------------------------------------------------------------ kernel */

/* C[rows, cols] += ap (kc x MR) * bp (kc x NR), accumulating in registers */
__attribute__((always_inline)) static inline void kernel(int kc, const float *restrict ap, const float *restrict bp, float *C,
                          int ldc, int rows, int cols)
{
    v16 acc[MR][2];
    memset(acc, 0, sizeof acc);
    for (int k = 0; k < kc; k++) {
        v16 b0, b1;
        memcpy(&b0, bp + k * NR, sizeof b0);
        memcpy(&b1, bp + k * NR + 16, sizeof b1);
        const float *a = ap + k * MR;
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
            acc[r][0] += a[r] * b0;
            acc[r][1] += a[r] * b1;
        }
    }
    if (rows == MR && cols == NR) {
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
            float *c = C + (size_t)r * ldc;
            v16 c0, c1;
            memcpy(&c0, c, sizeof c0);
            memcpy(&c1, c + 16, sizeof c1);
            c0 += acc[r][0];
            c1 += acc[r][1];
            memcpy(c, &c0, sizeof c0);
            memcpy(c + 16, &c1, sizeof c1);
        }
    } else {
        float t[MR][NR];
        memcpy(t, acc, sizeof t);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                C[(size_t)r * ldc + c] += t[r][c];
    }
}

NN_CLONES
static void gemm_packed(int ta, int tb, int M, int N, int K, const float *A, int lda,
                        const float *B, int ldb, float *C, int ldc, float *pack)
{
    float *bp = pack, *ap = pack + (size_t)KC * NC;
    for (int j0 = 0; j0 < N; j0 += NC) {
        int nc = N - j0 < NC ? N - j0 : NC;
        for (int k0 = 0; k0 < K; k0 += KC) {
            int kc = K - k0 < KC ? K - k0 : KC;
            pack_b(tb, B, ldb, k0, kc, j0, nc, bp);
            for (int i0 = 0; i0 < M; i0 += MC) {
                int mc = M - i0 < MC ? M - i0 : MC;
                pack_a(ta, A, lda, i0, mc, k0, kc, ap);
                for (int q = 0; q < nc; q += NR)
                    for (int p = 0; p < mc; p += MR)
                        kernel(kc, ap + (size_t)p * kc, bp + (size_t)q * kc,
                               C + (size_t)(i0 + p) * ldc + j0 + q, ldc,
                               mc - p < MR ? mc - p : MR, nc - q < NR ? nc - q : NR);
            }
        }
    }
}

/* ------------------------------------------------------------ one row */

/* c[N] += a[K] B[K,N]: scaled rows of B, in the same KC blocks as above */
NN_CLONES
static void gemv_n(int N, int K, const float *a, int astride, const float *B, int ldb, float *c)
{
    for (int k0 = 0; k0 < K; k0 += KC) {
        int k1 = k0 + KC < K ? k0 + KC : K;
        for (int j0 = 0; j0 < N; j0 += 512) {
            int n = N - j0 < 512 ? N - j0 : 512;
            float t[512];
            memset(t, 0, (size_t)n * sizeof(float));
            for (int k = k0; k < k1; k++) {
                float av = a[(size_t)k * astride];
                const float *b = B + (size_t)k * ldb + j0;
                for (int j = 0; j < n; j++)
                    t[j] += av * b[j];
            }
            for (int j = 0; j < n; j++)
                c[j0 + j] += t[j];
        }
    }
}

/* C[M,N] += A[M,K] B[N,K]^T with both operands contiguous in k (dense
 * forward, conv weight gradients): 4x4 blocks of dot products vectorised
 * along k, k-blocked so the rows stay in cache. No packing, so the weights
 * stream from memory once, and a C element's sum does not depend on M or N
 * (a sample gets the same bits alone or in a batch). */
#define KD 2048

typedef float v8 __attribute__((vector_size(32)));
typedef float v4 __attribute__((vector_size(16)));

/* the 16 lanes of v summed pairwise (halves, then quarters...): a fixed
 * order, and four dependent adds instead of fifteen, which matters when a
 * batch-1 dense layer does one sum per output */
__attribute__((always_inline)) static inline float hsum16(v16 v)
{
    v8 lo8, hi8;
    memcpy(&lo8, &v, sizeof lo8);
    memcpy(&hi8, (const char *)&v + sizeof lo8, sizeof hi8);
    v8 s8 = lo8 + hi8;
    v4 lo4, hi4;
    memcpy(&lo4, &s8, sizeof lo4);
    memcpy(&hi4, (const char *)&s8 + sizeof lo4, sizeof hi4);
    v4 s4 = lo4 + hi4;
    return (s4[0] + s4[2]) + (s4[1] + s4[3]);
}

/* R rows of A (R = 4, or 1 for the leftovers) against 4 rows of B */
__attribute__((always_inline)) static inline void dot_tile(int R, const float *const *a,
                                                           const float *const *b, int kn,
                                                           float *C, int ldc, int ncols)
{
    int kv = kn / 16 * 16;
    v16 acc[4][4];
    memset(acc, 0, sizeof acc);
    for (int k = 0; k < kv; k += 16) {
        v16 av[4], bv[4];
        for (int r = 0; r < R; r++)
            memcpy(&av[r], a[r] + k, sizeof av[r]);
        for (int c = 0; c < 4; c++)
            memcpy(&bv[c], b[c] + k, sizeof bv[c]);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
#pragma GCC unroll 4
            for (int c = 0; c < 4; c++)
                acc[r][c] += av[r] * bv[c];
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < ncols; c++) {
            float sum = hsum16(acc[r][c]);
            for (int k = kv; k < kn; k++)
                sum += a[r][k] * b[c][k];
            C[(size_t)r * ldc + c] += sum;
        }
}

/* One row of A against DB rows of B: the same sums as dot_tile's, for the
 * rows of A left over from 4-row tiles (all of a batch-1 dense layer's). A
 * single row does one multiply-add per weight loaded, so it is bound by
 * how fast the weights stream in: DB rows in flight at once and a software
 * prefetch a few lines ahead in each measured 1.6x faster than 4 rows (the
 * hardware prefetcher alone restarts slowly after every system call, which
 * is how often a batch-1 caller gets here: between video frames). */
#define DB 16
__attribute__((always_inline)) static inline void dot_row(const float *a, const float *const *b,
                                                          int kn, float *C, int ncols)
{
    int kv = kn / 16 * 16;
    v16 acc[DB];
    memset(acc, 0, sizeof acc);
    for (int k = 0; k < kv; k += 16) {
        v16 av;
        memcpy(&av, a + k, sizeof av);
#pragma GCC unroll 16
        for (int c = 0; c < DB; c++) {
            v16 bv;
            memcpy(&bv, b[c] + k, sizeof bv);
            __builtin_prefetch(b[c] + k + 64);
            acc[c] += av * bv;
        }
    }
    for (int c = 0; c < ncols; c++) {
        float sum = hsum16(acc[c]);
        for (int k = kv; k < kn; k++)
            sum += a[k] * b[c][k];
        C[c] += sum;
    }
}

NN_CLONES
static void gemm_nt_dot(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                        float *C, int ldc)
{
    int M4 = M / 4 * 4;
    for (int k0 = 0; k0 < K; k0 += KD) {
        int kn = K - k0 < KD ? K - k0 : KD;
        for (int j0 = 0; j0 < N; j0 += 4) {
            const float *b[4];
            for (int c = 0; c < 4; c++) /* past N: repeat the last row, result unused */
                b[c] = B + (size_t)(j0 + c < N ? j0 + c : N - 1) * ldb + k0;
            int nc = N - j0 < 4 ? N - j0 : 4;
            for (int i0 = 0; i0 < M4; i0 += 4) {
                const float *a[4];
                for (int r = 0; r < 4; r++)
                    a[r] = A + (size_t)(i0 + r) * lda + k0;
                dot_tile(4, a, b, kn, C + (size_t)i0 * ldc + j0, ldc, nc);
            }
        }
    }
    /* each leftover row takes DB rows of B through every k block in turn:
     * C gets the block sums in the same order as above */
    for (int i = M4; i < M; i++)
        for (int j0 = 0; j0 < N; j0 += DB) {
            int nc = N - j0 < DB ? N - j0 : DB;
            for (int k0 = 0; k0 < K; k0 += KD) {
                const float *b[DB];
                for (int c = 0; c < DB; c++)
                    b[c] = B + (size_t)(j0 + c < N ? j0 + c : N - 1) * ldb + k0;
                dot_row(A + (size_t)i * lda + k0, b, K - k0 < KD ? K - k0 : KD,
                        C + (size_t)i * ldc + j0, nc);
            }
        }
}

void nn_sgemm_nt_dot(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                     float *C, int ldc)
{
    if (M > 0 && N > 0 && K > 0)
        gemm_nt_dot(M, N, K, A, lda, B, ldb, C, ldc);
}

void nn_sgemm(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
              int ldb, float beta, float *C, int ldc, float *pack)
{
    if (beta == 0.0f)
        for (int i = 0; i < M; i++)
            memset(C + (size_t)i * ldc, 0, (size_t)N * sizeof(float));
    if (M <= 0 || N <= 0 || K <= 0)
        return;
    if (tb && !ta && K >= 256) {
        gemm_nt_dot(M, N, K, A, lda, B, ldb, C, ldc);
        return;
    }
    if (M == 1 && !tb) {
        gemv_n(N, K, A, ta ? lda : 1, B, ldb, C);
        return;
    }
    gemm_packed(ta, tb, M, N, K, A, lda, B, ldb, C, ldc, pack);
}

/* nn_gemm.c - single-precision matrix multiply for conv and dense layers.
 *
 * C[M,N] = beta * C + op(A)[M,K] * op(B)[K,N], row-major, beta 0 or 1.
 * op(A) = A[M,K] (ta = 0, lda >= K) or A[K,M] transposed (ta = 1, lda >= M);
 * op(B) likewise. The summation order over k is fixed, so results are
 * repeatable on one machine. */
#include <string.h>

#include "nn_internal.h"

/* one row of C += a * row of B: the compiler vectorises this */
static inline void axpy(float *restrict c, float a, const float *restrict b, int n)
{
    for (int j = 0; j < n; j++)
        c[j] += a * b[j];
}

/* 16 independent partial sums so the compiler can vectorise without
 * reassociating (no -ffast-math needed). */
static inline float dot(const float *restrict a, const float *restrict b, int n)
{
    float acc[16] = {0};
    int k = 0;
    for (; k + 16 <= n; k += 16)
        for (int l = 0; l < 16; l++)
            acc[l] += a[k + l] * b[k + l];
    float s = 0.0f;
    for (; k < n; k++)
        s += a[k] * b[k];
    for (int l = 0; l < 16; l += 2)
        s += acc[l] + acc[l + 1];
    return s;
}

#define KC 256 /* k-block: keeps a panel of B rows in L1/L2 */

/* C[M,N] += A[M,K] B[K,N]: rows of C accumulate scaled rows of B. Blocking
 * over k keeps a band of B hot while every row of C passes over it; within
 * a block, k still runs in ascending order for each C element. */
static void gemm_nn(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                    float *C, int ldc)
{
    for (int k0 = 0; k0 < K; k0 += KC) {
        int k1 = k0 + KC < K ? k0 + KC : K;
        for (int i = 0; i < M; i++) {
            float *c = C + (size_t)i * ldc;
            const float *a = A + (size_t)i * lda;
            int k = k0;
            for (; k + 4 <= k1; k += 4) {
                const float *b0 = B + (size_t)k * ldb;
                float a0 = a[k], a1 = a[k + 1], a2 = a[k + 2], a3 = a[k + 3];
                const float *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
                for (int j = 0; j < N; j++)
                    c[j] = (((c[j] + a0 * b0[j]) + a1 * b1[j]) + a2 * b2[j]) + a3 * b3[j];
            }
            for (; k < k1; k++)
                axpy(c, a[k], B + (size_t)k * ldb, N);
        }
    }
}

/* C[M,N] += A^T B with A stored [K,M] */
static void gemm_tn(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                    float *C, int ldc)
{
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        int k = 0;
        for (; k + 4 <= K; k += 4) {
            const float *b0 = B + (size_t)k * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb,
                        *b3 = b2 + ldb;
            float a0 = A[(size_t)k * lda + i], a1 = A[(size_t)(k + 1) * lda + i],
                  a2 = A[(size_t)(k + 2) * lda + i], a3 = A[(size_t)(k + 3) * lda + i];
            for (int j = 0; j < N; j++)
                c[j] = (((c[j] + a0 * b0[j]) + a1 * b1[j]) + a2 * b2[j]) + a3 * b3[j];
        }
        for (; k < K; k++)
            axpy(c, A[(size_t)k * lda + i], B + (size_t)k * ldb, N);
    }
}

/* C[M,N] += A B^T with B stored [N,K]: dot products of rows */
static void gemm_nt(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                    float *C, int ldc)
{
    for (int i = 0; i < M; i++) {
        const float *a = A + (size_t)i * lda;
        float *c = C + (size_t)i * ldc;
        int j = 0;
        for (; j + 4 <= N; j += 4) {
            const float *b0 = B + (size_t)j * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb,
                        *b3 = b2 + ldb;
            float acc0[16] = {0}, acc1[16] = {0}, acc2[16] = {0}, acc3[16] = {0};
            int k = 0;
            for (; k + 16 <= K; k += 16)
                for (int l = 0; l < 16; l++) {
                    float av = a[k + l];
                    acc0[l] += av * b0[k + l];
                    acc1[l] += av * b1[k + l];
                    acc2[l] += av * b2[k + l];
                    acc3[l] += av * b3[k + l];
                }
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (; k < K; k++) {
                s0 += a[k] * b0[k];
                s1 += a[k] * b1[k];
                s2 += a[k] * b2[k];
                s3 += a[k] * b3[k];
            }
            for (int l = 0; l < 16; l++) {
                s0 += acc0[l];
                s1 += acc1[l];
                s2 += acc2[l];
                s3 += acc3[l];
            }
            c[j] += s0;
            c[j + 1] += s1;
            c[j + 2] += s2;
            c[j + 3] += s3;
        }
        for (; j < N; j++)
            c[j] += dot(a, B + (size_t)j * ldb, K);
    }
}

void nn_sgemm(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
              int ldb, float beta, float *C, int ldc)
{
    if (beta == 0.0f)
        for (int i = 0; i < M; i++)
            memset(C + (size_t)i * ldc, 0, (size_t)N * sizeof(float));
    if (M <= 0 || N <= 0 || K <= 0)
        return;
    if (!ta && !tb)
        gemm_nn(M, N, K, A, lda, B, ldb, C, ldc);
    else if (ta && !tb)
        gemm_tn(M, N, K, A, lda, B, ldb, C, ldc);
    else if (!ta && tb)
        gemm_nt(M, N, K, A, lda, B, ldb, C, ldc);
    else
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                float s = 0.0f;
                for (int k = 0; k < K; k++)
                    s += A[(size_t)k * lda + i] * B[(size_t)j * ldb + k];
                C[(size_t)i * ldc + j] += s;
            }
}

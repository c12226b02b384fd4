/* The SGEMM behind conv and dense against a double-precision reference:
 * all four transpose cases, beta 0 and 1, edge tiles, K and N across the
 * packing blocks, single rows, and leading dimensions wider than the data. */
#include <math.h>
#include <string.h>

#include "nn.h"
#include "nn_internal.h"
#include "../test_check.h"

static nn_rng rng;

static void check(int ta, int tb, int M, int N, int K, float beta, float *pack, int dot)
{
    int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 5, ldc = N + 2;
    size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb,
           nc = (size_t)M * ldc;
    float *A = malloc(na * 4), *B = malloc(nb * 4), *C = malloc(nc * 4), *C0 = malloc(nc * 4);
    for (size_t i = 0; i < na; i++)
        A[i] = nn_rng_uniform(&rng) * 2 - 1;
    for (size_t i = 0; i < nb; i++)
        B[i] = nn_rng_uniform(&rng) * 2 - 1;
    for (size_t i = 0; i < nc; i++)
        C0[i] = C[i] = nn_rng_uniform(&rng) * 2 - 1;
    if (dot) /* the dense layers' dot-product path: C += A B^T */
        nn_sgemm_nt_dot(M, N, K, A, lda, B, ldb, C, ldc);
    else
        nn_sgemm(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc, pack);
    double worst = 0;
    int pad_ok = 1;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double s = beta != 0.0f ? C0[(size_t)i * ldc + j] : 0.0;
            for (int k = 0; k < K; k++)
                s += (double)(ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) *
                     (tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]);
            double e = fabs(s - C[(size_t)i * ldc + j]) / (1.0 + sqrt((double)K));
            worst = e > worst ? e : worst;
        }
        for (int j = N; j < ldc; j++) /* columns beyond N are not C's */
            pad_ok &= C[(size_t)i * ldc + j] == C0[(size_t)i * ldc + j];
    }
    CHECKF(worst < 1e-5, "ta=%d tb=%d M=%d N=%d K=%d beta=%g dot=%d: error %g", ta, tb, M, N, K,
          (double)beta, dot, worst);
    CHECKF(pad_ok, "ta=%d tb=%d M=%d N=%d K=%d: wrote past N", ta, tb, M, N, K);
    free(A);
    free(B);
    free(C);
    free(C0);
}

int main(void)
{
    nn_rng_seed(&rng, 5);
    float *pack = malloc(nn_gemm_pack_floats() * sizeof(float));
    static const int shapes[][3] = {
        {1, 1, 1},    {1, 64, 700}, {1, 37, 5},   {2, 3, 4},     {7, 33, 9},
        {8, 32, 128}, {9, 31, 129}, {50, 196, 500}, {64, 1024, 9}, {130, 70, 260},
        {16, 1100, 20}, {3, 2100, 3}, {17, 5, 300}, {5, 6, 4500}, {1, 9, 4099},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int b = 0; b < 2; b++)
                    check(ta, tb, shapes[s][0], shapes[s][1], shapes[s][2], (float)b, pack, 0);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        check(0, 1, shapes[s][0], shapes[s][1], shapes[s][2], 1.0f, pack, 1);
    /* repeatable: the same call twice gives the same bits */
    enum { M = 20, N = 70, K = 300 };
    float *A = malloc(M * K * 4), *B = malloc(K * N * 4), *C1 = malloc(M * N * 4),
          *C2 = malloc(M * N * 4);
    for (int i = 0; i < M * K; i++)
        A[i] = sinf((float)i);
    for (int i = 0; i < K * N; i++)
        B[i] = cosf((float)i);
    nn_sgemm(0, 0, M, N, K, A, K, B, N, 0.0f, C1, N, pack);
    nn_sgemm(0, 0, M, N, K, A, K, B, N, 0.0f, C2, N, pack);
    CHECKF(memcmp(C1, C2, M * N * 4) == 0, "not repeatable");
    free(A);
    free(B);
    free(C1);
    free(C2);
    free(pack);
    return test_done("gemm");
}

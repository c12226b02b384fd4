/* The lecture's worked convolution examples (cross-correlation, as CNNs
 * compute it), run through the conv layer and checked exactly. */
#include <string.h>

#include "nn.h"
#include "../test_check.h"

static const float input[16] = {0, 1, 7, 5, 5, 5, 6, 6, 5, 3, 3, 0, 1, 1, 1, 2};

static void run(const char *arch, const float *filter, int k, const float *want, int n_want,
                const char *what)
{
    nn_net *net;
    nn_error err;
    nn_status st = nn_net_from_text(arch, what, &net, &err);
    REQUIRE(st == NN_OK, "%s: %s", what, err.msg);
    REQUIRE(nn_net_n_params(net) == (size_t)(k * k + 1), "%s: %zu params", what,
            nn_net_n_params(net));
    float *p = nn_net_params(net);
    memcpy(p, filter, (size_t)(k * k) * sizeof(float));
    p[k * k] = 0.0f; /* bias */
    CHECKF(nn_net_n_outputs(net) == n_want, "%s: %d outputs, want %d", what, nn_net_n_outputs(net),
          n_want);
    nn_ctx *ctx;
    REQUIRE(nn_ctx_new(net, 1, &ctx, &err) == NN_OK, "%s", err.msg);
    const float *y = nn_forward(ctx, input, 1);
    REQUIRE(y != NULL, "%s: forward failed", what);
    for (int i = 0; i < n_want && i < nn_net_n_outputs(net); i++)
        CHECKF(y[i] == want[i], "%s: output %d is %g, want %g", what, i, (double)y[i],
              (double)want[i]);
    nn_ctx_free(ctx);
    nn_net_free(net);
}

int main(void)
{
    const float f3a[9] = {1, 0, 1, 1, 2, 0, 3, 0, 1};
    const float w3a[4] = {40, 32, 26, 25};
    run("input 4 4 1\nconv 1 3\n", f3a, 3, w3a, 4, "3x3 valid");

    const float f2[4] = {1, 0, 1, 2};
    const float w2s1[9] = {15, 18, 25, 16, 14, 9, 8, 6, 8};
    run("input 4 4 1\nconv 1 2 stride=1 pad=valid\n", f2, 2, w2s1, 9, "2x2 stride 1");
    const float w2s2[4] = {15, 25, 8, 8};
    run("input 4 4 1\nconv 1 2 stride=2\n", f2, 2, w2s2, 4, "2x2 stride 2");

    const float f3b[9] = {1, 0, 0, 1, 2, 1, 1, 2, 3};
    const float w3b[4] = {41, 33, 25, 23};
    run("input 4 4 1\nconv 1 3 pad=valid\n", f3b, 3, w3b, 4, "3x3 valid (b)");
    const float w3bp[16] = {26, 42, 55, 35, 34, 41, 33, 28, 18, 25, 23, 14, 3, 9, 8, 8};
    run("input 4 4 1\nconv 1 3 pad=1\n", f3b, 3, w3bp, 16, "3x3 zero padding 1");
    /* 'same' at stride 1 is the same padding for an odd kernel */
    run("input 4 4 1\nconv 1 3 pad=same\n", f3b, 3, w3bp, 16, "3x3 same");
    return test_done("conv-golden");
}

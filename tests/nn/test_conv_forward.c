/* The conv layer's forward pass against a double-precision reference, over
 * shapes that reach both implementations: the direct kernel (stride 1,
 * output rows of 12 or more columns: full and partial 16-lane vectors,
 * channel counts that leave 1, 2, 4 or 7 channels for the last tile, every
 * padding mode, non-square kernels) and im2col + GEMM (strided, narrow or
 * pointwise). Batch 3, so samples after the first start mid-buffer; the
 * output after the last sample must stay untouched. */
#include <math.h>
#include <string.h>

#include "nn.h"
#include "nn_internal.h"
#include "../test_check.h"

static nn_rng rng;

static void check_conv(int W, int H, int C, int O, int kh, int kw, int sh, int sw,
                       const char *pad)
{
    char arch[200];
    snprintf(arch, sizeof arch, "input %d %d %d\nconv %d %dx%d stride=%dx%d pad=%s\n", W, H, C, O,
             kh, kw, sh, sw, pad);
    nn_net *net;
    nn_error err;
    REQUIRE(nn_net_from_text(arch, "test", &net, &err) == NN_OK, "%s: %s", arch, err.msg);
    const nn_layer *l = &net->layers[0];
    float *p = nn_net_params(net);
    for (size_t i = 0; i < nn_net_n_params(net); i++)
        p[i] = nn_rng_uniform(&rng) * 2 - 1;
    enum { B = 3 };
    size_t isz = (size_t)W * H * C, osz = (size_t)l->out_c * l->out_h * l->out_w;
    nn_ctx *ctx;
    REQUIRE(nn_ctx_new(net, B + 1, &ctx, &err) == NN_OK, "%s", err.msg);
    float *x = nn_ctx_input(ctx);
    for (size_t i = 0; i < B * isz; i++)
        x[i] = nn_rng_uniform(&rng) * 2 - 1;
    /* a batch of B+1 fills the output buffer with a sentinel sample first */
    const float *y = nn_forward(ctx, x, B + 1);
    REQUIRE(y, "%s: forward", arch);
    float sentinel = y[B * osz];
    y = nn_forward(ctx, x, B);
    REQUIRE(y, "%s: forward", arch);
    CHECKF(y[B * osz] == sentinel, "%s: wrote past the batch", arch);
    const float *w = p + l->w_off, *b = p + l->b_off;
    double worst = 0;
    for (int n = 0; n < B; n++)
        for (int o = 0; o < l->out_c; o++)
            for (int oy = 0; oy < l->out_h; oy++)
                for (int ox = 0; ox < l->out_w; ox++) {
                    double s = b[o];
                    for (int c = 0; c < C; c++)
                        for (int i = 0; i < kh; i++)
                            for (int j = 0; j < kw; j++) {
                                int iy = oy * sh - l->pad_t + i, ix = ox * sw - l->pad_l + j;
                                if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                                    s += (double)w[((o * C + c) * kh + i) * kw + j] *
                                         x[n * isz + ((size_t)c * H + iy) * W + ix];
                            }
                    double got = y[n * osz + ((size_t)o * l->out_h + oy) * l->out_w + ox];
                    double e = fabs(got - s);
                    worst = e > worst ? e : worst;
                }
    CHECKF(worst < 1e-5 * sqrt((double)C * kh * kw), "%s: error %g", arch, worst);
    nn_ctx_free(ctx);
    nn_net_free(net);
}

int main(void)
{
    nn_rng_seed(&rng, 11);
    /* lenet's two convs */
    check_conv(28, 28, 1, 20, 5, 5, 1, 1, "same");
    check_conv(14, 14, 20, 50, 5, 5, 1, 1, "same");
    /* widths around one and two vectors, every tile edge of channels */
    static const int widths[] = {12, 13, 15, 16, 17, 24, 28, 31, 32, 33, 48};
    static const int outs[] = {1, 2, 3, 5, 7, 8, 9, 13};
    static const char *const pads[] = {"valid", "same", "tf_same", "1", "2"};
    for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++)
        for (size_t j = 0; j < sizeof outs / sizeof outs[0]; j++) {
            int k = 1 + (int)((i + j) % 4), h = 3 + (int)(j % 5) * 3;
            check_conv(widths[i] + k - 1, h + k - 1, 1 + (int)(j % 3), outs[j], k + 1, k,
                       1, 1, pads[(i + j) % 5]);
        }
    /* the im2col path: strided, narrow, pointwise */
    check_conv(64, 64, 1, 8, 3, 3, 2, 2, "tf_same");
    check_conv(6, 6, 16, 9, 3, 3, 1, 1, "same");
    check_conv(20, 5, 3, 7, 1, 1, 1, 1, "valid");
    check_conv(17, 9, 2, 5, 3, 2, 1, 2, "1");
    return test_done("conv-forward");
}

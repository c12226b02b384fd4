/* Preprocessing: area-averaging crop/resize with sub-pixel rectangles and
 * replicated edges, histogram equalisation, the three normalisations. */
#include <math.h>
#include <string.h>

#include "nn.h"
#include "../test_check.h"

static nn_input_spec spec_of(int w, int h, int c, nn_norm norm, int eq)
{
    nn_input_spec s = {w, h, c, norm, 0.0f, 1.0f, {0.0f, 0.0f, 1.0f}, eq, 0};
    return s;
}

int main(void)
{
    enum { W = 16, H = 12, S = 20 }; /* stride > width: rows are padded */
    uint8_t img[H * S];
    memset(img, 0xee, sizeof img); /* padding bytes must never be read into the crop */
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            img[y * S + x] = (uint8_t)(8 * x + 4 * y);
    uint8_t out[64 * 64];

    /* the whole image at its own size: identity */
    nn_input_spec sp = spec_of(W, H, 1, NN_NORM_UNIT, 0);
    CHECKF(nn_crop_grey_u8(&sp, img, W, H, S, 0, 0, W, H, out) == NN_OK, "identity crop");
    int same = 1;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            same &= out[y * W + x] == img[y * S + x];
    CHECKF(same, "identity crop changed pixels");

    /* halving averages 2x2 blocks: (a, a+8, a+4, a+12) -> a + 6 */
    sp = spec_of(W / 2, H / 2, 1, NN_NORM_UNIT, 0);
    nn_crop_grey_u8(&sp, img, W, H, S, 0, 0, W, H, out);
    int ok = 1;
    for (int y = 0; y < H / 2; y++)
        for (int x = 0; x < W / 2; x++)
            ok &= out[y * (W / 2) + x] == img[2 * y * S + 2 * x] + 6;
    CHECKF(ok, "2x2 area average: got %d want %d", out[0], img[0] + 6);

    /* a half-pixel shift blends neighbours: columns x and x+1 -> mean */
    sp = spec_of(4, 1, 1, NN_NORM_UNIT, 0);
    nn_crop_grey_u8(&sp, img, W, H, S, 2.5f, 3.0f, 4.0f, 1.0f, out);
    for (int x = 0; x < 4; x++)
        CHECKF(out[x] == (img[3 * S + 2 + x] + img[3 * S + 3 + x]) / 2, "sub-pixel x=%d: %d", x,
              out[x]);

    /* a rectangle wholly left of the image replicates column 0 */
    sp = spec_of(3, H, 1, NN_NORM_UNIT, 0);
    nn_crop_grey_u8(&sp, img, W, H, S, -40.0f, 0.0f, 6.0f, (float)H, out);
    ok = 1;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < 3; x++)
            ok &= out[y * 3 + x] == img[y * S];
    CHECKF(ok, "left of the image: edge not replicated");
    /* and one hanging off the bottom-right corner replicates the corner */
    sp = spec_of(2, 2, 1, NN_NORM_UNIT, 0);
    nn_crop_grey_u8(&sp, img, W, H, S, W + 3.0f, H + 5.0f, 4.0f, 4.0f, out);
    CHECKF(out[0] == img[(H - 1) * S + W - 1] && out[3] == out[0], "corner replicate");

    /* upscaling a 2x2 region by 4 reproduces the pixels as blocks */
    sp = spec_of(8, 8, 1, NN_NORM_UNIT, 0);
    nn_crop_grey_u8(&sp, img, W, H, S, 4.0f, 4.0f, 2.0f, 2.0f, out);
    CHECKF(out[0] == img[4 * S + 4] && out[7] == img[4 * S + 5] && out[63] == img[5 * S + 5],
          "upscale blocks");

    /* equalisation spreads a narrow range over 0..255 */
    uint8_t narrow[64];
    for (int i = 0; i < 64; i++)
        narrow[i] = (uint8_t)(100 + i % 8);
    sp = spec_of(8, 8, 1, NN_NORM_UNIT, 1);
    nn_crop_grey_u8(&sp, narrow, 8, 8, 8, 0, 0, 8, 8, out);
    uint8_t lo = 255, hi = 0;
    for (int i = 0; i < 64; i++) {
        lo = out[i] < lo ? out[i] : lo;
        hi = out[i] > hi ? out[i] : hi;
    }
    CHECKF(lo == 0 && hi == 255, "equalised range %d..%d", lo, hi);
    CHECKF(out[1] > out[0] && out[7] > out[6], "equalisation keeps order");
    uint8_t flat[64];
    memset(flat, 77, sizeof flat);
    nn_crop_grey_u8(&sp, flat, 8, 8, 8, 0, 0, 8, 8, out);
    CHECKF(out[0] == 77 && out[63] == 77, "constant image unchanged by equalisation");

    /* normalisations */
    float f[3 * 64];
    sp = spec_of(8, 8, 1, NN_NORM_UNIT, 0);
    nn_normalize_u8(&sp, narrow, f);
    CHECKF(fabsf(f[3] - 103.0f / 255.0f) < 1e-7f, "unit: %g", (double)f[3]);
    sp.norm = NN_NORM_MEANSTD;
    sp.mean = 0.4f;
    sp.std = 0.2f;
    nn_normalize_u8(&sp, narrow, f);
    CHECKF(fabsf(f[3] - (103.0f / 255.0f - 0.4f) / 0.2f) < 1e-5f, "meanstd: %g", (double)f[3]);
    sp.norm = NN_NORM_SAMPLE;
    nn_normalize_u8(&sp, narrow, f);
    double m = 0, v = 0;
    for (int i = 0; i < 64; i++)
        m += f[i];
    m /= 64;
    for (int i = 0; i < 64; i++)
        v += (f[i] - m) * (f[i] - m);
    v /= 64;
    CHECKF(fabs(m) < 1e-5 && fabs(v - 1.0) < 1e-4, "sample: mean %g var %g", m, v);
    /* (x - 103.5) / (std + 1e-6) with std of 100..107 = sqrt(5.25) */
    CHECKF(fabsf(f[0] - (float)(-3.5 / (sqrt(5.25) + 1e-6))) < 1e-5f, "sample value %g",
          (double)f[0]);
    nn_normalize_u8(&sp, flat, f);
    CHECKF(f[0] == 0.0f && isfinite(f[0]), "constant image normalises to 0");

    /* nn_preprocess_grey = crop then normalise, for 1 and 3 channels */
    for (int c = 1; c <= 3; c += 2) {
        nn_input_spec ps = spec_of(8, 8, c, NN_NORM_SAMPLE, 1);
        float a[3 * 64], b[3 * 64];
        CHECKF(nn_preprocess_grey(&ps, img, W, H, S, 1.3f, -2.2f, 11.5f, 9.7f, a) == NN_OK, "pre");
        uint8_t crop[64];
        nn_crop_grey_u8(&ps, img, W, H, S, 1.3f, -2.2f, 11.5f, 9.7f, crop);
        nn_normalize_u8(&ps, crop, b);
        CHECKF(memcmp(a, b, (size_t)c * 64 * sizeof(float)) == 0, "preprocess differs, C=%d", c);
        if (c == 3)
            CHECKF(memcmp(a, a + 64, 64 * sizeof(float)) == 0 &&
                      memcmp(a, a + 128, 64 * sizeof(float)) == 0,
                  "grey replicated to every channel");
    }

    /* the fast separable resize against the exact per-pixel one (taken for
     * images wider than its row buffer): the same bytes, up to rounding */
    {
        enum { BW = 8200, BH = 40 };
        uint8_t *big = malloc((size_t)BW * BH);
        nn_rng rng;
        nn_rng_seed(&rng, 4);
        for (size_t i = 0; i < (size_t)BW * BH; i++)
            big[i] = (uint8_t)nn_rng_below(&rng, 256);
        nn_input_spec cs = spec_of(13, 11, 1, NN_NORM_UNIT, 0);
        int worst = 0, ndiff = 0;
        for (int t = 0; t < 200; t++) {
            float x = -20.0f + 250.0f * nn_rng_uniform(&rng), y = -10.0f + 40.0f * nn_rng_uniform(&rng);
            float w = 0.5f + 30.0f * nn_rng_uniform(&rng), h = 0.5f + 30.0f * nn_rng_uniform(&rng);
            uint8_t a[143], b[143];
            CHECKF(nn_crop_grey_u8(&cs, big, 300, BH, BW, x, y, w, h, a) == NN_OK, "narrow");
            CHECKF(nn_crop_grey_u8(&cs, big, BW, BH, BW, x, y, w, h, b) == NN_OK, "wide");
            for (int i = 0; i < 143; i++) {
                int d = abs(a[i] - b[i]);
                worst = d > worst ? d : worst;
                ndiff += d != 0;
            }
        }
        CHECKF(worst <= 1 && ndiff < 143 * 200 / 100, "separable vs exact: worst %d, %d differ",
              worst, ndiff);
        free(big);
    }

    /* bad arguments are refused, not crashed on */
    sp = spec_of(8, 8, 1, NN_NORM_UNIT, 0);
    CHECKF(nn_crop_grey_u8(&sp, img, W, H, S, 0, 0, 0.0f, 4, out) == NN_ERR_ARG, "zero width");
    CHECKF(nn_crop_grey_u8(&sp, img, W, H, S, NAN, 0, 4, 4, out) == NN_ERR_ARG, "NaN x");
    CHECKF(nn_crop_grey_u8(&sp, img, W, H, 4, 0, 0, 4, 4, out) == NN_ERR_ARG, "stride < width");
    CHECKF(nn_crop_grey_u8(&sp, NULL, W, H, S, 0, 0, 4, 4, out) == NN_ERR_ARG, "NULL image");
    CHECKF(nn_preprocess_grey(&sp, img, 0, H, S, 0, 0, 4, 4, f) == NN_ERR_ARG, "empty image");

    /* crop geometry: identity, then shifted and scaled */
    nn_crop_geometry g = {0.0f, 0.0f, 1.0f};
    float r[4];
    nn_crop_rect(&g, 10, 20, 40, 40, r);
    CHECKF(r[0] == 10 && r[1] == 20 && r[2] == 40 && r[3] == 40, "identity geometry");
    g.dy = 0.25f;
    g.scale = 0.5f;
    nn_crop_rect(&g, 10, 20, 40, 40, r);
    CHECKF(r[0] == 20 && r[1] == 40 && r[2] == 20 && r[3] == 20, "geometry %g %g %g %g",
          (double)r[0], (double)r[1], (double)r[2], (double)r[3]);
    return test_done("preprocess");
}

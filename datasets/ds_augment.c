/* ds_augment.c - seeded random flips, rotations, zooms, shifts and lighting
 * changes of a byte image, for training only. */
#include <math.h>
#include <string.h>

#include "datasets.h"

void ds_augment_defaults(ds_augment_config *cfg)
{
    cfg->flip = 1;
    cfg->rotate_deg = 10.0f;
    cfg->scale = 0.08f;
    cfg->shift = 0.06f;
    cfg->brightness = 0.12f;
    cfg->contrast = 0.25f;
}

static float sym(nn_rng *rng, float a) { return (2.0f * nn_rng_uniform(rng) - 1.0f) * a; }

/* in, out: height x width bytes. */
void ds_augment(const ds_augment_config *cfg, nn_rng *rng, const uint8_t *in, int width, int height,
                uint8_t *out)
{
    /* Always seven draws, whatever is switched off, so the stream of a
     * seeded run does not depend on the configuration's zeros. */
    int flip = nn_rng_uniform(rng) < 0.5f && cfg->flip;
    float ang = sym(rng, cfg->rotate_deg) * 0.017453292519943295f;
    float zoom = 1.0f + sym(rng, cfg->scale);
    float tx = sym(rng, cfg->shift) * (float)width;
    float ty = sym(rng, cfg->shift) * (float)height;
    float bright = sym(rng, cfg->brightness) * 255.0f;
    float contrast = 1.0f + sym(rng, cfg->contrast);

    float mean = 0;
    for (int i = 0; i < width * height; i++)
        mean += in[i];
    mean /= (float)(width * height);

    /* Output pixel p maps back to input c + R(-ang) (p - c - t) / zoom. */
    float cx = 0.5f * (float)(width - 1), cy = 0.5f * (float)(height - 1);
    float ca = cosf(ang) / zoom, sa = sinf(ang) / zoom;
    for (int y = 0; y < height; y++) {
        for (int x = 0; x < width; x++) {
            float px = (float)x - cx - tx, py = (float)y - cy - ty;
            float sx = ca * px + sa * py + cx;
            float sy = -sa * px + ca * py + cy;
            if (flip)
                sx = (float)(width - 1) - sx;
            /* bilinear, edges replicated */
            if (sx < 0) sx = 0;
            if (sy < 0) sy = 0;
            if (sx > (float)(width - 1)) sx = (float)(width - 1);
            if (sy > (float)(height - 1)) sy = (float)(height - 1);
            int x0 = (int)sx, y0 = (int)sy;
            int x1 = x0 + 1 < width ? x0 + 1 : x0, y1 = y0 + 1 < height ? y0 + 1 : y0;
            float fx = sx - (float)x0, fy = sy - (float)y0;
            const uint8_t *r0 = in + (size_t)y0 * (size_t)width, *r1 = in + (size_t)y1 * (size_t)width;
            float v = (1 - fy) * ((1 - fx) * r0[x0] + fx * r0[x1]) + fy * ((1 - fx) * r1[x0] + fx * r1[x1]);
            v = (v - mean) * contrast + mean + bright;
            out[(size_t)y * (size_t)width + (size_t)x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5f);
        }
    }
}

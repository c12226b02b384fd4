/* ds_augment.c - seeded random flips, rotations, zooms, shifts, lighting
 * changes and erased rectangles of a byte image, for training only. */
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
    cfg->erase = 0.0f;
}

static float sym(nn_rng *rng, float a) { return (2.0f * nn_rng_uniform(rng) - 1.0f) * a; }

/* Random erasing (Zhong et al., 2017): with probability p, noise over one
 * rectangle of 2-25 % of the image with aspect 0.3-3.3, so the net cannot
 * rest its decision on a single region. img: height x width bytes. */
static void erase_rect(float p, nn_rng *rng, int width, int height, uint8_t *img)
{
    if (nn_rng_uniform(rng) >= p)
        return;
    float area = (0.02f + 0.23f * nn_rng_uniform(rng)) * (float)width * (float)height;
    float aspect = expf(logf(0.3f) + (logf(3.3f) - logf(0.3f)) * nn_rng_uniform(rng));
    int w = (int)(sqrtf(area * aspect) + 0.5f), h = (int)(sqrtf(area / aspect) + 0.5f);
    if (w < 1) w = 1;
    if (h < 1) h = 1;
    if (w > width) w = width;
    if (h > height) h = height;
    int x0 = (int)(nn_rng_uniform(rng) * (float)(width - w + 1));
    int y0 = (int)(nn_rng_uniform(rng) * (float)(height - h + 1));
    if (x0 > width - w) x0 = width - w;
    if (y0 > height - h) y0 = height - h;
    for (int y = y0; y < y0 + h; y++)
        for (int x = x0; x < x0 + w; x++)
            img[(size_t)y * (size_t)width + (size_t)x] = (uint8_t)(nn_rng_uniform(rng) * 255.999f);
}

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
    if (cfg->erase > 0)
        erase_rect(cfg->erase, rng, width, height, out);
}

/* nn_preprocess.c - from a grey frame and a face rectangle to network input:
 * area-averaging crop/resize, optional histogram equalisation, normalisation. */
#include <math.h>
#include <string.h>

#include "nn_internal.h"

void nn_crop_rect(const nn_crop_geometry *g, float x, float y, float w, float h, float rect[4])
{
    float side = w * g->scale;
    float cx = x + w * (0.5f + g->dx), cy = y + h * (0.5f + g->dy);
    rect[0] = cx - 0.5f * side;
    rect[1] = cy - 0.5f * side;
    rect[2] = side;
    rect[3] = side;
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* OpenCV's equalizeHist: lut = round((cdf - cdf_min) * 255 / (n - cdf_min)) */
static void equalize(uint8_t *p, size_t n)
{
    uint32_t hist[256] = {0};
    for (size_t i = 0; i < n; i++)
        hist[p[i]]++;
    int first = 0;
    while (first < 255 && hist[first] == 0)
        first++;
    if (hist[first] == n)
        return; /* one grey level: nothing to spread */
    double scale = 255.0 / (double)(n - hist[first]);
    uint8_t lut[256];
    uint64_t cdf = 0;
    for (int v = 0; v < 256; v++) {
        cdf += hist[v];
        double m = v < first ? 0.0 : (double)(cdf - hist[first]) * scale;
        lut[v] = (uint8_t)clampi((int)lrint(m), 0, 255);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = lut[p[i]];
}

/* The exact area average, pixel by pixel: the reference, and the path for
 * images wider than the separable path's row buffer. */
static void crop_direct(int OW, int OH, const uint8_t *grey, int width, int height, int stride,
                        double rx, double ry, double sx, double sy, uint8_t *out)
{
    for (int oy = 0; oy < OH; oy++) {
        /* source interval [y0, y1) of this output row; pixel i covers [i, i+1) */
        double y0 = ry + oy * sy, y1 = y0 + sy;
        int iy0 = (int)floor(y0), iy1 = (int)ceil(y1);
        for (int ox = 0; ox < OW; ox++) {
            double x0 = rx + ox * sx, x1 = x0 + sx;
            int ix0 = (int)floor(x0), ix1 = (int)ceil(x1);
            double acc = 0.0;
            for (int iy = iy0; iy < iy1; iy++) {
                double wy = fmin(y1, iy + 1.0) - fmax(y0, (double)iy);
                if (wy <= 0.0)
                    continue;
                const uint8_t *row = grey + (size_t)clampi(iy, 0, height - 1) * stride;
                double racc = 0.0;
                for (int ix = ix0; ix < ix1; ix++) {
                    double wx = fmin(x1, ix + 1.0) - fmax(x0, (double)ix);
                    if (wx > 0.0)
                        racc += wx * row[clampi(ix, 0, width - 1)];
                }
                acc += wy * racc;
            }
            double v = acc / (sx * sy);
            out[(size_t)oy * OW + ox] = (uint8_t)clampi((int)lrint(v), 0, 255);
        }
    }
}

#define NN_CROP_MAX_COLS 8192

/* Separable: each output row first sums its source rows (weighted by their
 * vertical overlap) into a row buffer of the source columns it needs, then
 * each output pixel sums that buffer over its horizontal overlap. Same
 * result as crop_direct (up to rounding), several times faster. */
static void crop_separable(int OW, int OH, const uint8_t *grey, int width, int height,
                           int stride, double rx, double ry, double sx, double sy, uint8_t *out)
{
    /* source columns the rectangle touches, clamped into the image */
    int cx0 = clampi((int)floor(rx), 0, width - 1);
    int cx1 = clampi((int)ceil(rx + sx * OW), cx0 + 1, width);
    int ncols = cx1 - cx0;
    float racc[NN_CROP_MAX_COLS];
    for (int oy = 0; oy < OH; oy++) {
        double y0 = ry + oy * sy, y1 = y0 + sy;
        int iy0 = (int)floor(y0), iy1 = (int)ceil(y1);
        memset(racc, 0, (size_t)ncols * sizeof(float));
        for (int iy = iy0; iy < iy1; iy++) {
            float wy = (float)(fmin(y1, iy + 1.0) - fmax(y0, (double)iy));
            if (wy <= 0.0f)
                continue;
            const uint8_t *row = grey + (size_t)clampi(iy, 0, height - 1) * stride + cx0;
            for (int j = 0; j < ncols; j++)
                racc[j] += wy * (float)row[j];
        }
        for (int ox = 0; ox < OW; ox++) {
            double x0 = rx + ox * sx, x1 = x0 + sx;
            int ix0 = (int)floor(x0), ix1 = (int)ceil(x1);
            double acc = 0.0;
            for (int ix = ix0; ix < ix1; ix++) {
                double wx = fmin(x1, ix + 1.0) - fmax(x0, (double)ix);
                if (wx > 0.0)
                    acc += wx * racc[clampi(ix, cx0, cx1 - 1) - cx0];
            }
            double v = acc / (sx * sy);
            out[(size_t)oy * OW + ox] = (uint8_t)clampi((int)lrint(v), 0, 255);
        }
    }
}

nn_status nn_crop_grey_u8(const nn_input_spec *spec, const uint8_t *grey, int width, int height,
                          int stride, float rx, float ry, float rw, float rh, uint8_t *out)
{
    if (!spec || !grey || !out || width < 1 || height < 1 || stride < width || spec->width < 1 ||
        spec->height < 1 || !(rw > 0.0f) || !(rh > 0.0f) || !isfinite(rx) || !isfinite(ry) ||
        !isfinite(rw) || !isfinite(rh) || fabsf(rx) > 1e6f || fabsf(ry) > 1e6f || rw > 1e6f ||
        rh > 1e6f)
        return NN_ERR_ARG;
    int OW = spec->width, OH = spec->height;
    double sx = (double)rw / OW, sy = (double)rh / OH;
    if (width <= NN_CROP_MAX_COLS)
        crop_separable(OW, OH, grey, width, height, stride, rx, ry, sx, sy, out);
    else
        crop_direct(OW, OH, grey, width, height, stride, rx, ry, sx, sy, out);
    if (spec->equalize)
        equalize(out, (size_t)OW * OH);
    return NN_OK;
}

/* in and out may overlap as nn_preprocess_grey arranges: in sits in the last
 * quarter of out's bytes, and out[i] is written only after in[i] is read. */
static void normalize_plane(const nn_input_spec *spec, const uint8_t *in, float *out, size_t n)
{
    float a = 1.0f, b = 0.0f; /* out = in * a + b */
    switch (spec->norm) {
    case NN_NORM_UNIT: a = 1.0f / 255.0f; break;
    case NN_NORM_SAMPLE: {
        double s = 0.0, ss = 0.0;
        for (size_t i = 0; i < n; i++)
            s += in[i];
        double mean = s / (double)n;
        for (size_t i = 0; i < n; i++)
            ss += (in[i] - mean) * (in[i] - mean);
        double sd = sqrt(ss / (double)n); /* numpy's std: population */
        a = (float)(1.0 / (sd + 1e-6));
        b = (float)(-mean / (sd + 1e-6));
        break;
    }
    case NN_NORM_MEANSTD:
        a = 1.0f / (255.0f * spec->std);
        b = -spec->mean / spec->std;
        break;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t v = in[i];
        out[i] = (float)v * a + b;
    }
}

void nn_normalize_u8(const nn_input_spec *spec, const uint8_t *in, float *out)
{
    size_t n = (size_t)spec->width * spec->height;
    normalize_plane(spec, in, out, n);
    for (int c = 1; c < spec->channels; c++)
        memcpy(out + (size_t)c * n, out, n * sizeof(float));
}

nn_status nn_preprocess_grey(const nn_input_spec *spec, const uint8_t *grey, int width, int height,
                             int stride, float rx, float ry, float rw, float rh, float *out)
{
    if (!spec || !out || spec->channels < 1)
        return NN_ERR_ARG;
    /* the bytes of the crop go into the tail of out, so nothing is allocated */
    size_t n = (size_t)spec->width * spec->height;
    uint8_t *bytes = (uint8_t *)out + 4 * n * (size_t)spec->channels - n;
    nn_status st = nn_crop_grey_u8(spec, grey, width, height, stride, rx, ry, rw, rh, bytes);
    if (st)
        return st;
    nn_normalize_u8(spec, bytes, out);
    return NN_OK;
}

/* face_frames.c - compose the detector-agreement frames (see face_frames.h). */
#include "face_frames.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_io.h"

/* The layouts: photo sides in pixels (the face is about 0.44 of the side). */
static const int layout_side[4][5] = {
    {360, 100, 0, 0, 0},
    {200, 200, 200, 0, 0},
    {240, 240, 0, 0, 0},
    {140, 140, 140, 140, 100},
};

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* Line i (1-based data line) of lfw-expressions/labels.csv: its file column. */
static int lfw_file(const char *datasets, int line, char *out, size_t outlen)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/lfw-expressions/labels.csv", datasets);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char buf[512];
    int i = 0, ok = -1;
    while (fgets(buf, sizeof buf, f)) {
        if (i++ == line) {
            char *comma = strchr(buf, ',');
            if (comma) {
                *comma = 0;
                snprintf(out, outlen, "%s/lfw-expressions/%s", datasets, buf);
                ok = 0;
            }
            break;
        }
    }
    fclose(f);
    return ok;
}

/* Bilinear resample of src (sw x sh) to a side x side square at (px, py). */
static void paste(uint8_t *frame, const uint8_t *src, int sw, int sh, int sstride, int px, int py,
                  int side)
{
    for (int y = 0; y < side; y++) {
        float fy = (y + 0.5f) * (float)sh / side - 0.5f;
        int y0 = (int)floorf(fy);
        float ay = fy - y0;
        int ya = y0 < 0 ? 0 : y0, yb = y0 + 1 >= sh ? sh - 1 : y0 + 1;
        if (ya >= sh)
            ya = sh - 1;
        for (int x = 0; x < side; x++) {
            float fx = (x + 0.5f) * (float)sw / side - 0.5f;
            int x0 = (int)floorf(fx);
            float ax = fx - x0;
            int xa = x0 < 0 ? 0 : x0, xb = x0 + 1 >= sw ? sw - 1 : x0 + 1;
            if (xa >= sw)
                xa = sw - 1;
            float v = (1 - ay) * ((1 - ax) * src[ya * sstride + xa] + ax * src[ya * sstride + xb]) +
                      ay * ((1 - ax) * src[yb * sstride + xa] + ax * src[yb * sstride + xb]);
            int X = px + x, Y = py + y;
            if (X >= 0 && X < FF_W && Y >= 0 && Y < FF_H)
                frame[Y * FF_W + X] = (uint8_t)(v + 0.5f);
        }
    }
}

int ff_compose(const char *datasets, int k, uint8_t *frame, char *err, size_t errlen)
{
    uint32_t seed = 12345u + 7919u * (uint32_t)k;
    for (int y = 0; y < FF_H; y++)
        for (int x = 0; x < FF_W; x++) {
            float v = 70 + x * 0.12f + y * 0.1f + 12 * sinf(x * 0.05f + k) * cosf(y * 0.04f);
            frame[y * FF_W + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    const int *sides = layout_side[k % 4];
    int n = 0;
    while (n < 5 && sides[n])
        n++;
    /* place left to right in one band, with jitter */
    int total = 0;
    for (int i = 0; i < n; i++)
        total += sides[i];
    int gap = (FF_W - total) / (n + 1);
    int x = gap;
    for (int i = 0; i < n; i++) {
        int side = sides[i];
        int slack_y = FF_H - side;
        int y = slack_y > 0 ? (int)(lcg(&seed) % (uint32_t)slack_y) : 0;
        int jx = gap > 8 ? (int)(lcg(&seed) % (uint32_t)(gap / 2)) - gap / 4 : 0;
        img_image im;
        if (ff_lfw_photo(datasets, 1 + (k * 5 + i) * 61 % 12758, &im, err, errlen) != 0)
            return -1;
        paste(frame, im.pixels, im.width, im.height, im.stride, x + jx, y, side);
        img_image_free(&im);
        x += side + gap;
    }
    return 0;
}

int ff_lfw_photo(const char *datasets, int line, img_image *im, char *err, size_t errlen)
{
    char path[1200];
    if (lfw_file(datasets, line, path, sizeof path) != 0) {
        snprintf(err, errlen, "%s/lfw-expressions/labels.csv: cannot read line %d", datasets, line);
        return -1;
    }
    if (img_load(path, 1, im, err, errlen) != IMG_OK)
        return -1;
    return 0;
}

int ff_write_pgm(const char *path, const uint8_t *img, int w, int h, int stride)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    fprintf(f, "P5\n%d %d\n255\n", w, h);
    for (int y = 0; y < h; y++)
        fwrite(img + (size_t)y * stride, 1, (size_t)w, f);
    return fclose(f) == 0 ? 0 : -1;
}

uint8_t *ff_read_pgm(const char *path, int *w, int *h)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    int maxv;
    uint8_t *p = NULL;
    if (fscanf(f, "P5 %d %d %d", w, h, &maxv) == 3 && maxv == 255 && *w > 0 && *h > 0 &&
        *w < 100000 && *h < 100000 && fgetc(f) != EOF) {
        p = malloc((size_t)*w * (size_t)*h);
        if (p && fread(p, 1, (size_t)*w * (size_t)*h, f) != (size_t)*w * (size_t)*h) {
            free(p);
            p = NULL;
        }
    }
    fclose(f);
    return p;
}

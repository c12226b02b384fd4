/* test_helpers.h - tiny assertion macros and synthetic data for the score suite. */
#ifndef SCORE_TEST_HELPERS_H
#define SCORE_TEST_HELPERS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_io.h"

#include "../test_check.h"

/* A grey frame whose content depends on its number, as JPEG. */
static inline uint8_t *test_jpeg_frame(int n, int w, int h, size_t *size) {
    uint8_t *px = malloc((size_t)w * h);
    if (!px) return NULL;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            px[(size_t)y * w + x] = (uint8_t)((x * 3 + y * 2 + n * 17) & 0xff);
    /* a block that moves with n, so frames differ visibly */
    for (int y = 0; y < h / 4; y++)
        for (int x = 0; x < w / 4; x++) px[(size_t)(y + (n * 5) % (h / 2)) * w + x + w / 2] = 255;
    uint8_t *jpeg = NULL;
    if (img_jpeg_encode(px, w, h, w, 1, 80, &jpeg, size) != IMG_OK) jpeg = NULL;
    free(px);
    return jpeg;
}

static inline char *test_tmpdir(void) {
    static char dir[256];
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%s/smile-score-test-XXXXXX", base && base[0] ? base : "/tmp");
    return mkdtemp(dir);
}

static inline uint8_t *test_read_file(const char *path, size_t *size) {
    *size = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    if (b && fread(b, 1, (size_t)n, fp) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(fp);
    *size = (size_t)n;
    return b;
}

static inline int test_write_file(const char *path, const void *data, size_t size) {
    FILE *fp = fopen(path, "wb");
    if (!fp) return -1;
    int ok = fwrite(data, 1, size, fp) == size;
    return (fclose(fp) == 0 && ok) ? 0 : -1;
}

#endif

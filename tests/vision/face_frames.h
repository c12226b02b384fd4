/* face_frames.h - deterministic 640x480 test frames built from real faces
 * (lfw-expressions whole photos pasted at several scales on a synthetic
 * background), so only OpenCV's boxes need committing, never the images. */
#ifndef FACE_FRAMES_H
#define FACE_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "image_io.h"

#define FF_W 640
#define FF_H 480
#define FF_COUNT 32

/* Compose frame k (0 <= k < FF_COUNT) into frame[FF_H * FF_W] from the
 * datasets folder. Returns 0, or -1 with a message (missing data). */
int ff_compose(const char *datasets, int k, uint8_t *frame, char *err, size_t errlen);

/* The grey photo on data line `line` (1-based) of lfw-expressions/labels.csv.
 * Returns 0, or -1 with a message. */
int ff_lfw_photo(const char *datasets, int line, img_image *im, char *err, size_t errlen);

/* Write a grey image as binary PGM; returns 0 or -1. */
int ff_write_pgm(const char *path, const uint8_t *img, int w, int h, int stride);
/* Read a binary PGM into a malloc'd buffer (stride = w); returns NULL on error. */
uint8_t *ff_read_pgm(const char *path, int *w, int *h);

#endif

/* face_detect.h - Viola-Jones face detection on OpenCV's Haar cascades,
 * giving the same boxes as OpenCV 4.6's CascadeClassifier::detectMultiScale
 * (image pyramid resized with INTER_LINEAR_EXACT, 24x24 windows stepped
 * by 2 below scale 2 and by 1 above, variance normalisation over the inner
 * (w-2)x(h-2) window, groupRectangles with eps 0.2, clipped to the image).
 *
 * On x86-64 CPUs with AVX2 a stump cascade is evaluated 8 windows at a time
 * with the same float/double operations, so results stay bit-identical (set
 * FACE_DETECT_SCALAR=1 in the environment to force the portable path).
 *
 * Ownership: a detector owns its cascade and its work buffers; buffers grow
 * to the largest frame seen, so after the first frame of a given size a call
 * does not allocate. Threading: one detector per thread. */
#ifndef FACE_DETECT_H
#define FACE_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "face_pipeline.h"
#include "haar_cascade.h"

typedef struct {
    int x, y, w, h;
    int neighbors; /* raw windows grouped into this box */
} face_rect;

typedef struct {
    float scale_factor; /* > 1, e.g. 1.1 */
    int min_neighbors;  /* groupRectangles threshold; 0 returns raw windows */
    int min_w, min_h;   /* smallest box searched (pixels) */
    int max_w, max_h;   /* 0: the image size */
} face_detect_params;

/* scale 1.1, min_neighbors 3, no size limits: OpenCV's defaults. */
void face_detect_params_defaults(face_detect_params *p);

typedef struct face_detector face_detector;

/* cascade_path NULL: FACE_DEFAULT_CASCADE. A missing or malformed file gives
 * FACE_ERR_CASCADE and a message naming it and the opencv-data package. */
face_status face_detector_new(const char *cascade_path, face_detector **out, char *err,
                              size_t errlen);
void face_detector_free(face_detector *d);
const haar_cascade *face_detector_cascade(const face_detector *d);

/* Detect faces in a grey image. Writes at most max_out boxes (largest first)
 * and returns how many were found (may exceed max_out), or -1 on bad
 * arguments (NULL, sizes <= 0, stride < width, images over 2^28 pixels) or
 * when a buffer cannot be allocated. */
int face_detect(face_detector *d, const uint8_t *grey, int width, int height, int stride,
                const face_detect_params *p, face_rect *out, int max_out);

/* out[(height + 2*my) x (width + 2*mx)], rows of width + 2*mx bytes: grey
 * inside a border of mx columns and my rows that repeats its nearest edge
 * pixel. A face that fills an image gets the margin the cascade's windows
 * need, and the border matches how crops clamp at the edge (nn_preprocess). */
void face_pad_edges(const uint8_t *grey, int width, int height, int stride, int mx, int my,
                    uint8_t *out);

/* Drops the boxes that a stronger box (more raw windows grouped, then the
 * larger) already explains, keeping the others in their order, and returns
 * how many are left. face_detect matches OpenCV, which keeps two kinds of
 * box a viewer sees as wrong; of 1,601 boxes on 1,500 LFW photos, 41 were:
 *  - the same face found twice: a box shifted or a size off, overlapping
 *    the stronger one by half of the smaller box's area or more;
 *  - a chin, neck or tie under a face: a smaller box whose centre is below
 *    the face's centre, within 0.3 of its width sideways, and whose top is
 *    above the face's bottom.
 * A second person beside or behind overlaps less and is kept (none of the
 * 41 was a face of its own). Only the first FACE_SUPPRESS_MAX boxes are
 * compared; any after them are kept as they are. r NULL or n <= 0: 0. */
#define FACE_SUPPRESS_MAX 256
int face_rects_suppress(face_rect *r, int n);

/* Pre-size the candidate list so later frames do not allocate. 0 or -1. */
int face_detector_reserve(face_detector *d, int max_candidates);

/* Windows evaluated by the last call (for benchmarks). */
long face_detector_windows(const face_detector *d);

/* The detector settings of a full scan under cfg: what the pipeline runs on
 * a whole frame, and what training runs on whole photos to cut the same boxes. */
void face_config_detect_params(const face_config *cfg, face_detect_params *p);

#endif /* FACE_DETECT_H */

/* face_pipeline.h - from a grey frame to scored, tracked faces.
 *
 * One call a frame: detect faces (our Viola-Jones on OpenCV's Haar cascade),
 * associate them with tracks by IoU, cut each face with the model's crop
 * geometry, run the CNN once per face, and smooth each track's score with an
 * exponential moving average whose time constant is in seconds.
 *
 * Ownership: the pipeline borrows the nn_net (it must outlive the pipeline)
 * and owns everything else. Results go into caller-owned arrays.
 * Threading: a pipeline belongs to one thread; several pipelines may share
 * one nn_net. After the first frames (warm-up) no call allocates.
 * Errors: constructors return face_status with a message in err (a missing
 * or malformed cascade names the file and Debian's opencv-data package);
 * per-frame calls return -1 on bad input and face_pipeline_error() says why.
 * Bad frames (NULL, sizes <= 0, stride < width, over 2^28 pixels) never
 * crash. A face's score is the sigmoid output, or for a softmax model the
 * probability of class 1 ("smiling"); -1 without a model.
 * Speed: the whole frame is scanned when something changed outside the
 * tracked faces or every full_scan_interval frames; otherwise only near
 * each track (see vision/README.md). */
#ifndef FACE_PIPELINE_H
#define FACE_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"

typedef enum {
    FACE_OK = 0,
    FACE_ERR_ARG,
    FACE_ERR_NOMEM,
    FACE_ERR_CASCADE, /* cascade file missing or malformed: the message names it and the package */
    FACE_ERR_MODEL,
} face_status;

/* Debian's opencv-data package puts it here. */
#define FACE_DEFAULT_CASCADE "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"

typedef struct {
    const char *cascade_path; /* NULL: FACE_DEFAULT_CASCADE */
    float scale_factor;       /* 1.1 */
    int min_neighbors;        /* 5: OpenCV's groupRectangles threshold */
    int min_face;             /* smallest face side searched, input pixels (30) */
    int max_face;             /* 0: no limit */
    int full_scan_interval;   /* frames between full-frame scans (1 = every frame) */
    float smoothing_tau_s;    /* EMA time constant in seconds */
    float score_interval_s;   /* 0: run the CNN on every face every frame; else a
                                 track is rescored once this long has passed since
                                 its last score (new tracks at once) and keeps its
                                 last score in between */
    int max_missed_frames;    /* a track survives this many frames unseen */
} face_config;

void face_config_defaults(face_config *cfg);

typedef struct {
    float x, y, w, h;  /* face box in frame pixels */
    int track_id;      /* stable across frames; index in a still */
    float score;       /* the CNN's smile probability this frame (-1: no model) */
    float smoothed;    /* EMA of score; equals score for stills */
    int missed;        /* frames since last detected (0 = seen this frame) */
} face_result;

typedef struct face_pipeline face_pipeline;

/* model may be NULL: detect and track only. err receives the reason. */
face_status face_pipeline_new(const face_config *cfg, const nn_net *model, face_pipeline **out,
                              char *err, size_t errlen);
void face_pipeline_free(face_pipeline *fp);

/* A video frame at time t_s. Returns the number of faces written to out
 * (at most max_out), or -1 on bad arguments. */
int face_pipeline_process(face_pipeline *fp, const uint8_t *grey, int width, int height,
                          int stride, double t_s, face_result *out, int max_out);

/* A still image: a full scan, no tracking, smoothed == score. A photo that
 * the face fills (a passport photo, a data set's crop) has no margin for the
 * cascade's windows; when nothing is found, the photo is scanned again
 * inside a border that repeats its edge pixels, for faces of at least half
 * its shorter side. Such a face's box may reach past the photo's edges.
 * When that finds nothing either, the photo is searched turned 25 degrees
 * each way (heads tilted past the cascade's 15), and a face found so is
 * scored upright; its box is the upright box centred on the face. The first
 * such photo of a size allocates the scratch copy. */
int face_pipeline_process_still(face_pipeline *fp, const uint8_t *grey, int width, int height,
                                int stride, face_result *out, int max_out);

/* Forget all tracks (a new video or a camera switch). */
void face_pipeline_reset(face_pipeline *fp);

/* The crop every caller uses: the model's geometry applied to a face box
 * (the same arithmetic as nn_crop_rect, which it calls). */
void face_crop_rect(const nn_crop_geometry *g, float x, float y, float w, float h, float *rx,
                    float *ry, float *rw, float *rh);

/* The network input for one face box (bx, by, bw, bh) of a grey frame:
 * face_crop_rect with spec->crop, then nn_preprocess_grey into
 * out[channels * height * width]. The app, smile-score and smile-train all
 * go through this, so their crops are identical. No allocation. */
face_status face_crop_input(const nn_input_spec *spec, const uint8_t *grey, int width, int height,
                            int stride, float bx, float by, float bw, float bh, float *out);

/* Why the last call failed ("" if it did not). */
const char *face_pipeline_error(const face_pipeline *fp);

/* The network input of the last processed frame's scored faces, n * C*H*W
 * floats in the order of the results (with score_interval_s, only the faces
 * rescored that frame; NULL without a model). For tests. */
const float *face_pipeline_last_input(const face_pipeline *fp, int *n);

typedef struct {
    long frames;      /* face_pipeline_process calls that ran */
    long full_scans;  /* frames scanned in full */
    long local_scans; /* track-neighbourhood scans */
    long windows;     /* cascade windows evaluated */
    long scored;      /* faces the CNN scored */
} face_pipeline_stats;

void face_pipeline_get_stats(const face_pipeline *fp, face_pipeline_stats *st);

#endif /* FACE_PIPELINE_H */

/* app_frame.h - what the worker hands the UI for one video frame: the pixels
 * ready for cairo, the scored faces, and when the frame arrived.
 *
 * Frames live in a small pool (app_worker.c); the latest-frame-wins slot
 * passes one at a time from the worker to the UI thread. */
#ifndef APP_FRAME_H
#define APP_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "face_pipeline.h"

#define APP_MAX_FACES 16

typedef struct {
    int width, height;
    int stride;         /* bytes a row of pixels */
    uint32_t *pixels;   /* CAIRO_FORMAT_RGB24 (xRGB in native endianness) */
    int mirrored;       /* pixels are stored flipped left-right (face boxes are not) */
    size_t capacity;    /* bytes allocated for pixels */
    face_result faces[APP_MAX_FACES];
    int n_faces;
    int main_face;      /* index of the largest face, -1 if none */
    int has_scores;     /* a model scored these faces */
    int64_t arrival_us; /* g_get_monotonic_time() when the frame left the camera queue */
    int64_t seq;        /* frames handed to the UI since the source opened */
    double t_s;         /* source time stamp */
} app_frame;

/* Makes room for a width x height frame; 0 on success, -1 out of memory. */
int app_frame_reserve(app_frame *f, int width, int height);
void app_frame_clear(app_frame *f);

/* The largest face that was seen this frame (missed == 0), else the largest. */
int app_frame_pick_main(const face_result *faces, int n);

#endif

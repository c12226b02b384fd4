/* score_annotate.h - draws face boxes and smoothed scores on an RGB frame
 * (cairo) and encodes it as JPEG for the --annotate AVI. One annotator per
 * thread: it keeps its drawing surface between frames. */
#ifndef SCORE_ANNOTATE_H
#define SCORE_ANNOTATE_H

#include <stddef.h>
#include <stdint.h>

#include "face_pipeline.h"

typedef struct sc_annotator sc_annotator;

sc_annotator *sc_annotator_new(void);
void sc_annotator_free(sc_annotator *a);

/* rgb: width x height, 3 bytes a pixel, rows packed; drawn on in place.
 * Faces with missed > 0 are not drawn. *jpeg is malloc'd (free() it);
 * on failure it is NULL and -1 is returned. */
int sc_annotate(sc_annotator *a, uint8_t *rgb, int width, int height, const face_result *faces,
                int n, float threshold, uint8_t **jpeg, size_t *jpeg_size);

#endif /* SCORE_ANNOTATE_H */

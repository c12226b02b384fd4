/* haar_cascade.h - OpenCV's trained Haar cascades (the XML of Debian's
 * opencv-data), read at run time with GLib's GMarkup and flattened into
 * arrays the detector walks without pointer chasing.
 *
 * Supported: "BOOST" stage type; "HAAR" features (upright; tilted features
 * are refused with a message) with stumps or small trees (alt2's two-node
 * trees); "LBP" features (multi-block LBP, 256 categories, stumps whose
 * node holds an 8-word category subset), as lbpcascade_frontalface*.xml.
 * Errors: HAAR_ERR_* plus a message naming the file, the line and, for a
 * missing file, the Debian package that ships it. Never aborts. */
#ifndef HAAR_CASCADE_H
#define HAAR_CASCADE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    HAAR_OK = 0,
    HAAR_ERR_ARG,
    HAAR_ERR_NOMEM,
    HAAR_ERR_IO,     /* cannot read the file (message says install opencv-data) */
    HAAR_ERR_FORMAT, /* not a cascade, malformed, or of a kind we do not evaluate */
} haar_status;

/* One rectangle of a feature, in window pixels, with its weight. */
typedef struct {
    int x, y, w, h;
    float weight;
} haar_rect;

typedef struct {
    haar_rect r[3]; /* unused rectangles have weight 0 and size 0 */
    int nrects;
} haar_feature;

/* A tree node: the feature value (scaled by the window's variance norm)
 * compared with threshold picks left or right; a child <= 0 is leaf -child. */
typedef struct {
    int feature;
    float threshold;
    int left, right;
} haar_node;

typedef struct {
    int ntrees;
    int first_tree;  /* index into trees */
    float threshold; /* already lowered by OpenCV's 1e-5 */
} haar_stage;

typedef struct {
    int first_node; /* into nodes */
    int first_leaf; /* into leaves */
    int nnodes;
} haar_tree;

typedef struct {
    char *path;
    int win_w, win_h;
    int nstages, ntrees, nnodes, nleaves, nfeatures;
    int stumps_only; /* every tree is one node (the default cascade) */
    int lbp;         /* LBP features: r[0] is the block, subsets hold 8 words per node */
    int32_t *subsets;
    int nsubsets; /* words in subsets */
    haar_stage *stages;
    haar_tree *trees;
    haar_node *nodes;
    float *leaves;
    haar_feature *features;
} haar_cascade;

/* path NULL: the default frontal-face cascade of opencv-data. */
haar_status haar_cascade_load(const char *path, haar_cascade **out, char *err, size_t errlen);
/* The same from XML text in memory; origin names it in messages. */
haar_status haar_cascade_parse(const char *xml, size_t len, const char *origin, haar_cascade **out,
                               char *err, size_t errlen);
void haar_cascade_free(haar_cascade *c);

#endif /* HAAR_CASCADE_H */

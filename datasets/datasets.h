/* datasets.h - readers for the training sets, their fixed splits, augmentation.
 *
 * Every reader cuts each image to the model's input (nn_crop_rect of the
 * model's crop geometry on where the face is, then nn_crop_grey_u8: the same
 * two steps as the app) and keeps it as bytes:
 * normalisation happens per batch with nn_normalize_u8, so a dataset of tens
 * of thousands of faces stays a few tens of megabytes.
 *
 * Kinds (see datasets/README.md for the layouts and the split rules):
 *   smiles   SMILEsmileD: PATH/SMILEs/{positives/positives7,negatives/negatives7}/N.jpg
 *   happy    Happy House: PATH/{x,y}_{train,test}.npy
 *   mnist    MNIST IDX:   PATH/{train,test}-{images-idx3,labels-idx1}-ubyte
 *   folders  PATH/CLASS/IMAGE.jpg|png, or PATH/{train,test}/CLASS/IMAGE
 *
 * Errors: functions return a ds_status and write "PATH: reason" into err.
 * Nothing here exits or aborts. A corrupt image inside a dataset is reported
 * with its path and skipped (counted in ds_set.n_skipped) unless strict. */
#ifndef DATASETS_H
#define DATASETS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nn.h"

typedef enum {
    DS_OK = 0,
    DS_ERR_ARG,    /* bad argument (unknown kind, bad option text) */
    DS_ERR_IO,     /* a file or folder cannot be opened or read */
    DS_ERR_FORMAT, /* malformed dataset file (npy header, IDX sizes, layout) */
    DS_ERR_IMAGE,  /* a corrupt image, fatal because strict was asked for */
    DS_ERR_NOMEM,
    DS_ERR_FACE,   /* the face detector could not be set up */
} ds_status;

const char *ds_status_str(ds_status st);

/* ------------------------------------------------------------ raw files */

/* A NumPy .npy array (format 1.0, 2.0 or 3.0), converted to C order. */
typedef enum { DS_DT_U8, DS_DT_I8, DS_DT_I16, DS_DT_I32, DS_DT_I64, DS_DT_F32, DS_DT_F64 } ds_dtype;

typedef struct {
    ds_dtype dtype;
    int ndim;
    int64_t shape[8];
    size_t count; /* product of shape */
    void *data;   /* count elements of dtype, native byte order, C order */
} ds_npy;

ds_status ds_npy_read(const char *path, ds_npy *out, char *err, size_t errlen);
/* The same from memory; origin names it in messages. */
ds_status ds_npy_parse(const uint8_t *buf, size_t size, const char *origin, ds_npy *out, char *err,
                       size_t errlen);
void ds_npy_free(ds_npy *a);
/* Element i as a double / int64 whatever the dtype. */
double ds_npy_get(const ds_npy *a, size_t i);

/* An MNIST IDX file: unsigned bytes only (type 0x08), big-endian dims. */
typedef struct {
    int ndim;
    uint32_t dims[4];
    size_t count;
    uint8_t *data;
} ds_idx;

ds_status ds_idx_read(const char *path, ds_idx *out, char *err, size_t errlen);
ds_status ds_idx_parse(const uint8_t *buf, size_t size, const char *origin, ds_idx *out, char *err,
                       size_t errlen);
void ds_idx_free(ds_idx *a);

/* ------------------------------------------------------------ datasets */

typedef enum { DS_SMILES = 0, DS_HAPPY, DS_MNIST, DS_FOLDERS, DS_KIND_COUNT } ds_kind;

const char *ds_kind_name(ds_kind k);
ds_status ds_kind_from_name(const char *name, ds_kind *k);
/* Classes a kind yields: 10 for mnist, 2 (0 = not smiling, 1 = smiling) for the rest. */
int ds_kind_classes(ds_kind k);

enum { DS_TRAIN = 0, DS_TEST = 1 };
enum { DS_LOAD_TRAIN = 1, DS_LOAD_TEST = 2, DS_LOAD_ALL = 3 };

#define DS_MAX_POSITIVES 16

/* One data source: "KIND[,option...]:PATH" on the command line, where the
 * options are "detect" (find the face with the face pipeline: whole photos),
 * "box=X/Y/W/H" (where the face detector's box falls on these images, as
 * fractions of the image side), "positive=NAME+NAME" (folder names that
 * mean smiling) and "limit=N" (at most N images per split and class). */
typedef struct {
    ds_kind kind;
    char path[4096];
    int detect;
    int has_box;
    float box[4];
    int limit;       /* "limit=N": at most N images per split and class (0: all) */
    int n_positives; /* 0: the default list */
    char positives[DS_MAX_POSITIVES][64];
} ds_source;

ds_status ds_source_parse(const char *text, ds_source *out, char *err, size_t errlen);
/* NAME[,NAME...] into src's positive folder names. */
ds_status ds_source_set_positives(ds_source *src, const char *list, char *err, size_t errlen);
/* Whether a folder name counts as smiling for this source. */
int ds_source_is_positive(const ds_source *src, const char *folder);
/* The default face box of a kind: where the face detector's box falls on
 * average on that dataset's images, as fractions (x, y, w, h). */
void ds_default_box(const ds_source *src, float box[4]);

/* Finds the face to cut in a whole photo: writes the box (x, y, w, h) in
 * pixels and returns 1, or returns 0 when there is no face. */
typedef int (*ds_detect_fn)(void *ctx, const uint8_t *grey, int width, int height, int stride,
                            float box[4]);

typedef struct {
    const nn_input_spec *spec; /* target size and crop geometry (the model's) */
    int splits;                /* DS_LOAD_* */
    int strict;                /* a corrupt image is fatal */
    FILE *log;                 /* warnings about skipped images; NULL: quiet */
    ds_detect_fn detect;       /* required for sources with "detect" */
    void *detect_ctx;
    int max_per_split;         /* 0: all; else keep the first N of each split (tests) */
    int keep_names;            /* fill ds_set.names (for per-image reports) */
} ds_load_options;

/* Images of one size (spec->width x spec->height bytes each). */
typedef struct {
    int n, cap;
    int width, height;
    int n_classes;
    uint8_t *pixels; /* n * width * height */
    int *labels;     /* n */
    uint8_t *split;  /* n: DS_TRAIN or DS_TEST */
    uint32_t *group; /* n: person hash where known (split by person), else 0 */
    char **names;    /* n (NULL unless loaded with keep_names): the image's file,
                      * or ARRAY[i] for an image inside an array file */
    int n_skipped;   /* corrupt images skipped */
    int n_noface;    /* photos where no face was found (skipped) */
    int n_other;     /* files in image folders that are not JPEG, PNG or HEIF (left out) */
    char other_example[512]; /* the first of them in the last ds_load: folder and name */
} ds_set;

void ds_set_init(ds_set *s);
void ds_set_free(ds_set *s);
/* Appends src's images to s (s->n_classes must agree or be 0). */
ds_status ds_load(const ds_source *src, const ds_load_options *opt, ds_set *s, char *err,
                  size_t errlen);
int ds_count(const ds_set *s, int split, int label); /* split or label -1 = any */

/* The person-split rule for LFW-style names: FNV-1a 32 of the person name. */
uint32_t ds_person_hash(const char *person);
int ds_person_is_test(uint32_t hash); /* hash % 5 == 0 */
/* "Aaron_Eckhart_0001.jpg" -> "Aaron_Eckhart"; no "_NNNN" suffix: the stem. */
void ds_person_from_file(const char *file, char *person, size_t len);

/* ------------------------------------------------------------ augmentation */

typedef struct {
    int flip;           /* horizontal flip with probability 1/2 */
    float rotate_deg;   /* uniform in +-rotate_deg */
    float scale;        /* zoom uniform in [1 - scale, 1 + scale] */
    float shift;        /* translation uniform in +-shift * side */
    float brightness;   /* add uniform in +-brightness * 255 */
    float contrast;     /* multiply around the mean by uniform in [1 - c, 1 + c] */
    float erase;        /* probability of painting one random rectangle (2-25 % of
                         * the image, aspect 0.3-3.3) with noise; 0: off */
} ds_augment_config;

void ds_augment_defaults(ds_augment_config *cfg);
/* One random variant of a width x height byte image (bilinear, edges
 * replicated). Consumes a fixed number of draws from rng, so a seeded run
 * repeats; erase > 0 adds its own draws after those, so runs without it
 * keep their stream. in and out must not overlap. */
void ds_augment(const ds_augment_config *cfg, nn_rng *rng, const uint8_t *in, int width,
                int height, uint8_t *out);

#endif /* DATASETS_H */

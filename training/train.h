/* train.h - pieces shared by smile-train's subcommands (not installed). */
#ifndef TRAIN_H
#define TRAIN_H

#include <stdint.h>
#include <stdio.h>

#include "datasets.h"
#include "nn.h"

#define TR_MAX_DATA 8

/* Exit codes: 0 done, 1 failed, 2 bad arguments, 130 interrupted (resumable). */
enum { TR_EXIT_OK = 0, TR_EXIT_FAIL = 1, TR_EXIT_USAGE = 2, TR_EXIT_INTERRUPTED = 130 };

/* Messages: "smile-train: ..." on stderr. */
void tr_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int tr_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

double tr_now(void);

/* Parses numbers strictly: the whole text must be the number. */
int tr_parse_int(const char *s, int lo, int hi, int *out);
int tr_parse_float(const char *s, float *out);

/* The data sources of a command line and how to read them. */
typedef struct {
    ds_source src[TR_MAX_DATA];
    int n;
    int strict;
    int limit; /* --limit N: at most N images per split and class (quick runs) */
    int keep_names; /* the loaded set names each image (eval --predictions) */
} tr_data;

int tr_data_add(tr_data *d, const char *text, const char *cmd);
int tr_data_set_positives(tr_data *d, const char *list, const char *cmd);
int tr_data_classes(const tr_data *d); /* 0 if the kinds disagree */
/* Loads every source's chosen splits, cut with spec. Progress to stderr. */
int tr_data_load(const tr_data *d, const nn_input_spec *spec, int splits, ds_set *s);
/* "smiles:/a/b + folders:/c" for metadata and reports. */
void tr_data_describe(const tr_data *d, char *buf, size_t len);

/* Face detection for whole photos (sources with "detect"), through the
 * face pipeline's detector. Returns NULL with a message when the build
 * has no face pipeline or its cascade cannot be loaded. */
extern const char *tr_face_cache_path; /* --face-cache FILE, or NULL */
void *tr_detector_new(char *err, size_t errlen);
void tr_detector_free(void *det);
int tr_detect(void *det, const uint8_t *grey, int width, int height, int stride, float box[4]);

/* Binary or multi-class metrics of predictions. */
typedef struct {
    int n, n_classes;
    double accuracy, balanced_accuracy, precision, recall, f1, auc, loss;
    long confusion[10][10]; /* [true][predicted] */
} tr_metrics;

/* One image's outputs p (n_out of them; 1 = a sigmoid): the predicted class
 * (threshold 0.5, else the first largest), and the probability given to
 * class `label`. */
int tr_predicted_class(const float *p, int n_out);
double tr_label_probability(const float *p, int n_out, int label);

/* probs: n x n_out (n_out 1 = sigmoid). */
void tr_metrics_compute(const float *probs, int n_out, const int *labels, int n, int n_classes,
                        tr_metrics *m);

/* Runs net over images idx[0..n) of s (normalised with the net's input spec),
 * writing n x n_outputs probabilities. */
int tr_predict(const nn_net *net, const ds_set *s, const int *idx, int n, float *probs);

/* Text built in memory, then written atomically: tr_text_begin, print to
 * t.fp, tr_text_write (which frees it). Both print the reason on failure. */
typedef struct {
    FILE *fp;
    char *text;
    size_t size;
} tr_text;
int tr_text_begin(tr_text *t, const char *path);
int tr_text_write(tr_text *t, const char *path);

/* One CSV field, quoted when it holds a comma, quote or line break. */
void tr_csv_field(FILE *fp, const char *s);
/* Splits one CSV line (no line break) in place into its fields, unquoting
 * them; the first max are stored in field. Returns the field count, or -1
 * for an unclosed quote. */
int tr_csv_split(char *line, char **field, int max);
/* Writes the CSV "image,label,predicted,probability" (or p0..pN-1), one row for
 * each image idx[k] of s (idx NULL: image k), k < n, atomically to path.
 * probs: n x n_out, row k for image idx[k]. Names come from s->names. */
int tr_write_predictions(const char *path, const ds_set *s, const int *idx, int n, const float *probs, int n_out);

/* Plots (cairo): lines of y over x, one colour each, legend, axes. */
typedef struct {
    const char *label;
    const double *x, *y;
    int n;
    int dashed;
} tr_series;

int tr_plot_png(const char *path, int width, int height, const char *title, const char *xlabel,
                const char *ylabel, const tr_series *s, int n_series, int logy);
/* Two plots side by side (loss, accuracy), written atomically. */
int tr_plot_curves_png(const char *path, const char *title, const tr_series *loss, int n_loss,
                       const tr_series *acc, int n_acc);

int tr_cmd_fit(int argc, char **argv);
int tr_cmd_eval(int argc, char **argv);
int tr_cmd_compare(int argc, char **argv);
int tr_cmd_boxes(int argc, char **argv);
int tr_cmd_audit(int argc, char **argv);

/* Confident learning's class for one image: the most probable class c with
 * p[c] >= threshold[c], or -1 if none reaches its threshold. */
int tr_audit_confident(const double *p, int n_classes, const double *threshold);

extern volatile int tr_interrupted;
void tr_install_sigint(void);

/* Batch transforms of fit (train_batch.c). x: n x in_size floats.
 * Mixup: each image becomes m * itself + (1 - m) * a random other image of
 * the batch, m ~ Beta(alpha, alpha); labels_b and mix say how its target
 * blends. scratch: the size of x; perm: n ints. */
void tr_mix_batch(float *x, const int *labels, int n, size_t in_size, float alpha, nn_rng *rng,
                  float *scratch, int *labels_b, float *mix, int *perm);
/* Loss truncation: drops the share `share` of the batch with the largest loss
 * under tr's current weights (eval mode), compacting x and labels in order.
 * probs: n x n_out, losses: n, dropped: n scratch. Returns the count kept. */
int tr_drop_hardest(nn_trainer *tr, float *x, int *labels, int n, size_t in_size, int n_out,
                    float share, float *probs, float *losses, unsigned char *dropped);

/* Distillation teachers: n nets, each run on a batch split over `threads`
 * threads (one nn_ctx per teacher and thread; a sample's output does not
 * depend on the split, since eval mode uses no batch statistics). */
#define TR_MAX_TEACHERS 8
typedef struct tr_teachers tr_teachers;
/* Borrows nets (1..TR_MAX_TEACHERS, all with the same outputs and input); NULL
 * with err set. */
tr_teachers *tr_teachers_new(nn_net *const *nets, int n, int max_batch, int threads, nn_error *err);
void tr_teachers_free(tr_teachers *tt);
/* The teachers' mean probabilities for x (batch x in_size), batch x n_out,
 * owned by tt and valid until the next call; NULL for a batch outside
 * 1..max_batch. */
const float *tr_teachers_predict(tr_teachers *tt, const float *x, int batch);

#endif /* TRAIN_H */

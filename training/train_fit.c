/* train_fit.c - `smile-train fit`: the training loop with class weights, a
 * learning-rate schedule, early stopping, the best model by validation, a
 * checkpoint every epoch and on Ctrl-C, and a bit-exact --resume. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "train.h"

static const char fit_help[] =
    "Usage: smile-train fit --data KIND:PATH [--data KIND:PATH...] --out MODEL [OPTION...]\n"
    "\n"
    "Train a network on the training split of the data sets (their test splits are\n"
    "never read) and save the model with the best validation accuracy to MODEL.\n"
    "\n"
    "Data:\n"
    "  --data KIND[,OPT]:PATH  a data set (repeatable; see 'smile-train --help')\n"
    "  --positive NAME[,NAME]  folder names that mean smiling (folders data)\n"
    "  --strict                a corrupt image is fatal (default: reported, skipped)\n"
    "  --limit N               at most N images per split and class (quick runs)\n"
    "  --face-cache FILE       keep the face boxes of 'detect' data in FILE (detection\n"
    "                          takes tens of ms a photo; later runs reuse the boxes)\n"
    "  --val-fraction F        share of the training split held out for validation,\n"
    "                          by person where the data knows persons (default 0.1;\n"
    "                          0: no validation, the last epoch's model is saved)\n"
    "  --val-fold I/K          validate on fold I of K instead (0 <= I < K): the folds\n"
    "                          of one --seed split the training split in K parts, by\n"
    "                          person where known, so K runs see each image unseen once\n"
    "  --val-predictions FILE  write the saved model's predictions for the validation\n"
    "                          images (as eval --predictions; with --val-fold, the\n"
    "                          input of 'smile-train audit')\n"
    "  --exclude FILE          leave out the images FILE names: one a line, or the\n"
    "                          first column of a CSV such as audit's (a name is the\n"
    "                          image's path or its last components, e.g. 5.jpg)\n"
    "\n"
    "Network and input:\n"
    "  --arch NAME|FILE        built-in seed, lenet or smilenet (last layer sized to\n"
    "                          the data: one sigmoid for 2 classes, softmax for more),\n"
    "                          or an architecture text file (default lenet)\n"
    "  --norm unit|sample|meanstd  input normalisation stored in the model (default:\n"
    "                          the architecture's: sample for seed and smilenet,\n"
    "                          unit for lenet and text files)\n"
    "  --equalize              histogram-equalise each crop (stored in the model)\n"
    "  --crop DX,DY,SCALE      crop geometry relative to the face box (default 0,0,1)\n"
    "  --augment               random flips, rotations, zooms, shifts, lighting\n"
    "  --augment-strength X    with --augment: scale the rotation (10 degrees), zoom\n"
    "                          (8 %), shift (6 %), brightness (12 %) and contrast\n"
    "                          (25 %) ranges by X (default 1)\n"
    "  --erase P               with --augment: with probability P, paint one random\n"
    "                          rectangle (2-25 % of the image) with noise, so the net\n"
    "                          cannot rest on one region (random erasing; default 0)\n"
    "  --flip-average          the model averages its output over each face and its\n"
    "                          mirror image (stored in the model; twice the\n"
    "                          inference cost, validation does not use it)\n"
    "\n";
/* split in three: C11 compilers need only take 4,095-character literals */
static const char fit_help_optimisation[] =
    "Optimisation:\n"
    "  --optimizer NAME        sgd momentum nag adagrad rmsprop adadelta adam nadam\n"
    "                          (default adam)\n"
    "  --lr X                  learning rate (default: the optimizer's own, 1e-3 for adam)\n"
    "  --weight-decay X        L2 penalty (default 0)\n"
    "  --decoupled-decay       apply --weight-decay apart from the gradient, w *= 1 -\n"
    "                          lr * X each step (adam: AdamW; e.g. --weight-decay\n"
    "                          0.05), so Adam's moments do not rescale it\n"
    "  --ema DECAY             also keep an exponential moving average of the\n"
    "                          weights (e.g. 0.999, about the last 1,000 steps,\n"
    "                          after a warm-up of (1+t)/(10+t) until step 8,990);\n"
    "                          validation, batchnorm recalibration and the saved\n"
    "                          model use the averaged weights (default: off)\n"
    "  --label-smoothing X     train towards 1 - X/2 and X/2 instead of 1 and 0\n"
    "                          (softmax: 1 - X + X/K and X/K), so mislabelled\n"
    "                          images pull less (default 0)\n"
    "  --drop-hardest F        after --drop-warmup epochs, leave the share F of each\n"
    "                          batch with the largest loss out of the update (those\n"
    "                          are mostly mislabelled; loss truncation; e.g. 0.05;\n"
    "                          one extra forward pass a batch; default 0: off)\n"
    "  --drop-warmup N         epochs trained on every image first (default 2)\n"
    "  --sam RHO               sharpness-aware minimisation: take each step's\n"
    "                          gradient at the worst point within distance RHO of\n"
    "                          the weights (e.g. 0.05), which favours flat minima\n"
    "                          that memorise mislabelled images less; twice the\n"
    "                          cost of a step (default 0: off)\n"
    "  --mixup ALPHA           train on blends of two images of the batch, m * a +\n"
    "                          (1 - m) * b with m ~ Beta(ALPHA, ALPHA) per image,\n"
    "                          towards the same blend of their labels (e.g. 0.2;\n"
    "                          default 0: off)\n"
    "  --teacher MODEL         knowledge distillation: each target blends the label\n"
    "                          with MODEL's prediction for the same augmented image\n"
    "                          (a net trained before, such as a bigger one or the\n"
    "                          same recipe: its probabilities carry which images are\n"
    "                          ambiguous). MODEL must take the same input (size,\n"
    "                          normalisation, crop) and classes; one extra forward\n"
    "                          pass of MODEL a batch (two with its mirror average).\n"
    "                          Repeat it (up to 8) to learn from the teachers' mean.\n"
    "  --teacher-weight X      the teacher's share of each target (default 0.5)\n";
static const char fit_help_schedule[] =
    "  --epochs N              (default 15)\n"
    "  --batch N               (default 64)\n"
    "  --class-weights auto|none|balanced  weight class c by max_count/count_c;\n"
    "                          auto: balanced when a class is over 1.5x another\n"
    "  --schedule none|step|plateau|cosine  learning-rate schedule (default none);\n"
    "                          cosine: half a cosine from --lr down to 0 over\n"
    "                          --epochs, one value an epoch\n"
    "  --step-size N           step: multiply by --gamma every N epochs (default 5)\n"
    "  --gamma X               step/plateau factor (default 0.5)\n"
    "  --patience N            plateau: epochs without a better validation loss\n"
    "                          before the rate drops (default 2)\n"
    "  --early-stop N          stop after N epochs without a better validation\n"
    "                          accuracy (default 0: never)\n"
    "  --bn-recalibrate N      after each epoch, set batchnorm's running statistics\n"
    "                          from N training batches under the epoch's final\n"
    "                          weights (default 100; 0: keep the running averages,\n"
    "                          which lag behind fast-moving weights)\n"
    "  --seed N                seeds initialisation, data order, augmentation, dropout\n"
    "  --threads N             worker threads (default 1)\n"
    "\n"
    "Files:\n"
    "  --out MODEL             the model to write (atomically)\n"
    "  --checkpoint FILE       checkpoint path (default MODEL.ckpt), written every epoch\n"
    "                          and on Ctrl-C\n"
    "  --resume FILE           continue from a checkpoint, bit-exactly; give the same\n"
    "                          options as the first run (--epochs may grow)\n"
    "  --report DIR            write DIR/curves.csv, DIR/curves.png, DIR/metrics.json\n"
    "  --quiet                 no progress output\n";

#define MAX_EPOCHS 1000
#define STATE_MAGIC 0x53545246u /* "FRTS" */
#define STATE_VERSION 1

typedef struct {
    float train_loss, train_acc, val_loss, val_acc, epoch_s, lr, epoch_cpu_s;
} row;

/* Everything besides the net and the optimizer a resumed run needs. */
typedef struct {
    uint32_t magic, version;
    uint64_t config_hash;
    int32_t epoch;     /* epochs finished */
    int32_t batch_pos; /* batches finished in the current epoch */
    nn_rng data_rng;   /* data order */
    nn_rng epoch_rng;  /* data_rng when the current epoch started */
    nn_rng aug_rng;
    double ep_loss, ep_time, ep_cpu;
    int64_t ep_correct, ep_seen;
    float lr, best_acc, best_loss, plateau_best;
    int32_t best_epoch, plateau_bad, stale, stopped;
    int64_t start_time;
    int32_t n_rows;
    row rows[MAX_EPOCHS];
} fit_state;

typedef struct {
    tr_data data;
    const char *arch, *optimizer, *out, *report, *resume, *checkpoint;
    const char *val_predictions, *exclude;
    int fold, folds, has_val_fraction;
    int n_excluded; /* images --exclude left out (for the metadata) */
    const char *teachers[TR_MAX_TEACHERS];
    int n_teachers;
    int epochs, batch, seed, threads, augment, equalize, flip_average, quiet, decoupled;
    float lr, weight_decay, val_fraction, gamma, ema, label_smoothing, mixup, erase, drop_hardest, teacher_weight, sam;
    float augment_strength;
    int drop_warmup;
    int has_lr, norm, schedule, step_size, patience, early_stop, bn_batches;
    int class_weights; /* 0 auto, 1 none, 2 balanced */
    nn_crop_geometry crop;
} fit_opts;

enum { SCHED_NONE, SCHED_STEP, SCHED_PLATEAU, SCHED_COSINE };

/* Appends printf-formatted text to the string in buf (size bytes), truncated to fit. */
__attribute__((format(printf, 3, 4))) static void append_text(char *buf, size_t size, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, size - used, fmt, ap);
    va_end(ap);
}

/* The metadata entry key = value ("%g"), only when the option is on (> 0). */
static void set_meta_if_on(nn_net *net, const char *key, float value)
{
    char buf[32];
    if (value > 0) {
        snprintf(buf, sizeof buf, "%g", (double)value);
        nn_net_set_meta(net, key, buf);
    }
}

static uint64_t fnv64(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static int read_text_file(const char *path, char **out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    while (b) {
        size_t got = fread(b + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
        if (n + 1 == cap) {
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!b)
        return -1;
    b[n] = 0;
    *out = b;
    return 0;
}

/* --exclude: image names, sorted for bsearch; text owns the strings. */
typedef struct {
    char *text;
    char **names;
    int n;
} name_list;

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One image a line, or the first column of a CSV such as eval's --predictions
 * or audit's list (a first field "image" is its header). Quoted fields, blank
 * lines and '#' comments are understood. */
static int name_list_load(const char *path, name_list *l)
{
    memset(l, 0, sizeof *l);
    if (read_text_file(path, &l->text)) {
        tr_error("--exclude %s: %s", path, strerror(errno));
        return -1;
    }
    int cap = 0, line_no = 0;
    for (char *line = l->text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        line_no++;
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r')
            line[--len] = 0;
        if (!len || line[0] == '#')
            continue;
        char *name;
        if (tr_csv_split(line, &name, 1) < 0) {
            tr_error("--exclude %s:%d: a quoted name is not closed", path, line_no);
            return -1;
        }
        if (line_no == 1 && !strcmp(name, "image"))
            continue;
        if (l->n == cap) {
            cap = cap ? cap * 2 : 256;
            char **grown = realloc(l->names, (size_t)cap * sizeof *grown);
            if (!grown) {
                tr_error("--exclude %s: out of memory", path);
                return -1;
            }
            l->names = grown;
        }
        l->names[l->n++] = name;
    }
    if (l->n)
        qsort(l->names, (size_t)l->n, sizeof *l->names, cmp_name);
    return 0;
}

static void name_list_free(name_list *l)
{
    free(l->names);
    free(l->text);
}

/* The entry naming image `name`: the whole path, or its last components
 * ("SMILEs/negatives/negatives7/5.jpg", "5.jpg"), so a list stays valid
 * when the data moves. -1 if none. */
static int name_list_find(const name_list *l, const char *name)
{
    for (const char *p = name;; p++) {
        char **hit = l->n ? bsearch(&p, l->names, (size_t)l->n, sizeof *l->names, cmp_name) : NULL;
        if (hit)
            return (int)(hit - l->names);
        if (!(p = strchr(p, '/')))
            return -1;
    }
}

static int is_builtin(const char *name)
{
    for (const char *const *p = nn_builtin_names(); *p; p++)
        if (!strcmp(*p, name))
            return 1;
    return 0;
}

/* Builds the net: a built-in by name, sized to the classes, or a text file. */
static nn_net *make_net(const char *arch, int n_classes)
{
    nn_error e = {{0}};
    nn_net *net = NULL;
    int n_out = n_classes == 2 ? 1 : n_classes;
    if (is_builtin(arch)) {
        if (nn_net_builtin(arch, n_out, &net, &e)) {
            tr_error("--arch %s: %s", arch, e.msg);
            return NULL;
        }
        return net;
    }
    char *text;
    if (read_text_file(arch, &text)) {
        tr_error("--arch %s: not a built-in architecture (%s) and not a readable file", arch, "seed, lenet, smilenet");
        return NULL;
    }
    nn_status st = nn_net_from_text(text, arch, &net, &e);
    free(text);
    if (st) {
        tr_error("%s", e.msg);
        return NULL;
    }
    int got = nn_net_n_outputs(net);
    if (!(got == n_out || (n_classes == 2 && got == 2))) {
        tr_error("%s: the network has %d outputs but the data has %d classes", arch, got, n_classes);
        nn_net_free(net);
        return NULL;
    }
    return net;
}

/* Whether image i is held out for validation: a seeded share frac of the
 * training split, or with folds > 0, fold `fold` of `folds` (the folds of one
 * seed partition the split, so K runs give every image a prediction from a
 * net that never trained on it). */
static int is_val(const ds_set *s, int i, float frac, uint64_t seed, int fold, int folds)
{
    if (frac <= 0 && folds <= 0)
        return 0;
    /* By person when known (no person on both sides), else by image. */
    uint64_t key = s->group[i] ? ((uint64_t)s->group[i] << 32 | 0x9e37u) : (uint64_t)i;
    uint64_t h = fnv64(0xcbf29ce484222325ull ^ seed, &key, sizeof key);
    if (folds > 0)
        return (int)(h % (uint64_t)folds) == fold;
    return (double)(h % 1000000) < frac * 1e6;
}

static void iso_date(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Fills x (n images of s, normalised) and labels; augments with rng. */
static void fill_batch(const nn_input_spec *spec, const ds_set *s, const int *idx, int n, int augment,
                       const ds_augment_config *acfg, nn_rng *rng, uint8_t *tmp, float *x, int *labels)
{
    size_t px = (size_t)s->width * (size_t)s->height;
    for (int b = 0; b < n; b++) {
        const uint8_t *im = s->pixels + (size_t)idx[b] * px;
        if (augment) {
            ds_augment(acfg, rng, im, s->width, s->height, tmp);
            im = tmp;
        }
        nn_normalize_u8(spec, im, x + (size_t)b * px);
        labels[b] = s->labels[idx[b]];
    }
}

/* Loss and accuracy of the net (eval mode) over idx[0..n). */
static void evaluate(nn_trainer *tr, const nn_input_spec *spec, const ds_set *s, const int *idx, int n,
                     int max_batch, int n_out, float *x, int *labels, float *probs, double *loss,
                     double *acc)
{
    double tl = 0;
    long hits = 0;
    for (int i = 0; i < n; i += max_batch) {
        int b = n - i < max_batch ? n - i : max_batch;
        fill_batch(spec, s, idx + i, b, 0, NULL, NULL, NULL, x, labels);
        tl += nn_trainer_eval(tr, x, labels, b, probs);
        for (int k = 0; k < b; k++)
            hits += tr_predicted_class(probs + (size_t)k * (size_t)n_out, n_out) == labels[k];
    }
    *loss = n ? tl / n : 0;
    *acc = n ? (double)hits / n : 0;
}

/* CPU time of the whole process: with one thread, the work of the pass
 * however busy the machine is. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void fmt_time(double s, char *buf, size_t len)
{
    if (s < 0 || s > 1e7)
        s = 0;
    int t = (int)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, len, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, len, "%d:%02d", t / 60, t % 60);
}

static int mkdir_p(const char *dir)
{
    if (mkdir(dir, 0755) == 0 || errno == EEXIST)
        return 0;
    tr_error("%s: cannot create the folder: %s", dir, strerror(errno));
    return -1;
}

static int write_atomic_text(const char *path, const char *text)
{
    nn_error e = {{0}};
    if (nn_write_file_atomic(path, text, strlen(text), &e)) {
        tr_error("%s", e.msg);
        return -1;
    }
    return 0;
}

static double median_epoch_s(const fit_state *st)
{
    if (!st->n_rows)
        return 0;
    double v[MAX_EPOCHS];
    int n = st->n_rows;
    for (int i = 0; i < n; i++)
        v[i] = st->rows[i].epoch_s;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* curves.csv, curves.png and metrics.json in --report DIR. */
static int write_report(const fit_opts *o, const fit_state *st, const char *data_desc, int n_train,
                        int n_val)
{
    if (!o->report)
        return 0;
    if (mkdir_p(o->report))
        return -1;
    size_t cap = 256 + (size_t)st->n_rows * 128;
    char *csv = malloc(cap);
    if (!csv)
        return -1;
    size_t n = (size_t)snprintf(csv, cap, "epoch,train_loss,train_accuracy,val_loss,val_accuracy,epoch_s,lr,epoch_cpu_s\n");
    for (int i = 0; i < st->n_rows; i++) {
        const row *r = &st->rows[i];
        n += (size_t)snprintf(csv + n, cap - n, "%d,%.6f,%.6f,%.6f,%.6f,%.4f,%.6g,%.4f\n", i + 1, r->train_loss,
                              r->train_acc, r->val_loss, r->val_acc, r->epoch_s, r->lr, r->epoch_cpu_s);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/curves.csv", o->report);
    int rc = write_atomic_text(path, csv);
    free(csv);

    double ep[MAX_EPOCHS], tl[MAX_EPOCHS], vl[MAX_EPOCHS], ta[MAX_EPOCHS], va[MAX_EPOCHS];
    for (int i = 0; i < st->n_rows; i++) {
        ep[i] = i + 1;
        tl[i] = st->rows[i].train_loss;
        vl[i] = st->rows[i].val_loss;
        ta[i] = st->rows[i].train_acc;
        va[i] = st->rows[i].val_acc;
    }
    tr_series loss[2] = {{"train", ep, tl, st->n_rows, 0}, {"validation", ep, vl, st->n_rows, 1}};
    tr_series acc[2] = {{"train", ep, ta, st->n_rows, 0}, {"validation", ep, va, st->n_rows, 1}};
    char title[600];
    snprintf(title, sizeof title, "%s, %s, batch %d", o->arch, o->optimizer, o->batch);
    snprintf(path, sizeof path, "%s/curves.png", o->report);
    if (st->n_rows && tr_plot_curves_png(path, title, loss, n_val ? 2 : 1, acc, n_val ? 2 : 1))
        rc = -1;

    char json[4096 + 4096];
    const row *last = st->n_rows ? &st->rows[st->n_rows - 1] : NULL;
    char date[64];
    iso_date(st->start_time, date, sizeof date);
    char esc[4096];
    size_t k = 0;
    for (const char *p = data_desc; *p && k + 3 < sizeof esc; p++) {
        if (*p == '"' || *p == '\\')
            esc[k++] = '\\';
        esc[k++] = *p;
    }
    esc[k] = 0;
    snprintf(json, sizeof json,
             "{\n  \"data\": \"%s\",\n  \"arch\": \"%s\",\n  \"optimizer\": \"%s\",\n  \"batch\": %d,\n"
             "  \"seed\": %d,\n  \"started\": \"%s\",\n  \"n_train\": %d,\n  \"n_val\": %d,\n"
             "  \"epochs_run\": %d,\n  \"best_epoch\": %d,\n  \"best_val_accuracy\": %.6f,\n"
             "  \"best_val_loss\": %.6f,\n  \"final_train_loss\": %.6f,\n  \"final_train_accuracy\": %.6f,\n"
             "  \"final_val_loss\": %.6f,\n  \"final_val_accuracy\": %.6f,\n  \"epoch_s_median\": %.4f\n}\n",
             esc, o->arch, o->optimizer, o->batch, o->seed, date, n_train, n_val, st->n_rows, st->best_epoch,
             n_val ? st->best_acc : 0, n_val ? st->best_loss : 0, last ? last->train_loss : 0,
             last ? last->train_acc : 0, last ? last->val_loss : 0, last ? last->val_acc : 0, median_epoch_s(st));
    snprintf(path, sizeof path, "%s/metrics.json", o->report);
    if (write_atomic_text(path, json))
        rc = -1;
    return rc;
}

static int save_model(nn_net *net, const fit_opts *o, const fit_state *st, const char *data_desc,
                      int epoch, double val_acc, double val_loss)
{
    char buf[64], date[64];
    iso_date(st->start_time, date, sizeof date);
    nn_net_set_meta(net, "data", data_desc);
    nn_net_set_meta(net, "date", date);
    nn_net_set_meta(net, "trainer", "smile-train fit");
    nn_net_set_meta(net, "optimizer", o->optimizer);
    snprintf(buf, sizeof buf, "%d", epoch);
    nn_net_set_meta(net, "epoch", buf);
    snprintf(buf, sizeof buf, "%d", o->seed);
    nn_net_set_meta(net, "seed", buf);
    snprintf(buf, sizeof buf, "yes, strength %g", (double)o->augment_strength);
    nn_net_set_meta(net, "augment", !o->augment ? "no" : o->augment_strength == 1.0f ? "yes" : buf);
    set_meta_if_on(net, "weights_ema", o->ema);
    set_meta_if_on(net, "label_smoothing", o->label_smoothing);
    set_meta_if_on(net, "mixup", o->mixup);
    set_meta_if_on(net, "erase", o->erase);
    if (o->drop_hardest > 0) {
        snprintf(buf, sizeof buf, "%g after %d epochs", (double)o->drop_hardest, o->drop_warmup);
        nn_net_set_meta(net, "drop_hardest", buf);
    }
    set_meta_if_on(net, "sam_rho", o->sam);
    if (o->folds) {
        snprintf(buf, sizeof buf, "%d/%d", o->fold, o->folds);
        nn_net_set_meta(net, "val_fold", buf);
    }
    if (o->exclude) {
        const char *slash = strrchr(o->exclude, '/');
        char text[300];
        snprintf(text, sizeof text, "%d images listed in %s", o->n_excluded, slash ? slash + 1 : o->exclude);
        nn_net_set_meta(net, "excluded", text);
    }
    if (o->n_teachers) {
        char names[1024] = "";
        for (int i = 0; i < o->n_teachers; i++) {
            const char *slash = strrchr(o->teachers[i], '/');
            append_text(names, sizeof names, "%s%s", i ? "," : "", slash ? slash + 1 : o->teachers[i]);
        }
        nn_net_set_meta(net, "teacher", names);
        snprintf(buf, sizeof buf, "%g", (double)o->teacher_weight); /* 0 is worth saying here */
        nn_net_set_meta(net, "teacher_weight", buf);
    }
    if (val_acc >= 0) {
        snprintf(buf, sizeof buf, "%.4f", val_acc);
        nn_net_set_meta(net, "val_accuracy", buf);
        snprintf(buf, sizeof buf, "%.4f", val_loss);
        nn_net_set_meta(net, "val_loss", buf);
    }
    nn_error e = {{0}};
    if (nn_net_save(net, o->out, &e)) {
        tr_error("%s", e.msg);
        return -1;
    }
    return 0;
}

/* The --teacher model, if it sees exactly the student's input (the batch is
 * normalised once, for both) and predicts the same classes; NULL with the
 * reason printed otherwise. */
static nn_net *load_teacher(const char *path, const nn_net *student)
{
    nn_error e = {{0}};
    nn_net *t;
    if (nn_net_load(path, &t, &e)) {
        tr_error("--teacher: %s", e.msg);
        return NULL;
    }
    const nn_input_spec *a = nn_net_input(t), *b = nn_net_input(student);
    static const char *norms[] = {"unit", "sample", "meanstd"};
    char why[256] = "";
    if (nn_net_n_outputs(t) != nn_net_n_outputs(student))
        snprintf(why, sizeof why, "it has %d outputs, this net %d", nn_net_n_outputs(t), nn_net_n_outputs(student));
    else if (a->width != b->width || a->height != b->height || a->channels != b->channels)
        snprintf(why, sizeof why, "its input is %dx%dx%d, this net's %dx%dx%d", a->width, a->height, a->channels,
                 b->width, b->height, b->channels);
    else if (a->norm != b->norm || (a->norm == NN_NORM_MEANSTD && (a->mean != b->mean || a->std != b->std)))
        snprintf(why, sizeof why, "it normalises with --norm %s, this net with %s", norms[a->norm % 3],
                 norms[b->norm % 3]);
    else if (a->crop.dx != b->crop.dx || a->crop.dy != b->crop.dy || a->crop.scale != b->crop.scale)
        snprintf(why, sizeof why, "it cuts faces with --crop %g,%g,%g, this net with %g,%g,%g", (double)a->crop.dx,
                 (double)a->crop.dy, (double)a->crop.scale, (double)b->crop.dx, (double)b->crop.dy,
                 (double)b->crop.scale);
    else if (a->equalize != b->equalize)
        snprintf(why, sizeof why, "it was trained %s --equalize, this net %s", a->equalize ? "with" : "without",
                 b->equalize ? "with" : "without");
    if (why[0]) {
        tr_error("--teacher %s cannot teach this net: %s. A teacher must see the same input.", path, why);
        nn_net_free(t);
        return NULL;
    }
    return t;
}

static int parse_fit(int argc, char **argv, fit_opts *o)
{
    static const struct option lo[] = {
        {"data", required_argument, 0, 'd'},     {"positive", required_argument, 0, 'P'},
        {"strict", no_argument, 0, 'S'},         {"limit", required_argument, 0, 'L'},
        {"val-fraction", required_argument, 0, 'v'}, {"arch", required_argument, 0, 'a'},
        {"norm", required_argument, 0, 'n'},     {"equalize", no_argument, 0, 'E'},
        {"crop", required_argument, 0, 'c'},     {"augment", no_argument, 0, 'A'},
        {"augment-strength", required_argument, 0, 'G'},
        {"optimizer", required_argument, 0, 'o'}, {"lr", required_argument, 0, 'l'},
        {"weight-decay", required_argument, 0, 'w'}, {"epochs", required_argument, 0, 'e'},
        {"batch", required_argument, 0, 'b'},    {"class-weights", required_argument, 0, 'C'},
        {"schedule", required_argument, 0, 's'}, {"step-size", required_argument, 0, 'z'},
        {"gamma", required_argument, 0, 'g'},    {"patience", required_argument, 0, 'p'},
        {"early-stop", required_argument, 0, 'x'}, {"seed", required_argument, 0, 'r'},
        {"threads", required_argument, 0, 't'},  {"out", required_argument, 0, 'O'},
        {"checkpoint", required_argument, 0, 'K'}, {"resume", required_argument, 0, 'R'},
        {"report", required_argument, 0, 'T'},   {"quiet", no_argument, 0, 'q'},
        {"face-cache", required_argument, 0, 'F'}, {"bn-recalibrate", required_argument, 0, 'B'},
        {"flip-average", no_argument, 0, 'M'},  {"ema", required_argument, 0, 'm'},
        {"label-smoothing", required_argument, 0, 'y'}, {"mixup", required_argument, 0, 'X'},
        {"erase", required_argument, 0, 'U'},   {"drop-hardest", required_argument, 0, 'H'},
        {"drop-warmup", required_argument, 0, 'W'}, {"teacher", required_argument, 0, 'D'},
        {"teacher-weight", required_argument, 0, 'Y'}, {"sam", required_argument, 0, 'Q'},
        {"val-fold", required_argument, 0, 'f'}, {"val-predictions", required_argument, 0, 'V'},
        {"exclude", required_argument, 0, 'Z'}, {"decoupled-decay", no_argument, 0, 'J'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->arch = "lenet";
    o->optimizer = "adam";
    o->epochs = 15;
    o->batch = 64;
    o->bn_batches = 100;
    o->threads = 1;
    o->val_fraction = 0.1f;
    o->gamma = 0.5f;
    o->step_size = 5;
    o->patience = 2;
    o->drop_warmup = 2;
    o->teacher_weight = 0.5f;
    o->augment_strength = 1.0f;
    o->norm = -1;
    o->crop = (nn_crop_geometry){0, 0, 1};
    const char *positives = NULL;
    const char *cmd = "fit";
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(fit_help, stdout);
            fputs(fit_help_optimisation, stdout);
            fputs(fit_help_schedule, stdout);
            exit(TR_EXIT_OK);
        case 'd': if (tr_data_add(&o->data, optarg, cmd)) return TR_EXIT_USAGE; break;
        case 'P': positives = optarg; break;
        case 'S': o->data.strict = 1; break;
        case 'L':
            if (tr_parse_int(optarg, 1, 1 << 30, &o->data.limit))
                return tr_usage_error(cmd, "--limit wants a positive count, not '%s'", optarg);
            break;
        case 'v':
            if (tr_parse_float(optarg, &o->val_fraction) || o->val_fraction < 0 || o->val_fraction >= 0.9f)
                return tr_usage_error(cmd, "--val-fraction wants a number in [0, 0.9), not '%s'", optarg);
            o->has_val_fraction = 1;
            break;
        case 'f': {
            char extra;
            if (sscanf(optarg, "%d/%d%c", &o->fold, &o->folds, &extra) != 2 || o->folds < 2 || o->folds > 100 ||
                o->fold < 0 || o->fold >= o->folds)
                return tr_usage_error(cmd, "--val-fold wants I/K with 2 <= K <= 100 and 0 <= I < K (such as 0/4), not '%s'",
                                      optarg);
            break;
        }
        case 'V': o->val_predictions = optarg; break;
        case 'Z': o->exclude = optarg; break;
        case 'a': o->arch = optarg; break;
        case 'n':
            if (!strcmp(optarg, "unit")) o->norm = NN_NORM_UNIT;
            else if (!strcmp(optarg, "sample")) o->norm = NN_NORM_SAMPLE;
            else if (!strcmp(optarg, "meanstd")) o->norm = NN_NORM_MEANSTD;
            else return tr_usage_error(cmd, "--norm is unit, sample or meanstd, not '%s'", optarg);
            break;
        case 'E': o->equalize = 1; break;
        case 'M': o->flip_average = 1; break;
        case 'c': {
            char extra;
            if (sscanf(optarg, "%f,%f,%f%c", &o->crop.dx, &o->crop.dy, &o->crop.scale, &extra) != 3 ||
                !(o->crop.scale > 0.1f && o->crop.scale < 10) || fabsf(o->crop.dx) > 2 || fabsf(o->crop.dy) > 2)
                return tr_usage_error(cmd, "--crop wants DX,DY,SCALE (e.g. 0,0.05,1.1), not '%s'", optarg);
            break;
        }
        case 'A': o->augment = 1; break;
        case 'G':
            if (tr_parse_float(optarg, &o->augment_strength) || !(o->augment_strength > 0 && o->augment_strength <= 3))
                return tr_usage_error(cmd, "--augment-strength wants a factor in (0, 3], such as 0.5, not '%s'", optarg);
            break;
        case 'o': {
            nn_opt_kind k;
            if (nn_opt_from_name(optarg, &k))
                return tr_usage_error(cmd, "unknown --optimizer '%s' (sgd momentum nag adagrad rmsprop adadelta adam nadam)", optarg);
            o->optimizer = optarg;
            break;
        }
        case 'l':
            if (tr_parse_float(optarg, &o->lr) || o->lr <= 0)
                return tr_usage_error(cmd, "--lr wants a positive number, not '%s'", optarg);
            o->has_lr = 1;
            break;
        case 'w':
            if (tr_parse_float(optarg, &o->weight_decay) || o->weight_decay < 0)
                return tr_usage_error(cmd, "--weight-decay wants a number >= 0, not '%s'", optarg);
            break;
        case 'm':
            if (tr_parse_float(optarg, &o->ema) || !(o->ema > 0 && o->ema < 1))
                return tr_usage_error(cmd, "--ema wants a decay in (0, 1), such as 0.999, not '%s'", optarg);
            break;
        case 'y':
            if (tr_parse_float(optarg, &o->label_smoothing) || !(o->label_smoothing >= 0 && o->label_smoothing < 1))
                return tr_usage_error(cmd, "--label-smoothing wants a number in [0, 1), such as 0.1, not '%s'", optarg);
            break;
        case 'X':
            if (tr_parse_float(optarg, &o->mixup) || !(o->mixup >= 0 && o->mixup <= 100))
                return tr_usage_error(cmd, "--mixup wants a Beta parameter in [0, 100], such as 0.2, not '%s'", optarg);
            break;
        case 'U':
            if (tr_parse_float(optarg, &o->erase) || !(o->erase >= 0 && o->erase <= 1))
                return tr_usage_error(cmd, "--erase wants a probability in [0, 1], such as 0.5, not '%s'", optarg);
            break;
        case 'H':
            if (tr_parse_float(optarg, &o->drop_hardest) || !(o->drop_hardest >= 0 && o->drop_hardest < 0.5f))
                return tr_usage_error(cmd, "--drop-hardest wants a share in [0, 0.5), such as 0.05, not '%s'", optarg);
            break;
        case 'D':
            if (o->n_teachers == TR_MAX_TEACHERS)
                return tr_usage_error(cmd, "at most %d --teacher models", TR_MAX_TEACHERS);
            o->teachers[o->n_teachers++] = optarg;
            break;
        case 'Y':
            if (tr_parse_float(optarg, &o->teacher_weight) || !(o->teacher_weight >= 0 && o->teacher_weight <= 1))
                return tr_usage_error(cmd, "--teacher-weight wants a share in [0, 1], such as 0.5, not '%s'", optarg);
            break;
        case 'Q':
            if (tr_parse_float(optarg, &o->sam) || !(o->sam >= 0 && o->sam <= 10))
                return tr_usage_error(cmd, "--sam wants a radius in [0, 10], such as 0.05, not '%s'", optarg);
            break;
        case 'W':
            if (tr_parse_int(optarg, 0, MAX_EPOCHS, &o->drop_warmup))
                return tr_usage_error(cmd, "--drop-warmup wants a count of epochs >= 0, not '%s'", optarg);
            break;
        case 'e':
            if (tr_parse_int(optarg, 1, MAX_EPOCHS, &o->epochs))
                return tr_usage_error(cmd, "--epochs wants 1 to %d, not '%s'", MAX_EPOCHS, optarg);
            break;
        case 'b':
            if (tr_parse_int(optarg, 1, 4096, &o->batch))
                return tr_usage_error(cmd, "--batch wants 1 to 4096, not '%s'", optarg);
            break;
        case 'C':
            if (!strcmp(optarg, "auto")) o->class_weights = 0;
            else if (!strcmp(optarg, "none")) o->class_weights = 1;
            else if (!strcmp(optarg, "balanced")) o->class_weights = 2;
            else return tr_usage_error(cmd, "--class-weights is auto, none or balanced, not '%s'", optarg);
            break;
        case 's':
            if (!strcmp(optarg, "none")) o->schedule = SCHED_NONE;
            else if (!strcmp(optarg, "step")) o->schedule = SCHED_STEP;
            else if (!strcmp(optarg, "plateau")) o->schedule = SCHED_PLATEAU;
            else if (!strcmp(optarg, "cosine")) o->schedule = SCHED_COSINE;
            else return tr_usage_error(cmd, "--schedule is none, step, plateau or cosine, not '%s'", optarg);
            break;
        case 'z':
            if (tr_parse_int(optarg, 1, MAX_EPOCHS, &o->step_size))
                return tr_usage_error(cmd, "--step-size wants a positive count, not '%s'", optarg);
            break;
        case 'g':
            if (tr_parse_float(optarg, &o->gamma) || !(o->gamma > 0 && o->gamma <= 1))
                return tr_usage_error(cmd, "--gamma wants a number in (0, 1], not '%s'", optarg);
            break;
        case 'p':
            if (tr_parse_int(optarg, 1, MAX_EPOCHS, &o->patience))
                return tr_usage_error(cmd, "--patience wants a positive count, not '%s'", optarg);
            break;
        case 'B':
            if (tr_parse_int(optarg, 0, 1000000, &o->bn_batches))
                return tr_usage_error(cmd, "--bn-recalibrate wants a batch count >= 0, not '%s'", optarg);
            break;
        case 'x':
            if (tr_parse_int(optarg, 0, MAX_EPOCHS, &o->early_stop))
                return tr_usage_error(cmd, "--early-stop wants a count >= 0, not '%s'", optarg);
            break;
        case 'r':
            if (tr_parse_int(optarg, 0, 2147483647, &o->seed))
                return tr_usage_error(cmd, "--seed wants a number >= 0, not '%s'", optarg);
            break;
        case 't':
            if (tr_parse_int(optarg, 1, 256, &o->threads))
                return tr_usage_error(cmd, "--threads wants 1 to 256, not '%s'", optarg);
            break;
        case 'O': o->out = optarg; break;
        case 'K': o->checkpoint = optarg; break;
        case 'R': o->resume = optarg; break;
        case 'T': o->report = optarg; break;
        case 'q': o->quiet = 1; break;
        case 'J': o->decoupled = 1; break;
        case 'F': tr_face_cache_path = optarg; break;
        case ':': return tr_usage_error(cmd, "%s needs a value", argv[optind - 1]);
        default: return tr_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return tr_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!o->data.n)
        return tr_usage_error(cmd, "no --data given");
    if (!o->out)
        return tr_usage_error(cmd, "no --out MODEL given");
    for (int i = 0; i < o->n_teachers; i++)
        if (access(o->teachers[i], R_OK))
            return tr_usage_error(cmd, "--teacher %s: %s", o->teachers[i], strerror(errno));
    if (o->n_teachers && o->mixup > 0)
        return tr_usage_error(cmd, "--teacher and --mixup do not combine: give one of them");
    if (o->augment_strength != 1.0f && !o->augment)
        return tr_usage_error(cmd, "--augment-strength scales the augmentation; give --augment too");
    if (o->erase > 0 && !o->augment)
        return tr_usage_error(cmd, "--erase is part of the augmentation; give --augment too");
    if (o->folds && o->has_val_fraction)
        return tr_usage_error(cmd, "--val-fold and --val-fraction both choose the validation images: give one");
    if (o->decoupled && !(o->weight_decay > 0))
        return tr_usage_error(cmd, "--decoupled-decay changes how --weight-decay applies; give --weight-decay X too");
    if (o->val_predictions && !o->folds && o->val_fraction <= 0)
        return tr_usage_error(cmd, "--val-predictions needs validation images; --val-fraction 0 leaves none");
    {
        /* fail now rather than after an hour of training */
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", o->out);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = 0;
        struct stat sb;
        if (slash && dir[0] && (stat(dir, &sb) || !S_ISDIR(sb.st_mode)))
            return tr_usage_error(cmd, "--out %s: the folder %s does not exist", o->out, dir);
    }
    if (!tr_data_classes(&o->data))
        return tr_usage_error(cmd, "the --data sets disagree on classes (mnist has 10, the others 2)");
    if (positives && tr_data_set_positives(&o->data, positives, cmd))
        return TR_EXIT_USAGE;
    return 0;
}

/* --exclude: sets excluded[i] for the images of s the list names, counts them
 * in o->n_excluded and hashes their indices into *hash (for the resume check).
 * A list that names no image of s is an error: its paths are likely wrong. */
static int mark_excluded(fit_opts *o, const ds_set *s, const char *data_desc, unsigned char *excluded,
                         uint64_t *hash)
{
    name_list leave_out;
    int rc = -1;
    unsigned char *used = NULL;
    if (name_list_load(o->exclude, &leave_out))
        goto done;
    if (!(used = calloc((size_t)leave_out.n + 1, 1))) {
        tr_error("out of memory");
        goto done;
    }
    for (int i = 0; i < s->n; i++) {
        int k = s->names && s->names[i] ? name_list_find(&leave_out, s->names[i]) : -1;
        if (k >= 0) {
            excluded[i] = 1;
            used[k] = 1;
            o->n_excluded++;
            *hash = fnv64(*hash, &i, sizeof i);
        }
    }
    int unmatched = 0;
    for (int k = 0; k < leave_out.n; k++)
        unmatched += !used[k];
    if (leave_out.n && !o->n_excluded) {
        tr_error("--exclude %s: none of its %d names is a training image of %s (a name matches an image's "
                 "whole path or its last components, such as SMILEs/negatives/negatives7/5.jpg)",
                 o->exclude, leave_out.n, data_desc);
        goto done;
    }
    if (!o->quiet)
        fprintf(stderr, "fit: leaving out %d training image%s listed in %s%s", o->n_excluded,
                o->n_excluded == 1 ? "" : "s", o->exclude, unmatched ? "" : "\n");
    if (!o->quiet && unmatched)
        fprintf(stderr, " (%d listed names are not training images here)\n", unmatched);
    rc = 0;
done:
    free(used);
    name_list_free(&leave_out);
    return rc;
}

/* --val-predictions: the saved model (the best epoch's, as a user gets it)
 * on the validation images, in eval --predictions' format. */
static int write_val_predictions(const fit_opts *o, const ds_set *s, const int *val_idx, int n_val)
{
    nn_net *saved = NULL;
    nn_error e = {{0}};
    if (nn_net_load(o->out, &saved, &e)) {
        tr_error("--val-predictions: %s", e.msg);
        return -1;
    }
    int n_out = nn_net_n_outputs(saved);
    float *probs = malloc((size_t)(n_val ? n_val : 1) * (size_t)n_out * sizeof *probs);
    int rc = -1;
    if (!probs)
        tr_error("out of memory");
    else if (!tr_predict(saved, s, val_idx, n_val, probs) &&
             !tr_write_predictions(o->val_predictions, s, val_idx, n_val, probs, n_out))
        rc = 0;
    if (!rc && !o->quiet)
        fprintf(stderr, "wrote the predictions for %d validation images to %s\n", n_val, o->val_predictions);
    free(probs);
    nn_net_free(saved);
    return rc;
}

int tr_cmd_fit(int argc, char **argv)
{
    fit_opts o;
    int rc = parse_fit(argc, argv, &o);
    if (rc)
        return rc;
    int n_classes = tr_data_classes(&o.data);
    nn_net *net = make_net(o.arch, n_classes);
    if (!net)
        return TR_EXIT_FAIL;
    nn_net_init_params(net, (uint64_t)o.seed);
    int n_out = nn_net_n_outputs(net);

    nn_input_spec spec = *nn_net_input(net);
    if (o.norm >= 0)
        spec.norm = (nn_norm)o.norm;
    spec.crop = o.crop;
    spec.equalize = o.equalize;
    spec.flip_average = o.flip_average; /* inference only: not in the resume hash */
    spec.mean = 0;
    spec.std = 1;

    fit_state *st = calloc(1, sizeof *st);
    ds_set s;
    int *idx = NULL, *train_idx = NULL, *val_idx = NULL, *labels = NULL;
    float *x = NULL, *probs = NULL, *xmix = NULL, *mix = NULL, *losses = NULL;
    int *labels_b = NULL, *perm = NULL;
    unsigned char *dropped = NULL, *excluded = NULL;
    uint8_t *tmp = NULL;
    nn_trainer *tr = NULL;
    nn_net *teacher[TR_MAX_TEACHERS] = {0};
    tr_teachers *teachers = NULL;
    ds_set_init(&s);
    rc = TR_EXIT_FAIL;
    if (!st)
        goto done;
    char data_desc[4096];
    tr_data_describe(&o.data, data_desc, sizeof data_desc);
    o.data.keep_names = o.exclude || o.val_predictions;
    if (tr_data_load(&o.data, &spec, DS_LOAD_TRAIN, &s))
        goto done;
    if (s.n == 0) {
        tr_error("no training images in %s", data_desc);
        goto done;
    }

    /* Validation: a seeded, person-disjoint share of the training split.
     * Images --exclude lists take part in neither. */
    train_idx = malloc((size_t)s.n * sizeof *train_idx);
    val_idx = malloc((size_t)s.n * sizeof *val_idx);
    idx = malloc((size_t)s.n * sizeof *idx);
    int n_train = 0, n_val = 0;
    uint64_t excluded_hash = 0xcbf29ce484222325ull;
    if (!train_idx || !val_idx || !idx)
        goto nomem;
    if (o.exclude) {
        if (!(excluded = calloc((size_t)s.n, 1)))
            goto nomem;
        if (mark_excluded(&o, &s, data_desc, excluded, &excluded_hash))
            goto done;
    }
    for (int i = 0; i < s.n; i++) {
        if (excluded && excluded[i])
            continue;
        if (is_val(&s, i, o.val_fraction, (uint64_t)o.seed, o.fold, o.folds))
            val_idx[n_val++] = i;
        else
            train_idx[n_train++] = i;
    }
    if (n_train == 0) {
        tr_error("no training images left after holding out the validation share");
        goto done;
    }

    if (spec.norm == NN_NORM_MEANSTD) {
        double sum = 0, sq = 0, cnt = 0;
        size_t px = (size_t)s.width * (size_t)s.height;
        for (int k = 0; k < n_train; k++) {
            const uint8_t *im = s.pixels + (size_t)train_idx[k] * px;
            for (size_t p = 0; p < px; p++) {
                double v = im[p] / 255.0;
                sum += v;
                sq += v * v;
            }
            cnt += (double)px;
        }
        spec.mean = (float)(sum / cnt);
        spec.std = (float)sqrt(fmax(sq / cnt - (sum / cnt) * (sum / cnt), 1e-12));
    }
    nn_error e = {{0}};
    if (nn_net_set_input(net, &spec, &e)) {
        tr_error("%s", e.msg);
        goto done;
    }
    for (int i = 0; i < o.n_teachers; i++)
        if (!(teacher[i] = load_teacher(o.teachers[i], net)))
            goto done;
    if (o.n_teachers && !(teachers = tr_teachers_new(teacher, o.n_teachers, o.batch, o.threads, &e))) {
        tr_error("--teacher: %s", e.msg);
        goto done;
    }

    /* Class weights: w_c = max_count / count_c over the training share. */
    float cw[16];
    long counts[16] = {0};
    for (int k = 0; k < n_train; k++)
        counts[s.labels[train_idx[k]]]++;
    long cmax = 0, cmin = -1;
    for (int c = 0; c < n_classes; c++) {
        cmax = counts[c] > cmax ? counts[c] : cmax;
        cmin = cmin < 0 || counts[c] < cmin ? counts[c] : cmin;
    }
    int balanced = o.class_weights == 2 || (o.class_weights == 0 && cmin > 0 && (double)cmax / (double)cmin > 1.5);
    for (int c = 0; c < n_classes; c++)
        cw[c] = balanced && counts[c] ? (float)cmax / (float)counts[c] : 1.0f;

    nn_opt_kind kind;
    nn_opt_from_name(o.optimizer, &kind);
    nn_opt_config ocfg;
    nn_opt_defaults(kind, &ocfg);
    if (o.has_lr)
        ocfg.lr = o.lr;
    ocfg.weight_decay = o.weight_decay;
    ocfg.decoupled = o.decoupled;
    ocfg.average_decay = o.ema;
    nn_trainer_config tcfg = {.max_batch = o.batch, .threads = o.threads, .loss = NN_LOSS_AUTO,
                              .class_weights = cw, .seed = (uint64_t)o.seed ^ 0xd5a61266f0c9392cull,
                              .label_smoothing = o.label_smoothing, .sam_rho = o.sam};
    if (nn_trainer_new(net, &tcfg, &ocfg, &tr, &e)) {
        tr_error("%s", e.msg);
        goto done;
    }

    size_t px = (size_t)s.width * (size_t)s.height;
    x = malloc((size_t)o.batch * px * sizeof *x);
    labels = malloc((size_t)o.batch * sizeof *labels);
    probs = malloc((size_t)o.batch * (size_t)n_out * sizeof *probs);
    tmp = malloc(px);
    if (o.mixup > 0) {
        xmix = malloc((size_t)o.batch * px * sizeof *xmix);
        labels_b = malloc((size_t)o.batch * sizeof *labels_b);
        mix = malloc((size_t)o.batch * sizeof *mix);
        perm = malloc((size_t)o.batch * sizeof *perm);
        if (!xmix || !labels_b || !mix || !perm)
            goto nomem;
    }
    if (o.drop_hardest > 0) {
        losses = malloc((size_t)o.batch * sizeof *losses);
        dropped = malloc((size_t)o.batch);
        if (!losses || !dropped)
            goto nomem;
    }
    if (!x || !labels || !probs || !tmp)
        goto nomem;

    /* What must match for a checkpoint to continue this run. */
    char cfgtext[8192];
    snprintf(cfgtext, sizeof cfgtext, "%s|%s|%s|%d|%d|%g|%g|%d|%d|%d|%d|%g|%g|%g|%d|%d|%g|%d|%d|%d|%g|%g|%g", data_desc,
             nn_net_arch_text(net), o.optimizer, o.batch, o.seed, (double)ocfg.lr, (double)o.val_fraction,
             n_train, n_val, o.augment, (int)spec.norm, (double)spec.crop.dx, (double)spec.crop.dy,
             (double)spec.crop.scale, spec.equalize, o.schedule, (double)o.gamma, o.threads, balanced,
             o.bn_batches, (double)o.ema, (double)o.label_smoothing, (double)o.mixup);
    /* appended only when on, so older checkpoints still match */
    if (o.erase > 0)
        append_text(cfgtext, sizeof cfgtext, "|erase %g", (double)o.erase);
    if (o.augment_strength != 1.0f)
        append_text(cfgtext, sizeof cfgtext, "|augment x%g", (double)o.augment_strength);
    if (o.drop_hardest > 0)
        append_text(cfgtext, sizeof cfgtext, "|drop %g %d", (double)o.drop_hardest, o.drop_warmup);
    if (o.sam > 0)
        append_text(cfgtext, sizeof cfgtext, "|sam %g", (double)o.sam);
    if (o.weight_decay > 0) /* a resume with another decay was not caught before */
        append_text(cfgtext, sizeof cfgtext, "|wd %g%s", (double)o.weight_decay,
                    o.decoupled ? " decoupled" : "");
    if (o.folds)
        append_text(cfgtext, sizeof cfgtext, "|fold %d/%d", o.fold, o.folds);
    if (o.exclude)
        append_text(cfgtext, sizeof cfgtext, "|exclude %016llx", (unsigned long long)excluded_hash);
    for (int i = 0; i < o.n_teachers; i++) /* each teacher by its weights, wherever the file is */
        append_text(cfgtext, sizeof cfgtext, "|teacher %016llx %g",
                    (unsigned long long)fnv64(0xcbf29ce484222325ull, nn_net_params(teacher[i]),
                                              nn_net_n_params(teacher[i]) * sizeof(float)),
                    (double)o.teacher_weight);
    uint64_t cfg_hash = fnv64(0xcbf29ce484222325ull, cfgtext, strlen(cfgtext));

    char ckpt[4200];
    snprintf(ckpt, sizeof ckpt, "%s", o.checkpoint ? o.checkpoint : "");
    if (!o.checkpoint)
        snprintf(ckpt, sizeof ckpt, "%s.ckpt", o.out);

    if (o.resume) {
        if (nn_trainer_load_checkpoint(tr, o.resume, st, sizeof *st, &e)) {
            tr_error("%s", e.msg);
            goto done;
        }
        if (st->magic != STATE_MAGIC || st->version != STATE_VERSION) {
            tr_error("%s: not a smile-train fit checkpoint", o.resume);
            goto done;
        }
        if (st->config_hash != cfg_hash) {
            tr_error("%s: the checkpoint was made with other data or options; give the same options as its run", o.resume);
            goto done;
        }
        if (!o.quiet)
            fprintf(stderr, "resuming %s at epoch %d (batch %d)\n", o.resume, st->epoch + 1, st->batch_pos);
    } else {
        st->magic = STATE_MAGIC;
        st->version = STATE_VERSION;
        st->config_hash = cfg_hash;
        nn_rng_seed(&st->data_rng, (uint64_t)o.seed * 2 + 1);
        nn_rng_seed(&st->aug_rng, (uint64_t)o.seed * 2 + 2);
        st->lr = ocfg.lr;
        st->best_acc = -1;
        st->best_loss = INFINITY;
        st->plateau_best = INFINITY;
        const char *sde = getenv("SOURCE_DATE_EPOCH");
        st->start_time = sde ? strtoll(sde, NULL, 10) : (int64_t)time(NULL);
    }
    nn_trainer_set_lr(tr, st->lr);

    ds_augment_config acfg;
    ds_augment_defaults(&acfg);
    acfg.rotate_deg *= o.augment_strength;
    acfg.scale *= o.augment_strength;
    acfg.shift *= o.augment_strength;
    acfg.brightness *= o.augment_strength;
    acfg.contrast *= o.augment_strength;
    acfg.erase = o.erase;
    int tty = isatty(2) && !o.quiet;
    int n_batches = (n_train + o.batch - 1) / o.batch;
    if (!o.quiet)
        fprintf(stderr, "fit: %s, %zu parameters, %s lr %g, batch %d, %d train / %d validation images, "
                        "class weights %s, %d thread%s\n",
                o.arch, nn_net_n_params(net), o.optimizer, (double)st->lr, o.batch, n_train, n_val,
                balanced ? "balanced" : "none", o.threads, o.threads == 1 ? "" : "s");
    /* Until the average's warm-up reaches DECAY, DECAY changes nothing. */
    uint64_t ema_steps = (uint64_t)n_batches * (uint64_t)o.epochs;
    if (o.ema > 0 && !o.quiet && nn_optim_average_warmup(ema_steps) < o.ema)
        fprintf(stderr, "fit: note: --ema %g would take over from the warm-up (1+t)/(10+t) after %.0f steps, "
                        "and this run has %llu: every decay above %.4f gives the same model\n",
                (double)o.ema, nn_optim_average_warmup_steps(o.ema), (unsigned long long)ema_steps,
                (double)nn_optim_average_warmup(ema_steps));
    for (int i = 0; i < o.n_teachers && !o.quiet; i++)
        fprintf(stderr, "fit: distilling %s (teacher weight %g%s%s)\n", o.teachers[i], (double)o.teacher_weight,
                o.n_teachers > 1 ? ", the teachers' mean" : "",
                nn_net_input(teacher[i])->flip_average ? ", its outputs averaged with the mirror image's" : "");
    tr_install_sigint();
    /* Tests interrupt at an exact batch, as Ctrl-C would somewhere. */
    const char *stop_env = getenv("SMILE_TRAIN_INTERRUPT_AFTER");
    long stop_after = stop_env ? strtol(stop_env, NULL, 10) : -1, steps_run = 0;
    rc = TR_EXIT_OK;
    while (st->epoch < o.epochs && !st->stopped) {
        int ep = st->epoch + 1;
        if (st->batch_pos == 0) {
            st->epoch_rng = st->data_rng;
            st->ep_loss = 0;
            st->ep_time = 0;
            st->ep_cpu = 0;
            st->ep_correct = st->ep_seen = 0;
        } else {
            st->data_rng = st->epoch_rng;
        }
        memcpy(idx, train_idx, (size_t)n_train * sizeof *idx);
        nn_rng_shuffle(&st->data_rng, idx, (size_t)n_train);
        double t_start = tr_now(), t_last = 0, c_start = cpu_now();
        int b;
        for (b = st->batch_pos; b < n_batches; b++) {
            if (tr_interrupted)
                break;
            int off = b * o.batch;
            int nb = n_train - off < o.batch ? n_train - off : o.batch;
            fill_batch(&spec, &s, idx + off, nb, o.augment, &acfg, &st->aug_rng, tmp, x, labels);
            if (o.drop_hardest > 0 && ep > o.drop_warmup)
                nb = tr_drop_hardest(tr, x, labels, nb, px, n_out, o.drop_hardest, probs, losses, dropped);
            int hits = 0;
            float loss;
            if (o.mixup > 0) {
                tr_mix_batch(x, labels, nb, px, o.mixup, &st->aug_rng, xmix, labels_b, mix, perm);
                loss = nn_trainer_step_mixed(tr, x, labels, labels_b, mix, nb, &hits);
            } else if (teachers) {
                const float *taught = tr_teachers_predict(teachers, x, nb);
                loss = nn_trainer_step_distill(tr, x, labels, taught, o.teacher_weight, nb, &hits);
            } else {
                loss = nn_trainer_step(tr, x, labels, nb, &hits);
            }
            st->ep_loss += (double)loss * nb;
            st->ep_correct += hits;
            st->ep_seen += nb;
            st->batch_pos = b + 1;
            if (++steps_run == stop_after)
                tr_interrupted = 1;
            double now = tr_now();
            if (tty && (now - t_last > 0.25 || b + 1 == n_batches)) {
                t_last = now;
                double el = st->ep_time + (now - t_start);
                double eta = el / (b + 1) * (n_batches - b - 1);
                char etas[32];
                fmt_time(eta, etas, sizeof etas);
                int w = 24, fill = (int)((double)(b + 1) / n_batches * w);
                char bar[32];
                for (int i = 0; i < w; i++)
                    bar[i] = i < fill ? '#' : '.';
                bar[w] = 0;
                fprintf(stderr, "\repoch %d/%d [%s] %3d%% loss %.4f acc %.4f ETA %s   ", ep, o.epochs, bar,
                        (b + 1) * 100 / n_batches, st->ep_loss / (double)st->ep_seen,
                        (double)st->ep_correct / (double)st->ep_seen, etas);
            }
        }
        st->ep_time += tr_now() - t_start;
        st->ep_cpu += cpu_now() - c_start;
        if (tr_interrupted) {
            if (tty)
                fputc('\n', stderr);
            if (nn_trainer_save_checkpoint(tr, ckpt, st, sizeof *st, &e)) {
                tr_error("interrupted, and the checkpoint could not be written: %s", e.msg);
                rc = TR_EXIT_FAIL;
            } else {
                fprintf(stderr, "smile-train: interrupted in epoch %d at batch %d/%d; continue with --resume %s\n",
                        ep, st->batch_pos, n_batches, ckpt);
                rc = TR_EXIT_INTERRUPTED;
            }
            goto done;
        }
        /* With --ema, everything up to the checkpoint sees the averaged
         * weights. The first batches of this epoch's order, augmented as in
         * training, recalibrate batchnorm; a net without it has nothing to do. */
        int averaged = nn_trainer_swap_average(tr);
        int n_bn = !nn_net_has_batchnorm(net) ? 0 : o.bn_batches < n_batches ? o.bn_batches : n_batches;
        if (n_bn > 0 && nn_trainer_bn_recalibrate_begin(tr, &e) != NN_OK) {
            tr_error("batchnorm recalibration skipped: %s", e.msg);
        } else if (n_bn > 0) {
            for (b = 0; b < n_bn; b++) {
                int off = b * o.batch;
                int nb = n_train - off < o.batch ? n_train - off : o.batch;
                fill_batch(&spec, &s, idx + off, nb, o.augment, &acfg, &st->aug_rng, tmp, x, labels);
                if (nn_trainer_bn_recalibrate_add(tr, x, labels, nb, &e))
                    break;
            }
            nn_trainer_bn_recalibrate_end(tr);
        }
        double vloss = 0, vacc = 0;
        if (n_val)
            evaluate(tr, &spec, &s, val_idx, n_val, o.batch, n_out, x, labels, probs, &vloss, &vacc);
        row *r = &st->rows[st->n_rows++];
        r->train_loss = (float)(st->ep_loss / (double)st->ep_seen);
        r->train_acc = (float)((double)st->ep_correct / (double)st->ep_seen);
        r->val_loss = (float)vloss;
        r->val_acc = (float)vacc;
        r->epoch_s = (float)st->ep_time;
        r->epoch_cpu_s = (float)st->ep_cpu;
        r->lr = st->lr;
        st->epoch = ep;
        st->batch_pos = 0;
        if (tty)
            fputc('\n', stderr);
        if (!o.quiet)
            fprintf(stderr, "epoch %d/%d  loss %.4f  acc %.4f  val_loss %.4f  val_acc %.4f  lr %.3g  %.2f s (cpu %.2f s)\n",
                    ep, o.epochs, r->train_loss, r->train_acc, r->val_loss, r->val_acc, (double)r->lr,
                    (double)r->epoch_s, (double)r->epoch_cpu_s);

        /* The best model by validation accuracy (ties: lower loss). */
        if (n_val) {
            if ((float)vacc > st->best_acc || ((float)vacc == st->best_acc && (float)vloss < st->best_loss)) {
                st->best_acc = (float)vacc;
                st->best_loss = (float)vloss;
                st->best_epoch = ep;
                st->stale = 0;
                if (save_model(net, &o, st, data_desc, ep, vacc, vloss)) {
                    rc = TR_EXIT_FAIL;
                    goto done;
                }
            } else if (o.early_stop && ++st->stale >= o.early_stop) {
                st->stopped = 1;
                if (!o.quiet)
                    fprintf(stderr, "early stop: no better validation accuracy for %d epochs\n", o.early_stop);
            }
        }
        if (!n_val && st->epoch == o.epochs && save_model(net, &o, st, data_desc, st->epoch, -1, 0)) {
            rc = TR_EXIT_FAIL;
            goto done;
        }
        if (averaged)
            nn_trainer_swap_average(tr);
        /* Learning-rate schedule. */
        if (o.schedule == SCHED_STEP && ep % o.step_size == 0) {
            st->lr *= o.gamma;
        } else if (o.schedule == SCHED_PLATEAU && n_val) {
            if ((float)vloss < st->plateau_best - 1e-4f) {
                st->plateau_best = (float)vloss;
                st->plateau_bad = 0;
            } else if (++st->plateau_bad >= o.patience) {
                st->lr *= o.gamma;
                st->plateau_bad = 0;
            }
        } else if (o.schedule == SCHED_COSINE) {
            /* Computed from the epoch, not multiplied, so a resume that
             * grows --epochs stretches the rest of the curve smoothly. */
            st->lr = (float)(0.5 * (double)ocfg.lr * (1.0 + cos(M_PI * ep / o.epochs)));
        }
        nn_trainer_set_lr(tr, st->lr);
        if (nn_trainer_save_checkpoint(tr, ckpt, st, sizeof *st, &e)) {
            tr_error("%s", e.msg);
            rc = TR_EXIT_FAIL;
            goto done;
        }
        write_report(&o, st, data_desc, n_train, n_val);
    }
    if (write_report(&o, st, data_desc, n_train, n_val))
        rc = TR_EXIT_FAIL;
    if (rc == TR_EXIT_OK && o.val_predictions && write_val_predictions(&o, &s, val_idx, n_val))
        rc = TR_EXIT_FAIL;
    if (rc == TR_EXIT_OK && !o.quiet) {
        if (n_val)
            fprintf(stderr, "saved %s (epoch %d, val_acc %.4f); median epoch %.2f s\n", o.out, st->best_epoch,
                    (double)st->best_acc, median_epoch_s(st));
        else
            fprintf(stderr, "saved %s (epoch %d); median epoch %.2f s\n", o.out, st->epoch, median_epoch_s(st));
    }
    goto done;
nomem:
    tr_error("out of memory");
    rc = TR_EXIT_FAIL;
done:
    nn_trainer_free(tr);
    nn_net_free(net);
    tr_teachers_free(teachers);
    for (int i = 0; i < TR_MAX_TEACHERS; i++)
        nn_net_free(teacher[i]);
    ds_set_free(&s);
    free(st);
    free(idx);
    free(train_idx);
    free(val_idx);
    free(x);
    free(labels);
    free(probs);
    free(losses);
    free(dropped);
    free(excluded);
    free(tmp);
    free(xmix);
    free(labels_b);
    free(mix);
    free(perm);
    return rc;
}

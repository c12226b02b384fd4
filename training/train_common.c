/* train_common.c - helpers shared by smile-train's subcommands: messages,
 * strict number parsing, Ctrl-C, and loading the --data sources. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "train.h"

volatile int tr_interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    tr_interrupted = 1;
}

void tr_install_sigint(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void tr_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("smile-train: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int tr_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "smile-train %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'smile-train %s --help'.\n", cmd);
    va_end(ap);
    return TR_EXIT_USAGE;
}

double tr_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int tr_parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

int tr_parse_float(const char *s, float *out)
{
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int tr_data_add(tr_data *d, const char *text, const char *cmd)
{
    if (d->n == TR_MAX_DATA)
        return tr_usage_error(cmd, "at most %d --data sources", TR_MAX_DATA);
    char err[1024];
    if (ds_source_parse(text, &d->src[d->n], err, sizeof err))
        return tr_usage_error(cmd, "%s", err);
    d->n++;
    return 0;
}

int tr_data_set_positives(tr_data *d, const char *list, const char *cmd)
{
    char err[1024];
    for (int i = 0; i < d->n; i++)
        if (d->src[i].kind == DS_FOLDERS && !d->src[i].n_positives &&
            ds_source_set_positives(&d->src[i], list, err, sizeof err))
            return tr_usage_error(cmd, "--positive: %s", err);
    return 0;
}

int tr_data_classes(const tr_data *d)
{
    int c = 0;
    for (int i = 0; i < d->n; i++) {
        int k = ds_kind_classes(d->src[i].kind);
        if (c && k != c)
            return 0;
        c = k;
    }
    return c;
}

void tr_data_describe(const tr_data *d, char *buf, size_t len)
{
    buf[0] = 0;
    size_t used = 0;
    for (int i = 0; i < d->n && used + 1 < len; i++) {
        int w = snprintf(buf + used, len - used, "%s%s%s:%s", i ? " + " : "", ds_kind_name(d->src[i].kind),
                         d->src[i].detect ? ",detect" : "", d->src[i].path);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

int tr_data_load(const tr_data *d, const nn_input_spec *spec, int splits, ds_set *s)
{
    ds_set_init(s);
    void *det = NULL;
    char err[1024];
    for (int i = 0; i < d->n; i++) {
        if (d->src[i].detect && !det) {
            det = tr_detector_new(err, sizeof err);
            if (!det) {
                tr_error("%s: %s", d->src[i].path, err);
                ds_set_free(s);
                return -1;
            }
        }
        ds_load_options o = {.spec = spec, .splits = splits, .strict = d->strict, .log = stderr,
                             .detect = tr_detect, .detect_ctx = det, .max_per_split = d->limit,
                             .keep_names = d->keep_names};
        int before = s->n, skipped = s->n_skipped, noface = s->n_noface, pos = ds_count(s, -1, 1);
        int other = s->n_other;
        double t0 = tr_now();
        ds_status st = ds_load(&d->src[i], &o, s, err, sizeof err);
        if (st) {
            tr_error("%s", err);
            tr_detector_free(det);
            ds_set_free(s);
            return -1;
        }
        fprintf(stderr, "data %s:%s: %d images (%d of class 1), %d corrupt skipped, %d without a face, %.1f s\n",
                ds_kind_name(d->src[i].kind), d->src[i].path, s->n - before, ds_count(s, -1, 1) - pos,
                s->n_skipped - skipped, s->n_noface - noface, tr_now() - t0);
        if (s->n_other > other)
            fprintf(stderr, "data %s:%s: %d files left out, not JPEG, PNG or HEIF (the first: %s)\n",
                    ds_kind_name(d->src[i].kind), d->src[i].path, s->n_other - other, s->other_example);
    }
    tr_detector_free(det);
    return 0;
}


int tr_text_begin(tr_text *t, const char *path)
{
    t->text = NULL;
    t->size = 0;
    if (!(t->fp = open_memstream(&t->text, &t->size))) {
        tr_error("%s: out of memory", path);
        return -1;
    }
    return 0;
}

int tr_text_write(tr_text *t, const char *path)
{
    int rc = 0;
    nn_error e = {{0}};
    if (fclose(t->fp) || !t->text) {
        tr_error("%s: out of memory", path);
        rc = -1;
    } else if (nn_write_file_atomic(path, t->text, t->size, &e)) {
        tr_error("%s", e.msg);
        rc = -1;
    }
    free(t->text);
    t->text = NULL;
    t->fp = NULL;
    return rc;
}

int tr_write_predictions(const char *path, const ds_set *s, const int *idx, int n, const float *probs, int n_out)
{
    tr_text t;
    if (tr_text_begin(&t, path))
        return -1;
    fputs("image,label,predicted", t.fp);
    if (n_out == 1)
        fputs(",probability", t.fp);
    else
        for (int c = 0; c < n_out; c++)
            fprintf(t.fp, ",p%d", c);
    fputc('\n', t.fp);
    for (int k = 0; k < n; k++) {
        int i = idx ? idx[k] : k;
        const float *p = probs + (size_t)k * (size_t)n_out;
        tr_csv_field(t.fp, s->names && s->names[i] ? s->names[i] : "");
        fprintf(t.fp, ",%d,%d", s->labels[i], tr_predicted_class(p, n_out));
        for (int c = 0; c < n_out; c++)
            fprintf(t.fp, ",%.6f", (double)p[c]);
        fputc('\n', t.fp);
    }
    return tr_text_write(&t, path);
}

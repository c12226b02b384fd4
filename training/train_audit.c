/* train_audit.c - `smile-train audit`: training images whose label is
 * probably wrong, found by confident learning (Northcutt, Jiang and Chuang,
 * 2021) over out-of-fold predictions. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"

static const char audit_help[] =
    "Usage: smile-train audit [--out FILE] PREDICTIONS.csv...\n"
    "\n"
    "List the training images whose label is probably wrong. The predictions must\n"
    "come from nets that never trained on the images they predict: run\n"
    "  smile-train fit ... --val-fold I/K --val-predictions oofI.csv\n"
    "for I = 0 .. K-1 with the same --seed, so every image is predicted once.\n"
    "\n"
    "Confident learning: class c gets a threshold t_c, the mean probability of c\n"
    "over the images labelled c. An image counts as confidently of class j when\n"
    "p_j >= t_j (the most probable such j if several). The confident joint counts\n"
    "images by given label and confident class; an image labelled y but\n"
    "confidently of another class is a suspect. Suspects are listed most\n"
    "doubtful first (the lowest probability of their own label).\n"
    "\n"
    "An image found in several files (say the folds of two seeds) gets the mean\n"
    "of its probabilities; its label must agree.\n"
    "\n"
    "Options:\n"
    "  --out FILE   write the suspects as CSV, written atomically:\n"
    "               image,label,suggested,label_probability\n"
    "               ('smile-train fit --exclude FILE' leaves them out)\n"
    "  --help       this text\n"
    "\n"
    "Prints the thresholds, the confident joint, the number of suspects and the\n"
    "ten most doubtful.\n"
    "Exit status: 0 done, 1 a file cannot be read or is malformed, 2 bad arguments.\n";

#define AUDIT_MAX_CLASSES 10

typedef struct {
    char *name;
    int label;
    int count; /* rows merged into p */
    double p[AUDIT_MAX_CLASSES];
} audit_row;

typedef struct {
    audit_row *rows;
    int n, cap;
    int n_classes; /* 2 for a "probability" column */
} audit_set;

static int parse_prob(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !(v >= 0 && v <= 1))
        return -1;
    *out = v;
    return 0;
}

/* Appends the rows of one predictions file (eval --predictions, fit
 * --val-predictions) to set. */
static int read_predictions(const char *path, audit_set *set)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        tr_error("%s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int line_no = 0, rc = -1, n_fields = 0, n_classes = 0;
    char *field[AUDIT_MAX_CLASSES + 4];
    while ((len = getline(&line, &cap, fp)) >= 0) {
        line_no++;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (line_no == 1) {
            n_fields = tr_csv_split(line, field, AUDIT_MAX_CLASSES + 4);
            if (n_fields == 4 && !strcmp(field[3], "probability"))
                n_classes = 2;
            else if (n_fields >= 5 && n_fields <= AUDIT_MAX_CLASSES + 3 && !strcmp(field[3], "p0"))
                n_classes = n_fields - 3;
            if (n_fields < 4 || strcmp(field[0], "image") || strcmp(field[1], "label") ||
                strcmp(field[2], "predicted") || !n_classes) {
                tr_error("%s:1: not a predictions file: the header should be image,label,predicted,probability "
                         "(or p0,p1,... up to %d classes), as 'eval --predictions' and 'fit --val-predictions' "
                         "write it", path, AUDIT_MAX_CLASSES);
                goto done;
            }
            if (set->n_classes && set->n_classes != n_classes) {
                tr_error("%s: predicts %d classes, the files before it %d", path, n_classes, set->n_classes);
                goto done;
            }
            set->n_classes = n_classes;
            continue;
        }
        if (!len)
            continue;
        int got = tr_csv_split(line, field, AUDIT_MAX_CLASSES + 4);
        if (got != n_fields) {
            tr_error("%s:%d: %s (%d fields, the header has %d)", path, line_no,
                     got < 0 ? "a quoted name is not closed" : "a row of the wrong length", got, n_fields);
            goto done;
        }
        audit_row row = {.count = 1};
        if (!field[0][0] || tr_parse_int(field[1], 0, n_classes - 1, &row.label)) {
            tr_error("%s:%d: %s", path, line_no,
                     !field[0][0] ? "no image name" : "the label is not a class number of this file");
            goto done;
        }
        if (n_classes == 2 && n_fields == 4) {
            if (parse_prob(field[3], &row.p[1])) {
                tr_error("%s:%d: the probability '%s' is not a number in [0, 1]", path, line_no, field[3]);
                goto done;
            }
            row.p[0] = 1 - row.p[1];
        } else {
            for (int c = 0; c < n_classes; c++)
                if (parse_prob(field[3 + c], &row.p[c])) {
                    tr_error("%s:%d: p%d '%s' is not a number in [0, 1]", path, line_no, c, field[3 + c]);
                    goto done;
                }
        }
        if (set->n == set->cap) {
            int ncap = set->cap ? set->cap * 2 : 1024;
            audit_row *grown = realloc(set->rows, (size_t)ncap * sizeof *grown);
            if (!grown) {
                tr_error("%s: out of memory", path);
                goto done;
            }
            set->rows = grown;
            set->cap = ncap;
        }
        if (!(row.name = strdup(field[0]))) {
            tr_error("%s: out of memory", path);
            goto done;
        }
        set->rows[set->n++] = row;
    }
    if (ferror(fp)) {
        tr_error("%s: %s", path, strerror(errno));
        goto done;
    }
    if (line_no == 0) {
        tr_error("%s: empty, not a predictions file", path);
        goto done;
    }
    rc = 0;
done:
    free(line);
    fclose(fp);
    return rc;
}

static int cmp_row_name(const void *a, const void *b)
{
    return strcmp(((const audit_row *)a)->name, ((const audit_row *)b)->name);
}

/* Merges rows of the same image into one with the mean probabilities. */
static int merge_duplicates(audit_set *set)
{
    if (!set->n)
        return 0;
    qsort(set->rows, (size_t)set->n, sizeof *set->rows, cmp_row_name);
    int w = 0;
    for (int r = 1; r < set->n; r++) {
        audit_row *keep = &set->rows[w], *row = &set->rows[r];
        if (strcmp(keep->name, row->name)) {
            if (++w != r) {
                set->rows[w] = *row;
                row->name = NULL; /* moved: one owner */
            }
            continue;
        }
        if (keep->label != row->label) {
            tr_error("%s is labelled %d in one file and %d in another: the files describe different data",
                     row->name, keep->label, row->label);
            return -1;
        }
        for (int c = 0; c < set->n_classes; c++)
            keep->p[c] += row->p[c];
        keep->count++;
        free(row->name);
        row->name = NULL;
    }
    set->n = w + 1; /* the rows past it own no name now */
    for (int i = 0; i < set->n; i++)
        for (int c = 0; c < set->n_classes; c++)
            set->rows[i].p[c] /= set->rows[i].count;
    return 0;
}

/* The suspects: rows whose confident class differs from the label. */
typedef struct {
    int row, suggested;
} audit_suspect;

static const audit_set *sort_set;

static int cmp_suspect(const void *a, const void *b)
{
    const audit_suspect *x = a, *y = b;
    const audit_row *rx = &sort_set->rows[x->row], *ry = &sort_set->rows[y->row];
    double px = rx->p[rx->label], py = ry->p[ry->label];
    if (px != py)
        return px < py ? -1 : 1;
    return strcmp(rx->name, ry->name);
}

int tr_audit_confident(const double *p, int n_classes, const double *threshold)
{
    int best = -1;
    for (int c = 0; c < n_classes; c++)
        if (p[c] >= threshold[c] && (best < 0 || p[c] > p[best]))
            best = c;
    return best;
}

static int write_suspects(const char *path, const audit_set *set, const audit_suspect *sus, int n)
{
    tr_text t;
    if (tr_text_begin(&t, path))
        return -1;
    fputs("image,label,suggested,label_probability\n", t.fp);
    for (int k = 0; k < n; k++) {
        const audit_row *r = &set->rows[sus[k].row];
        tr_csv_field(t.fp, r->name);
        fprintf(t.fp, ",%d,%d,%.6f\n", r->label, sus[k].suggested, r->p[r->label]);
    }
    return tr_text_write(&t, path);
}

int tr_cmd_audit(int argc, char **argv)
{
    static const struct option lo[] = {
        {"out", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *cmd = "audit", *out = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(audit_help, stdout); return TR_EXIT_OK;
        case 'o': out = optarg; break;
        case ':': return tr_usage_error(cmd, "%s needs a value", argv[optind - 1]);
        default: return tr_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind == argc)
        return tr_usage_error(cmd, "no PREDICTIONS.csv given");

    audit_set set = {0};
    audit_suspect *sus = NULL;
    int rc = TR_EXIT_FAIL;
    for (int i = optind; i < argc; i++)
        if (read_predictions(argv[i], &set))
            goto done;
    if (merge_duplicates(&set))
        goto done;
    if (!set.n) {
        tr_error("no predictions in the %d file%s", argc - optind, argc - optind == 1 ? "" : "s");
        goto done;
    }
    int k = set.n_classes;
    double threshold[AUDIT_MAX_CLASSES] = {0};
    long given[AUDIT_MAX_CLASSES] = {0}, joint[AUDIT_MAX_CLASSES][AUDIT_MAX_CLASSES] = {{0}};
    for (int i = 0; i < set.n; i++) {
        threshold[set.rows[i].label] += set.rows[i].p[set.rows[i].label];
        given[set.rows[i].label]++;
    }
    for (int j = 0; j < k; j++)
        /* a class nobody carries can never be confident */
        threshold[j] = given[j] ? threshold[j] / (double)given[j] : 2.0;

    if (!(sus = malloc((size_t)set.n * sizeof *sus))) {
        tr_error("out of memory");
        goto done;
    }
    int n_sus = 0;
    long unsure = 0;
    for (int i = 0; i < set.n; i++) {
        int j = tr_audit_confident(set.rows[i].p, k, threshold);
        if (j < 0) {
            unsure++;
            continue;
        }
        joint[set.rows[i].label][j]++;
        if (j != set.rows[i].label)
            sus[n_sus++] = (audit_suspect){i, j};
    }
    sort_set = &set;
    qsort(sus, (size_t)n_sus, sizeof *sus, cmp_suspect);

    printf("images       %d (from %d file%s)\n", set.n, argc - optind, argc - optind == 1 ? "" : "s");
    printf("thresholds  ");
    for (int j = 0; j < k; j++)
        printf(" t%d %.4f", j, threshold[j]);
    printf("\nconfident joint (rows: given label, columns: confident class; %ld images above no threshold)\n",
           unsure);
    for (int a = 0; a < k; a++) {
        printf("  %2d:", a);
        for (int b = 0; b < k; b++)
            printf(" %7ld", joint[a][b]);
        printf("   (%ld labelled %d)\n", given[a], a);
    }
    printf("suspects     %d (%.2f %% of the images)\n", n_sus, 100.0 * n_sus / set.n);
    for (int s = 0; s < n_sus && s < 10; s++) {
        const audit_row *r = &set.rows[sus[s].row];
        printf("  %s  label %d, looks %d (p of its label %.3f)\n", r->name, r->label, sus[s].suggested,
               r->p[r->label]);
    }
    if (n_sus > 10)
        printf("  ... and %d more%s\n", n_sus - 10, out ? "" : " (--out FILE lists them all)");
    if (out && write_suspects(out, &set, sus, n_sus))
        goto done;
    if (out)
        printf("wrote %s\n", out);
    rc = TR_EXIT_OK;
done:
    for (int i = 0; i < set.n; i++)
        free(set.rows[i].name);
    free(set.rows);
    free(sus);
    return rc;
}

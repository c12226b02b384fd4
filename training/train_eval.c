/* train_eval.c - `smile-train eval`: accuracy, balanced accuracy, precision,
 * recall, F1, ROC AUC and the confusion matrix of a saved model on a split. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"

static const char eval_help[] =
    "Usage: smile-train eval --model MODEL --data KIND:PATH [--data ...] [OPTION...]\n"
    "\n"
    "Measure a saved model on a data set's fixed split. Each image is cut with the\n"
    "model's own input geometry and normalisation, as the app does.\n"
    "\n"
    "  --model MODEL           the model file\n"
    "  --data KIND[,OPT]:PATH  a data set (repeatable; see 'smile-train --help')\n"
    "  --split test|train|all  which split (default test)\n"
    "  --positive NAME[,NAME]  folder names that mean smiling (folders data)\n"
    "  --strict                a corrupt image is fatal (default: reported, skipped)\n"
    "  --limit N               at most N images per split and class\n"
    "  --face-cache FILE       reuse/keep the face boxes of 'detect' data in FILE\n"
    "  --single-view           score each face once, even when the model averages\n"
    "                          over the face and its mirror image (to measure what\n"
    "                          the averaging buys)\n"
    "  --json                  print one JSON object (accuracy, balanced_accuracy,\n"
    "                          precision, recall, f1, auc, n, confusion, ...)\n"
    "  --predictions FILE      also write one CSV row an image (written atomically):\n"
    "                          image,label,predicted and the probability of smiling\n"
    "                          (or p0..pN-1 for more classes), to look at the misses\n"
    "\n"
    "For two classes the positive class is 'smiling' and the threshold 0.5;\n"
    "for more, precision, recall and F1 are macro averages and AUC is the mean\n"
    "one-against-rest AUC.\n";

/* Area under the ROC curve of scores for positives vs negatives
 * (Mann-Whitney U with ties counted half). */
static double auc_binary(const float *score, const int *is_pos, int n)
{
    typedef struct {
        float s;
        int p;
    } pair;
    pair *v = malloc((size_t)n * sizeof *v);
    if (!v)
        return NAN;
    for (int i = 0; i < n; i++)
        v[i] = (pair){score[i], is_pos[i]};
    for (int gap = n / 2; gap > 0; gap /= 2) /* Shell sort by score */
        for (int i = gap; i < n; i++) {
            pair t = v[i];
            int j = i;
            while (j >= gap && v[j - gap].s > t.s) {
                v[j] = v[j - gap];
                j -= gap;
            }
            v[j] = t;
        }
    double rank_sum = 0;
    long npos = 0, nneg = 0;
    for (int i = 0; i < n;) {
        int j = i;
        while (j < n && v[j].s == v[i].s)
            j++;
        double avg_rank = 0.5 * (i + 1 + j); /* ranks i+1..j */
        for (int k = i; k < j; k++)
            if (v[k].p)
                rank_sum += avg_rank;
        i = j;
    }
    for (int i = 0; i < n; i++)
        v[i].p ? npos++ : nneg++;
    free(v);
    if (!npos || !nneg)
        return NAN;
    return (rank_sum - (double)npos * (double)(npos + 1) / 2) / ((double)npos * (double)nneg);
}

int tr_predicted_class(const float *p, int n_out)
{
    if (n_out == 1)
        return p[0] >= 0.5f;
    int pred = 0;
    for (int c = 1; c < n_out; c++)
        if (p[c] > p[pred])
            pred = c;
    return pred;
}

double tr_label_probability(const float *p, int n_out, int label)
{
    return n_out == 1 ? (label ? p[0] : 1.0 - p[0]) : p[label];
}

void tr_metrics_compute(const float *probs, int n_out, const int *labels, int n, int n_classes,
                        tr_metrics *m)
{
    memset(m, 0, sizeof *m);
    m->n = n;
    m->n_classes = n_classes;
    if (n_classes > 10)
        return;
    float *score = malloc((size_t)(n ? n : 1) * sizeof *score);
    int *pos = malloc((size_t)(n ? n : 1) * sizeof *pos);
    double loss = 0;
    for (int i = 0; i < n; i++) {
        const float *p = probs + (size_t)i * (size_t)n_out;
        double q = tr_label_probability(p, n_out, labels[i]);
        loss -= log(q > 1e-7 ? q : 1e-7);
        m->confusion[labels[i]][tr_predicted_class(p, n_out)]++;
    }
    m->loss = n ? loss / n : 0;
    long hits = 0;
    double recall_sum = 0, prec_sum = 0, f1_sum = 0;
    int present = 0;
    for (int c = 0; c < n_classes; c++) {
        hits += m->confusion[c][c];
        long tp = m->confusion[c][c], row = 0, col = 0;
        for (int k = 0; k < n_classes; k++) {
            row += m->confusion[c][k];
            col += m->confusion[k][c];
        }
        double rec = row ? (double)tp / (double)row : 0, prec = col ? (double)tp / (double)col : 0;
        if (row) {
            recall_sum += rec;
            present++;
        }
        prec_sum += prec;
        f1_sum += prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0;
    }
    m->accuracy = n ? (double)hits / n : 0;
    m->balanced_accuracy = present ? recall_sum / present : 0;
    if (n_classes == 2) {
        long tp = m->confusion[1][1], fp = m->confusion[0][1], fn = m->confusion[1][0];
        m->precision = tp + fp ? (double)tp / (double)(tp + fp) : 0;
        m->recall = tp + fn ? (double)tp / (double)(tp + fn) : 0;
        m->f1 = m->precision + m->recall > 0 ? 2 * m->precision * m->recall / (m->precision + m->recall) : 0;
        for (int i = 0; i < n; i++) {
            score[i] = n_out == 1 ? probs[i] : probs[(size_t)i * (size_t)n_out + 1];
            pos[i] = labels[i] == 1;
        }
        m->auc = score && pos ? auc_binary(score, pos, n) : NAN;
    } else {
        m->precision = prec_sum / n_classes;
        m->recall = recall_sum / (present ? present : 1);
        m->f1 = f1_sum / n_classes;
        double auc_sum = 0;
        int auc_n = 0;
        for (int c = 0; c < n_classes && score && pos; c++) {
            for (int i = 0; i < n; i++) {
                score[i] = probs[(size_t)i * (size_t)n_out + c];
                pos[i] = labels[i] == c;
            }
            double a = auc_binary(score, pos, n);
            if (!isnan(a)) {
                auc_sum += a;
                auc_n++;
            }
        }
        m->auc = auc_n ? auc_sum / auc_n : NAN;
    }
    free(score);
    free(pos);
}

int tr_predict(const nn_net *net, const ds_set *s, const int *idx, int n, float *probs)
{
    enum { B = 64 };
    nn_ctx *ctx = NULL;
    nn_error e = {{0}};
    if (nn_ctx_new(net, B, &ctx, &e)) {
        tr_error("%s", e.msg);
        return -1;
    }
    const nn_input_spec *spec = nn_net_input(net);
    size_t px = (size_t)s->width * (size_t)s->height;
    int n_out = nn_net_n_outputs(net);
    float *x = nn_ctx_input(ctx);
    for (int i = 0; i < n; i += B) {
        int b = n - i < B ? n - i : B;
        for (int k = 0; k < b; k++)
            nn_normalize_u8(spec, s->pixels + (size_t)idx[i + k] * px, x + (size_t)k * px);
        const float *p = nn_forward(ctx, x, b);
        memcpy(probs + (size_t)i * (size_t)n_out, p, (size_t)b * (size_t)n_out * sizeof *p);
    }
    nn_ctx_free(ctx);
    return 0;
}

static void json_num(const char *key, double v, int last)
{
    if (isnan(v))
        printf("  \"%s\": null%s\n", key, last ? "" : ",");
    else
        printf("  \"%s\": %.6f%s\n", key, v, last ? "" : ",");
}

int tr_cmd_eval(int argc, char **argv)
{
    static const struct option lo[] = {
        {"model", required_argument, 0, 'm'}, {"data", required_argument, 0, 'd'},
        {"split", required_argument, 0, 's'}, {"positive", required_argument, 0, 'P'},
        {"strict", no_argument, 0, 'S'},      {"limit", required_argument, 0, 'L'},
        {"json", no_argument, 0, 'j'},        {"face-cache", required_argument, 0, 'F'},
        {"single-view", no_argument, 0, 'V'}, {"predictions", required_argument, 0, 'p'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *cmd = "eval", *model = NULL, *positives = NULL, *split_name = "test", *predictions = NULL;
    tr_data data;
    memset(&data, 0, sizeof data);
    int json = 0, single_view = 0, splits = DS_LOAD_TEST, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(eval_help, stdout); return TR_EXIT_OK;
        case 'm': model = optarg; break;
        case 'd': if (tr_data_add(&data, optarg, cmd)) return TR_EXIT_USAGE; break;
        case 's':
            split_name = optarg;
            if (!strcmp(optarg, "test")) splits = DS_LOAD_TEST;
            else if (!strcmp(optarg, "train")) splits = DS_LOAD_TRAIN;
            else if (!strcmp(optarg, "all")) splits = DS_LOAD_ALL;
            else return tr_usage_error(cmd, "--split is test, train or all, not '%s'", optarg);
            break;
        case 'P': positives = optarg; break;
        case 'S': data.strict = 1; break;
        case 'L':
            if (tr_parse_int(optarg, 1, 1 << 30, &data.limit))
                return tr_usage_error(cmd, "--limit wants a positive count, not '%s'", optarg);
            break;
        case 'j': json = 1; break;
        case 'V': single_view = 1; break;
        case 'p': predictions = optarg; break;
        case 'F': tr_face_cache_path = optarg; break;
        case ':': return tr_usage_error(cmd, "%s needs a value", argv[optind - 1]);
        default: return tr_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return tr_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!model)
        return tr_usage_error(cmd, "no --model given");
    if (!data.n)
        return tr_usage_error(cmd, "no --data given");
    int n_classes = tr_data_classes(&data);
    if (!n_classes)
        return tr_usage_error(cmd, "the --data sets disagree on classes (mnist has 10, the others 2)");
    if (positives && tr_data_set_positives(&data, positives, cmd))
        return TR_EXIT_USAGE;

    nn_net *net = NULL;
    nn_error e = {{0}};
    if (nn_net_load(model, &net, &e)) {
        tr_error("%s", e.msg);
        return TR_EXIT_FAIL;
    }
    if (single_view && nn_net_input(net)->flip_average) {
        nn_input_spec one = *nn_net_input(net);
        one.flip_average = 0;
        nn_net_set_input(net, &one, &e); /* same sizes: cannot fail */
    }
    int n_out = nn_net_n_outputs(net);
    if (!(n_out == n_classes || (n_classes == 2 && n_out == 1))) {
        tr_error("%s has %d outputs but the data has %d classes", model, n_out, n_classes);
        nn_net_free(net);
        return TR_EXIT_FAIL;
    }
    data.keep_names = predictions != NULL;
    ds_set s;
    if (tr_data_load(&data, nn_net_input(net), splits, &s)) {
        nn_net_free(net);
        return TR_EXIT_FAIL;
    }
    int rc = TR_EXIT_FAIL;
    int *idx = malloc((size_t)(s.n ? s.n : 1) * sizeof *idx);
    float *probs = malloc((size_t)(s.n ? s.n : 1) * (size_t)n_out * sizeof *probs);
    if (!idx || !probs) {
        tr_error("out of memory");
        goto done;
    }
    if (s.n == 0) {
        tr_error("no images in the %s split", split_name);
        goto done;
    }
    for (int i = 0; i < s.n; i++)
        idx[i] = i;
    double t0 = tr_now();
    if (tr_predict(net, &s, idx, s.n, probs))
        goto done;
    double dt = tr_now() - t0;
    if (predictions && tr_write_predictions(predictions, &s, NULL, s.n, probs, n_out))
        goto done;
    tr_metrics m;
    tr_metrics_compute(probs, n_out, s.labels, s.n, n_classes, &m);
    char desc[4096];
    tr_data_describe(&data, desc, sizeof desc);
    int views = nn_net_input(net)->flip_average ? 2 : 1;
    if (json) {
        printf("{\n  \"model\": \"%s\",\n  \"split\": \"%s\",\n  \"n\": %d,\n  \"skipped\": %d,\n"
               "  \"no_face\": %d,\n  \"classes\": %d,\n  \"views\": %d,\n", model, split_name, m.n, s.n_skipped,
               s.n_noface, n_classes, views);
        json_num("accuracy", m.accuracy, 0);
        json_num("balanced_accuracy", m.balanced_accuracy, 0);
        json_num("precision", m.precision, 0);
        json_num("recall", m.recall, 0);
        json_num("f1", m.f1, 0);
        json_num("auc", m.auc, 0);
        json_num("loss", m.loss, 0);
        printf("  \"confusion\": [");
        for (int a = 0; a < n_classes; a++) {
            printf("%s[", a ? ", " : "");
            for (int b = 0; b < n_classes; b++)
                printf("%s%ld", b ? ", " : "", m.confusion[a][b]);
            printf("]");
        }
        printf("]\n}\n");
    } else {
        printf("model      %s%s\ndata       %s (%s split)\nimages     %d (%d corrupt skipped, %d without a face)\n",
               model, views == 2 ? " (each face and its mirror image averaged)" : "", desc, split_name, m.n,
               s.n_skipped, s.n_noface);
        printf("accuracy   %.4f\nbalanced   %.4f\nprecision  %.4f\nrecall     %.4f\nF1         %.4f\n"
               "ROC AUC    %.4f\nloss       %.4f\n",
               m.accuracy, m.balanced_accuracy, m.precision, m.recall, m.f1, m.auc, m.loss);
        printf("confusion  (rows: true class, columns: predicted)\n");
        for (int a = 0; a < n_classes; a++) {
            printf("  %d:", a);
            for (int b = 0; b < n_classes; b++)
                printf(" %7ld", m.confusion[a][b]);
            printf("\n");
        }
        printf("time       %.2f s (%.3f ms an image)\n", dt, 1e3 * dt / m.n);
    }
    rc = TR_EXIT_OK;
done:
    free(idx);
    free(probs);
    ds_set_free(&s);
    nn_net_free(net);
    return rc;
}

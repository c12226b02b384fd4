/* nn_train.c - the trainer: forward, loss, backward, optimizer step; batch
 * split over threads with per-thread gradients summed in a fixed order;
 * checkpoints. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn_internal.h"

#define NN_CKPT_VERSION 1u

#define NN_JOB_STATS 2

typedef struct {
    nn_trainer *tr;
    int t;
    const float *x;
    nn_targets tg;         /* of the whole batch */
    int start, end, total; /* samples [start, end) of a batch of total */
    int train;             /* 0 eval, 1 step, NN_JOB_STATS: train-mode forward only */
    float *probs;          /* eval: where probabilities go (may be NULL) */
    double loss;
    int correct;
} nn_job;

struct nn_trainer {
    nn_net *net;
    nn_trainer_config cfg;
    nn_loss_kind loss;
    int fused;     /* the output activation is folded into the loss */
    int upto;      /* layers run before the loss */
    int n_out;
    int threads, per_thread;
    float cw[2];   /* class weights for a single sigmoid output */
    float *cwv;    /* class weights, n_out (or 2) of them, or NULL */
    nn_ws *ws;
    nn_job *jobs;
    pthread_t *tids;
    nn_optim *opt;
    uint64_t step;
    double *bn_sum; /* recalibration: per batchnorm channel, sample-weighted mean then variance */
    double bn_n;    /* samples added */
    double *bn_tmp; /* 2 x the widest batchnorm: one batch's mean and var */
    int average_in; /* the optimizer's averaged weights are in net->params */
    float *sam_w;   /* sam_rho > 0: the weights while the perturbed pass runs */
};

static int label_ok(const nn_trainer *tr, int y) { return y >= 0 && y < (tr->n_out == 1 ? 2 : tr->n_out); }

static float sigmoid1(float z)
{
    if (z >= 0.0f)
        return 1.0f / (1.0f + expf(-z));
    float e = expf(z);
    return e / (1.0f + e);
}

/* Target of output o for sample s: its label mixed with the second label as
 * m * one_hot(y) + (1 - m) * one_hot(yb), smoothed towards 1/K (K = 2 for one
 * sigmoid output, where one_hot(y) is y itself), then blended with the
 * teacher's probability. */
static float target_of(const nn_targets *tg, int s, int o, int O, float smoothing)
{
    int y = tg->labels[s], yb = tg->labels_b ? tg->labels_b[s] : y;
    float m = tg->mix ? tg->mix[s] : 1.0f;
    float ta = O == 1 ? (float)y : (float)(o == y), tb = O == 1 ? (float)yb : (float)(o == yb);
    float t = m * ta + (1.0f - m) * tb;
    t = (1.0f - smoothing) * t + smoothing / (float)(O == 1 ? 2 : O);
    if (tg->teacher)
        t = (1.0f - tg->teacher_weight) * t + tg->teacher_weight * tg->teacher[(size_t)s * O + o];
    return t;
}

/* Loss of samples [0, n) given the top activations out (logits when fused);
 * writes the gradient (scaled by 1/total) into dtop when it is not NULL and
 * probabilities into probs when that is not NULL. Returns the weighted sum.
 * A mixed sample's class weight mixes too; a hit is a prediction of the label
 * with the larger share. */
double nn_loss_eval(nn_loss_kind loss, int n_out, const float *cw, float smoothing, const float *out,
                    const nn_targets *tg, int n, int total, float *dtop, float *probs, int *correct)
{
    int O = n_out, hits = 0;
    double sum = 0.0;
    float inv = 1.0f / (float)total;
    for (int s = 0; s < n; s++) {
        const float *z = out + (size_t)s * O;
        int y = tg->labels[s], yb = tg->labels_b ? tg->labels_b[s] : y;
        float m = tg->mix ? tg->mix[s] : 1.0f;
        float w = cw ? m * cw[y] + (1.0f - m) * cw[yb] : 1.0f;
        int ywin = m >= 0.5f ? y : yb;
        float *d = dtop ? dtop + (size_t)s * O : NULL;
        float *p = probs ? probs + (size_t)s * O : NULL;
        int pred;
        if (loss == NN_LOSS_BCE) {
            float zz = z[0], t = target_of(tg, s, 0, 1, smoothing);
            double l = fmax(zz, 0.0) - zz * t + log1p(exp(-fabs((double)zz)));
            float pr = sigmoid1(zz);
            sum += w * l;
            if (d)
                d[0] = w * (pr - t) * inv;
            if (p)
                p[0] = pr;
            pred = zz > 0.0f;
        } else if (loss == NN_LOSS_SOFTMAX_CE) {
            float mx = z[0];
            int am = 0;
            for (int o = 1; o < O; o++)
                if (z[o] > mx)
                    mx = z[o], am = o;
            double se = 0.0;
            for (int o = 0; o < O; o++)
                se += exp((double)z[o] - mx);
            double lse = mx + log(se), zt = 0.0;
            for (int o = 0; o < O; o++)
                zt += (double)target_of(tg, s, o, O, smoothing) * z[o];
            sum += w * (lse - zt);
            for (int o = 0; o < O; o++) {
                float pr = (float)exp((double)z[o] - lse);
                if (d)
                    d[o] = w * (pr - target_of(tg, s, o, O, smoothing)) * inv;
                if (p)
                    p[o] = pr;
            }
            pred = am;
        } else { /* MSE on the probabilities */
            double l = 0.0;
            int am = 0;
            for (int o = 0; o < O; o++) {
                float e = z[o] - target_of(tg, s, o, O, 0.0f);
                l += (double)e * e;
                if (d)
                    d[o] = w * 2.0f * e * inv / (float)O;
                if (p)
                    p[o] = z[o];
                if (z[o] > z[am])
                    am = o;
            }
            sum += w * l / O;
            pred = O == 1 ? z[0] > 0.5f : am;
        }
        hits += pred == ywin;
    }
    *correct = hits;
    return sum;
}

static void *run_job(void *arg)
{
    nn_job *j = arg;
    nn_trainer *tr = j->tr;
    nn_ws *ws = &tr->ws[j->t];
    const nn_net *net = tr->net;
    int n = j->end - j->start;
    j->loss = 0.0;
    j->correct = 0;
    int step = j->train == 1;
    if (step)
        memset(ws->grads, 0, net->n_params * sizeof(float));
    if (n <= 0)
        return NULL;
    size_t in = (size_t)net->input.width * net->input.height * net->input.channels;
    memcpy(ws->act[0], j->x + (size_t)j->start * in, (size_t)n * in * sizeof(float));
    uint64_t seed = tr->cfg.seed * 0x9E3779B97F4A7C15ull + tr->step;
    nn_run_forward(net, ws, n, tr->upto, j->train != 0, seed, j->start);
    float *dtop = step ? ws->dbuf[1] : NULL;
    float *probs = j->probs ? j->probs + (size_t)j->start * tr->n_out : NULL;
    nn_targets tg = j->tg; /* this job's samples */
    tg.labels += j->start;
    tg.labels_b = tg.labels_b ? tg.labels_b + j->start : NULL;
    tg.mix = tg.mix ? tg.mix + j->start : NULL;
    tg.teacher = tg.teacher ? tg.teacher + (size_t)j->start * tr->n_out : NULL;
    j->loss = nn_loss_eval(tr->loss, tr->n_out, tr->cwv, step ? tr->cfg.label_smoothing : 0.0f,
                           ws->act[tr->upto], &tg, n, j->total, dtop, probs, &j->correct);
    if (step)
        nn_run_backward(net, ws, n, tr->upto, dtop);
    return NULL;
}

/* Runs one job per thread; thread 0's share runs on the caller. */
static void run_all(nn_trainer *tr, const float *x, const nn_targets *tg, int batch, int train, float *probs)
{
    int T = tr->threads, chunk = (batch + T - 1) / T;
    for (int t = 0; t < T; t++) {
        nn_job *j = &tr->jobs[t];
        j->tr = tr, j->t = t, j->x = x, j->tg = *tg, j->total = batch;
        j->start = t * chunk < batch ? t * chunk : batch;
        j->end = j->start + chunk < batch ? j->start + chunk : batch;
        j->train = train, j->probs = probs;
    }
    int started[64] = {0};
    for (int t = 1; t < T; t++)
        if (tr->jobs[t].end > tr->jobs[t].start)
            started[t] = pthread_create(&tr->tids[t], NULL, run_job, &tr->jobs[t]) == 0 ? 1 : -1;
    run_job(&tr->jobs[0]);
    for (int t = 1; t < T; t++) {
        if (started[t] > 0)
            pthread_join(tr->tids[t], NULL);
        else if (started[t] < 0)
            run_job(&tr->jobs[t]); /* no thread to be had: same result, serially */
    }
}

nn_status nn_trainer_new(nn_net *net, const nn_trainer_config *cfg, const nn_opt_config *opt,
                         nn_trainer **out, nn_error *err)
{
    if (!net || !cfg || !opt || !out) {
        nn_seterr(err, "nn_trainer_new: NULL argument");
        return NN_ERR_ARG;
    }
    *out = NULL;
    if (cfg->max_batch < 1) {
        nn_seterr(err, "trainer: max_batch %d must be >= 1", cfg->max_batch);
        return NN_ERR_ARG;
    }
    nn_trainer *tr = calloc(1, sizeof *tr);
    if (!tr) {
        nn_seterr(err, "out of memory");
        return NN_ERR_NOMEM;
    }
    tr->net = net;
    tr->cfg = *cfg;
    tr->cfg.class_weights = NULL;
    tr->n_out = nn_net_n_outputs(net);
    int act = nn_net_out_act(net);
    nn_loss_kind loss = cfg->loss;
    if (loss == NN_LOSS_AUTO)
        loss = tr->n_out == 1 ? NN_LOSS_BCE : NN_LOSS_SOFTMAX_CE;
    if ((unsigned)loss > NN_LOSS_MSE || (loss == NN_LOSS_BCE && (tr->n_out != 1 || act == NN_L_SOFTMAX)) ||
        (loss == NN_LOSS_SOFTMAX_CE && (tr->n_out < 2 || act == NN_L_SIGMOID))) {
        nn_seterr(err, "trainer: loss %d does not fit a network with %d output(s)%s", (int)loss,
                  tr->n_out, act == NN_L_SIGMOID ? " and a sigmoid" : act == NN_L_SOFTMAX ? " and a softmax" : "");
        free(tr);
        return NN_ERR_ARG;
    }
    if (!(cfg->label_smoothing >= 0.0f && cfg->label_smoothing < 1.0f) ||
        (cfg->label_smoothing > 0.0f && loss == NN_LOSS_MSE)) {
        nn_seterr(err, "trainer: label smoothing %g must be in [0, 1), and 0 for the MSE loss",
                  (double)cfg->label_smoothing);
        free(tr);
        return NN_ERR_ARG;
    }
    if (!(cfg->sam_rho >= 0.0f && cfg->sam_rho <= 10.0f)) {
        nn_seterr(err, "trainer: SAM radius %g must be in [0, 10]", (double)cfg->sam_rho);
        free(tr);
        return NN_ERR_ARG;
    }
    tr->loss = loss;
    tr->fused = loss != NN_LOSS_MSE && act >= 0;
    tr->upto = net->n_layers - tr->fused;
    int ncw = tr->n_out == 1 ? 2 : tr->n_out;
    nn_status st = NN_ERR_NOMEM;
    if (cfg->class_weights) {
        tr->cwv = malloc((size_t)ncw * sizeof(float));
        if (!tr->cwv)
            goto nomem;
        for (int i = 0; i < ncw; i++) {
            tr->cwv[i] = cfg->class_weights[i];
            if (!(tr->cwv[i] >= 0.0f) || !isfinite(tr->cwv[i])) {
                nn_seterr(err, "trainer: class weight %d is %g; weights must be finite and >= 0",
                          i, (double)tr->cwv[i]);
                st = NN_ERR_ARG;
                goto fail;
            }
        }
    }
    int T = cfg->threads;
    if (T <= 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        T = nc > 0 ? (int)nc : 1;
    }
    if (T > 64)
        T = 64;
    if (T > cfg->max_batch)
        T = cfg->max_batch;
    tr->threads = T;
    tr->per_thread = (cfg->max_batch + T - 1) / T;
    tr->ws = calloc((size_t)T, sizeof *tr->ws);
    tr->jobs = calloc((size_t)T, sizeof *tr->jobs);
    tr->tids = calloc((size_t)T, sizeof *tr->tids);
    if (!tr->ws || !tr->jobs || !tr->tids)
        goto nomem;
    for (int t = 0; t < T; t++) {
        st = nn_ws_init(&tr->ws[t], net, tr->per_thread, 1, err);
        if (st)
            goto fail;
    }
    int widest = 1;
    for (int i = 0; i < net->n_layers; i++)
        if (net->layers[i].kind == NN_L_BATCHNORM && net->layers[i].in_c > widest)
            widest = net->layers[i].in_c;
    tr->bn_tmp = malloc(2 * (size_t)widest * sizeof *tr->bn_tmp);
    if (!tr->bn_tmp)
        goto nomem;
    if (cfg->sam_rho > 0.0f && !(tr->sam_w = malloc(net->n_params * sizeof(float))))
        goto nomem;
    st = nn_optim_new(opt, net->n_params, &tr->opt, err);
    if (st)
        goto fail;
    *out = tr;
    return NN_OK;
nomem:
    nn_seterr(err, "out of memory for the trainer");
    st = NN_ERR_NOMEM;
fail:
    nn_trainer_free(tr);
    return st;
}

void nn_trainer_free(nn_trainer *tr)
{
    if (!tr)
        return;
    if (tr->ws)
        for (int t = 0; t < tr->threads; t++)
            nn_ws_free(&tr->ws[t]);
    free(tr->ws);
    free(tr->jobs);
    free(tr->tids);
    free(tr->cwv);
    nn_optim_free(tr->opt);
    free(tr->bn_sum);
    free(tr->bn_tmp);
    free(tr->sam_w);
    free(tr);
}

static int check_batch(const nn_trainer *tr, const float *x, const int *labels, int batch)
{
    if (!x || !labels || batch < 1 || batch > tr->cfg.max_batch)
        return 0;
    for (int i = 0; i < batch; i++)
        if (!label_ok(tr, labels[i]))
            return 0;
    return 1;
}

/* Statistics of batchnorm layer i over the whole last batch, from the
 * per-thread ones (so they barely depend on the thread count): per channel
 * mean[c] and unbiased var[c]; returns the batch's sample count. */
static double batch_stats(const nn_trainer *tr, int i, double *mean, double *var)
{
    const nn_layer *l = &tr->net->layers[i];
    int C = l->in_c;
    double S = (double)l->in_h * l->in_w, N = 0.0;
    for (int t = 0; t < tr->threads; t++)
        N += (tr->jobs[t].end - tr->jobs[t].start) * S;
    for (int c = 0; c < C; c++) {
        double m = 0.0, v = 0.0;
        for (int t = 0; t < tr->threads; t++) {
            double n = (tr->jobs[t].end - tr->jobs[t].start) * S;
            if (n > 0)
                m += n * tr->ws[t].aux[tr->ws[t].aux_off[i] + (size_t)c];
        }
        m /= N;
        for (int t = 0; t < tr->threads; t++) {
            double n = (tr->jobs[t].end - tr->jobs[t].start) * S;
            if (n <= 0)
                continue;
            const float *a = tr->ws[t].aux + tr->ws[t].aux_off[i];
            double dm = a[c] - m;
            v += n * (a[2 * C + c] + dm * dm);
        }
        v /= N;
        mean[c] = m;
        var[c] = N > 1 ? v * N / (N - 1) : v;
    }
    return N / S;
}

/* Exponential running statistics, updated after every training step. */
static void update_running_stats(nn_trainer *tr)
{
    nn_net *net = tr->net;
    for (int i = 0; i < tr->upto; i++) {
        const nn_layer *l = &net->layers[i];
        if (l->kind != NN_L_BATCHNORM)
            continue;
        int C = l->in_c;
        double *mean = tr->bn_tmp, *var = mean + C;
        batch_stats(tr, i, mean, var);
        float *rm = net->state + l->s_off, *rv = rm + C;
        for (int c = 0; c < C; c++) {
            rm[c] = (1.0f - NN_BN_MOMENTUM) * rm[c] + NN_BN_MOMENTUM * (float)mean[c];
            rv[c] = (1.0f - NN_BN_MOMENTUM) * rv[c] + NN_BN_MOMENTUM * (float)var[c];
        }
    }
}

/* Forward and backward of the batch on every thread, the gradients summed
 * into thread 0's buffer in a fixed order (1, 2, ...), which it returns. */
static float *batch_gradient(nn_trainer *tr, const float *x, const nn_targets *tg, int batch)
{
    run_all(tr, x, tg, batch, 1, NULL);
    float *g = tr->ws[0].grads;
    size_t np = tr->net->n_params;
    for (int t = 1; t < tr->threads; t++) {
        if (tr->jobs[t].end <= tr->jobs[t].start)
            continue;
        const float *gt = tr->ws[t].grads;
        for (size_t k = 0; k < np; k++)
            g[k] += gt[k];
    }
    return g;
}

/* SAM's second pass: g becomes the gradient at w + rho * g / |g|. The same
 * step number gives both passes the same dropout masks; w is restored from
 * a copy, bit for bit. A zero or non-finite gradient is left as it is. */
static float *sharpness_aware_gradient(nn_trainer *tr, const float *x, const nn_targets *tg, int batch,
                                       float *g)
{
    size_t np = tr->net->n_params;
    float *w = tr->net->params;
    double norm = 0.0;
    for (size_t k = 0; k < np; k++)
        norm += (double)g[k] * g[k];
    norm = sqrt(norm);
    if (!(norm > 0.0) || !isfinite(norm))
        return g;
    float scale = (float)(tr->cfg.sam_rho / norm);
    memcpy(tr->sam_w, w, np * sizeof(float));
    for (size_t k = 0; k < np; k++)
        w[k] += scale * g[k];
    g = batch_gradient(tr, x, tg, batch);
    memcpy(w, tr->sam_w, np * sizeof(float));
    return g;
}

/* One update towards the targets tg, already checked. */
static float step_towards(nn_trainer *tr, const float *x, const nn_targets *tg, int batch, int *n_correct)
{
    if (tr->average_in)
        nn_trainer_swap_average(tr);
    float *g = batch_gradient(tr, x, tg, batch);
    update_running_stats(tr);
    /* loss and hits at w, before any perturbation */
    double loss = 0.0;
    int hits = 0;
    for (int t = 0; t < tr->threads; t++) {
        loss += tr->jobs[t].loss;
        hits += tr->jobs[t].correct;
    }
    if (tr->sam_w)
        g = sharpness_aware_gradient(tr, x, tg, batch, g);
    nn_optim_step(tr->opt, tr->net->params, g);
    tr->step++;
    if (n_correct)
        *n_correct = hits;
    return (float)(loss / batch);
}

float nn_trainer_step(nn_trainer *tr, const float *x, const int *labels, int batch, int *n_correct)
{
    return nn_trainer_step_mixed(tr, x, labels, NULL, NULL, batch, n_correct);
}

float nn_trainer_step_mixed(nn_trainer *tr, const float *x, const int *labels, const int *labels_b,
                            const float *mix, int batch, int *n_correct)
{
    if (n_correct)
        *n_correct = 0;
    if (!tr || !check_batch(tr, x, labels, batch) || (!labels_b) != (!mix))
        return NAN;
    if (mix) {
        if (!check_batch(tr, x, labels_b, batch))
            return NAN;
        for (int i = 0; i < batch; i++)
            if (!(mix[i] >= 0.0f && mix[i] <= 1.0f))
                return NAN;
    }
    nn_targets tg = {.labels = labels, .labels_b = labels_b, .mix = mix};
    return step_towards(tr, x, &tg, batch, n_correct);
}

float nn_trainer_step_distill(nn_trainer *tr, const float *x, const int *labels, const float *teacher,
                              float weight, int batch, int *n_correct)
{
    if (n_correct)
        *n_correct = 0;
    if (!tr || !check_batch(tr, x, labels, batch) || !teacher || !(weight >= 0.0f && weight <= 1.0f))
        return NAN;
    for (size_t i = 0; i < (size_t)batch * (size_t)tr->n_out; i++)
        if (!(teacher[i] >= 0.0f && teacher[i] <= 1.0f))
            return NAN;
    nn_targets tg = {.labels = labels, .teacher = teacher, .teacher_weight = weight};
    return step_towards(tr, x, &tg, batch, n_correct);
}

float nn_trainer_eval(nn_trainer *tr, const float *x, const int *labels, int batch, float *probs)
{
    if (!tr || !check_batch(tr, x, labels, batch))
        return NAN;
    nn_targets tg = {.labels = labels};
    run_all(tr, x, &tg, batch, 0, probs);
    double loss = 0.0;
    for (int t = 0; t < tr->threads; t++)
        loss += tr->jobs[t].loss;
    return (float)loss;
}

/* ------------------------------------------------------------ batchnorm recalibration */

static size_t bn_channels(const nn_trainer *tr)
{
    size_t n = 0;
    for (int i = 0; i < tr->upto; i++)
        if (tr->net->layers[i].kind == NN_L_BATCHNORM)
            n += (size_t)tr->net->layers[i].in_c;
    return n;
}

nn_status nn_trainer_bn_recalibrate_begin(nn_trainer *tr, nn_error *err)
{
    if (!tr) {
        nn_seterr(err, "nn_trainer_bn_recalibrate_begin: NULL trainer");
        return NN_ERR_ARG;
    }
    size_t n = 2 * bn_channels(tr);
    free(tr->bn_sum);
    tr->bn_sum = calloc(n ? n : 1, sizeof *tr->bn_sum);
    tr->bn_n = 0.0;
    if (!tr->bn_sum) {
        nn_seterr(err, "out of memory for batchnorm recalibration");
        return NN_ERR_NOMEM;
    }
    return NN_OK;
}

nn_status nn_trainer_bn_recalibrate_add(nn_trainer *tr, const float *x, const int *labels, int batch,
                                        nn_error *err)
{
    if (!tr || !tr->bn_sum) {
        nn_seterr(err, "nn_trainer_bn_recalibrate_add: no trainer, or _begin was not called");
        return NN_ERR_ARG;
    }
    if (!check_batch(tr, x, labels, batch)) {
        nn_seterr(err, "nn_trainer_bn_recalibrate_add: bad batch (size %d, max %d, or a label out of range)",
                  batch, tr->cfg.max_batch);
        return NN_ERR_ARG;
    }
    nn_targets tg = {.labels = labels};
    run_all(tr, x, &tg, batch, NN_JOB_STATS, NULL);
    double *acc = tr->bn_sum;
    for (int i = 0; i < tr->upto; i++) {
        const nn_layer *l = &tr->net->layers[i];
        if (l->kind != NN_L_BATCHNORM)
            continue;
        int C = l->in_c;
        double *mean = tr->bn_tmp, *var = mean + C;
        double n = batch_stats(tr, i, mean, var);
        for (int c = 0; c < C; c++)
            acc[c] += n * mean[c], acc[C + c] += n * var[c];
        acc += 2 * C;
    }
    tr->bn_n += batch;
    return NN_OK;
}

void nn_trainer_bn_recalibrate_end(nn_trainer *tr)
{
    if (!tr || !tr->bn_sum)
        return;
    const double *acc = tr->bn_sum;
    for (int i = 0; i < tr->upto && tr->bn_n > 0; i++) {
        const nn_layer *l = &tr->net->layers[i];
        if (l->kind != NN_L_BATCHNORM)
            continue;
        int C = l->in_c;
        float *rm = tr->net->state + l->s_off, *rv = rm + C;
        for (int c = 0; c < C; c++)
            rm[c] = (float)(acc[c] / tr->bn_n), rv[c] = (float)(acc[C + c] / tr->bn_n);
        acc += 2 * C;
    }
    free(tr->bn_sum);
    tr->bn_sum = NULL;
}

void nn_trainer_set_lr(nn_trainer *tr, float lr) { nn_optim_set_lr(tr->opt, lr); }
float nn_trainer_get_lr(const nn_trainer *tr) { return nn_optim_get_lr(tr->opt); }

/* ------------------------------------------------------------ checkpoints */

int nn_trainer_swap_average(nn_trainer *tr)
{
    float *avg = tr ? nn_optim_average(tr->opt) : NULL;
    if (!avg || nn_optim_steps(tr->opt) == 0)
        return 0;
    float *p = tr->net->params;
    for (size_t i = 0; i < tr->net->n_params; i++) {
        float t = p[i];
        p[i] = avg[i];
        avg[i] = t;
    }
    tr->average_in = !tr->average_in;
    return tr->average_in;
}

nn_status nn_trainer_save_checkpoint(const nn_trainer *tr, const char *path, const void *extra,
                                     size_t extra_size, nn_error *err)
{
    if (!tr || !path || (!extra && extra_size)) {
        nn_seterr(err, "nn_trainer_save_checkpoint: NULL argument");
        return NN_ERR_ARG;
    }
    if (tr->average_in) {
        nn_seterr(err, "%s: not written, the averaged weights are swapped in (swap them out first)", path);
        return NN_ERR_ARG;
    }
    nn_buf model = {0}, b = {0};
    nn_status st = nn_net_serialize(tr->net, &model, err);
    if (st) {
        free(model.p);
        return st;
    }
    size_t osz = nn_optim_state_size(tr->opt);
    uint8_t *ost = malloc(osz + 1);
    if (!ost) {
        free(model.p);
        nn_seterr(err, "%s: out of memory", path);
        return NN_ERR_NOMEM;
    }
    nn_optim_save_state(tr->opt, ost);
    nn_buf_put(&b, NN_CKPT_MAGIC, 8);
    nn_buf_u32(&b, NN_CKPT_VERSION);
    nn_buf_u32(&b, 0);
    nn_buf_u64(&b, tr->step);
    nn_buf_u64(&b, model.len);
    nn_buf_put(&b, model.p, model.len);
    nn_buf_u64(&b, osz);
    nn_buf_put(&b, ost, osz);
    nn_buf_u64(&b, extra_size);
    nn_buf_put(&b, extra, extra_size);
    nn_buf_u32(&b, b.oom ? 0 : nn_crc32(0, b.p, b.len));
    free(model.p);
    free(ost);
    if (b.oom) {
        free(b.p);
        nn_seterr(err, "%s: out of memory", path);
        return NN_ERR_NOMEM;
    }
    st = nn_write_file_atomic(path, b.p, b.len, err);
    free(b.p);
    return st;
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--)
        v = v << 8 | p[k];
    return v;
}

nn_status nn_trainer_load_checkpoint(nn_trainer *tr, const char *path, void *extra,
                                     size_t extra_size, nn_error *err)
{
    if (!tr || !path || (!extra && extra_size)) {
        nn_seterr(err, "nn_trainer_load_checkpoint: NULL argument");
        return NN_ERR_ARG;
    }
    uint8_t *d;
    size_t n;
    nn_status st = nn_read_file(path, &d, &n, err);
    if (st)
        return st;
    st = NN_ERR_FORMAT;
    nn_net *net = NULL;
    if (n >= 8 && memcmp(d, NN_MODEL_MAGIC, 8) == 0) {
        nn_seterr(err, "%s: a model file, not a checkpoint: resume from the .ckpt file that fit "
                  "writes beside the model", path);
        goto out;
    }
    if (n < 8 || memcmp(d, NN_CKPT_MAGIC, 8) != 0) {
        nn_seterr(err, "%s: not a smile-detector checkpoint (no '%s' magic)", path, NN_CKPT_MAGIC);
        goto out;
    }
    if (n < 48) {
        nn_seterr(err, "%s: truncated at byte %zu: a checkpoint has at least 48 bytes", path, n);
        goto out;
    }
    uint32_t ver = (uint32_t)rd64(d + 8) & 0xffffffffu;
    if (ver != NN_CKPT_VERSION) {
        nn_seterr(err, "%s: checkpoint version %u; this build reads %u", path, ver, NN_CKPT_VERSION);
        st = NN_ERR_VERSION;
        goto out;
    }
    uint32_t want = (uint32_t)d[n - 4] | (uint32_t)d[n - 3] << 8 | (uint32_t)d[n - 2] << 16 |
                    (uint32_t)d[n - 1] << 24;
    if (nn_crc32(0, d, n - 4) != want) {
        nn_seterr(err, "%s: damaged or truncated checkpoint: checksum mismatch", path);
        st = NN_ERR_CHECKSUM;
        goto out;
    }
    size_t pos = 16, end = n - 4;
    uint64_t step = rd64(d + pos), mlen, olen, elen;
    pos += 8;
    mlen = rd64(d + pos);
    pos += 8;
    if (mlen > end - pos || end - pos - mlen < 16) {
        nn_seterr(err, "%s: byte %zu: model of %llu bytes does not fit", path, pos - 8,
                  (unsigned long long)mlen);
        goto out;
    }
    size_t mpos = pos;
    pos += mlen;
    olen = rd64(d + pos);
    pos += 8;
    if (olen > end - pos || end - pos - olen < 8) {
        nn_seterr(err, "%s: byte %zu: optimizer state of %llu bytes does not fit", path, pos - 8,
                  (unsigned long long)olen);
        goto out;
    }
    size_t opos = pos;
    pos += olen;
    elen = rd64(d + pos);
    pos += 8;
    if (elen != end - pos) {
        nn_seterr(err, "%s: byte %zu: caller data of %llu bytes does not fit", path, pos - 8,
                  (unsigned long long)elen);
        goto out;
    }
    if (elen != extra_size) {
        nn_seterr(err, "%s: the checkpoint holds %llu bytes of caller data; %zu expected", path,
                  (unsigned long long)elen, extra_size);
        st = NN_ERR_ARG;
        goto out;
    }
    st = nn_net_load_memory(d + mpos, mlen, path, &net, err);
    if (st)
        goto out;
    if (strcmp(net->arch, tr->net->arch) != 0) {
        nn_seterr(err, "%s: the checkpoint's architecture differs from the trainer's network", path);
        st = NN_ERR_ARG;
        goto out;
    }
    st = nn_optim_load_state(tr->opt, d + opos, olen, err);
    if (st)
        goto out;
    /* everything checked: now change the trainer */
    memcpy(tr->net->params, net->params, net->n_params * sizeof(float));
    tr->average_in = 0;
    memcpy(tr->net->state, net->state, net->n_state * sizeof(float));
    tr->net->input = net->input;
    for (int i = 0; i < net->n_meta; i++)
        nn_net_set_meta(tr->net, net->meta[i].key, net->meta[i].value);
    if (extra_size)
        memcpy(extra, d + pos, extra_size);
    tr->step = step;
    st = NN_OK;
out:
    nn_net_free(net);
    free(d);
    return st;
}

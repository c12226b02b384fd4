/* train_batch.c - what fit does to a batch between loading and the update:
 * mixup blends, loss truncation, and the distillation teachers' predictions. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"

/* Mixup: each image becomes m * itself + (1 - m) * a random other image of
 * the batch, m ~ Beta(alpha, alpha); labels_b and mix say how its target
 * blends. x: n x in_size; scratch: the same size; perm: n ints. */
void tr_mix_batch(float *x, const int *labels, int n, size_t in_size, float alpha, nn_rng *rng,
                  float *scratch, int *labels_b, float *mix, int *perm)
{
    memcpy(scratch, x, (size_t)n * in_size * sizeof *x);
    for (int i = 0; i < n; i++)
        perm[i] = i;
    nn_rng_shuffle(rng, perm, (size_t)n);
    for (int i = 0; i < n; i++) {
        float m = nn_rng_beta(rng, alpha, alpha);
        const float *b = scratch + (size_t)perm[i] * in_size;
        float *a = x + (size_t)i * in_size;
        for (size_t k = 0; k < in_size; k++)
            a[k] = m * a[k] + (1.0f - m) * b[k];
        labels_b[i] = labels[perm[i]];
        mix[i] = m;
    }
}

/* Loss truncation: leaves out of the update the share `share` of the batch
 * with the largest loss under the current weights (eval mode). After a
 * warm-up those are mostly mislabelled images, which otherwise pull hardest.
 * x: n x in_size and labels are compacted in place, keeping order; probs:
 * n x n_out, losses: n, dropped: n scratch. Returns the number kept. */
int tr_drop_hardest(nn_trainer *tr, float *x, int *labels, int n, size_t in_size, int n_out,
                    float share, float *probs, float *losses, unsigned char *dropped)
{
    int k = (int)(share * (float)n + 0.5f);
    if (k <= 0 || k >= n)
        return n;
    nn_trainer_eval(tr, x, labels, n, probs);
    for (int i = 0; i < n; i++) {
        float q = (float)tr_label_probability(probs + (size_t)i * (size_t)n_out, n_out, labels[i]);
        losses[i] = -logf(q > 1e-7f ? q : 1e-7f);
        dropped[i] = 0;
    }
    for (int d = 0; d < k; d++) { /* k passes: batches are small */
        int worst = -1;
        for (int i = 0; i < n; i++)
            if (!dropped[i] && (worst < 0 || losses[i] > losses[worst]))
                worst = i;
        dropped[worst] = 1;
    }
    int kept = 0;
    for (int i = 0; i < n; i++) {
        if (dropped[i])
            continue;
        if (kept != i) {
            memcpy(x + (size_t)kept * in_size, x + (size_t)i * in_size, in_size * sizeof *x);
            labels[kept] = labels[i];
        }
        kept++;
    }
    return kept;
}

#define TT_MAX_THREADS 64

typedef struct {
    struct tr_teachers *tt;
    int t;
} tt_job;

struct tr_teachers {
    int n, threads, chunk, n_out, max_batch;
    size_t in_size;
    nn_ctx **ctx;  /* n x threads */
    float *mean;   /* max_batch x n_out */
    const float *x;
    int batch;
    tt_job jobs[TT_MAX_THREADS];
};

tr_teachers *tr_teachers_new(nn_net *const *nets, int n, int max_batch, int threads, nn_error *err)
{
    if (n < 1 || n > TR_MAX_TEACHERS || max_batch < 1 || threads < 1) {
        snprintf(err->msg, sizeof err->msg, "teachers: %d nets, batch %d, %d threads out of range", n, max_batch,
                 threads);
        return NULL;
    }
    threads = threads < TT_MAX_THREADS ? threads : TT_MAX_THREADS;
    threads = threads < max_batch ? threads : max_batch;
    tr_teachers *tt = calloc(1, sizeof *tt);
    if (!tt)
        goto nomem;
    const nn_input_spec *in = nn_net_input(nets[0]);
    tt->n = n;
    tt->max_batch = max_batch;
    tt->threads = threads;
    tt->chunk = (max_batch + threads - 1) / threads;
    tt->n_out = nn_net_n_outputs(nets[0]);
    tt->in_size = (size_t)in->width * (size_t)in->height * (size_t)in->channels;
    tt->ctx = calloc((size_t)n * (size_t)threads, sizeof *tt->ctx);
    tt->mean = malloc((size_t)max_batch * (size_t)tt->n_out * sizeof *tt->mean);
    if (!tt->ctx || !tt->mean)
        goto nomem;
    for (int i = 0; i < n; i++)
        for (int t = 0; t < threads; t++)
            if (nn_ctx_new(nets[i], tt->chunk, &tt->ctx[i * threads + t], err)) {
                tr_teachers_free(tt);
                return NULL;
            }
    return tt;
nomem:
    tr_teachers_free(tt);
    snprintf(err->msg, sizeof err->msg, "teachers: out of memory");
    return NULL;
}

void tr_teachers_free(tr_teachers *tt)
{
    if (!tt)
        return;
    for (int i = 0; tt->ctx && i < tt->n * tt->threads; i++)
        nn_ctx_free(tt->ctx[i]);
    free(tt->ctx);
    free(tt->mean);
    free(tt);
}

/* Thread t's share of the batch through every teacher, averaged. */
static void *teach_chunk(void *arg)
{
    tt_job *j = arg;
    tr_teachers *tt = j->tt;
    int start = j->t * tt->chunk, end = start + tt->chunk < tt->batch ? start + tt->chunk : tt->batch;
    if (end <= start)
        return NULL;
    size_t no = (size_t)(end - start) * (size_t)tt->n_out;
    float *mean = tt->mean + (size_t)start * (size_t)tt->n_out;
    for (int i = 0; i < tt->n; i++) {
        const float *p = nn_forward(tt->ctx[i * tt->threads + j->t], tt->x + (size_t)start * tt->in_size, end - start);
        for (size_t k = 0; k < no; k++)
            mean[k] = (i ? mean[k] : 0.0f) + p[k] / (float)tt->n;
    }
    for (size_t k = 0; k < no; k++) /* rounding may pass 1 */
        mean[k] = mean[k] < 1.0f ? mean[k] : 1.0f;
    return NULL;
}

const float *tr_teachers_predict(tr_teachers *tt, const float *x, int batch)
{
    if (!tt || !x || batch < 1 || batch > tt->max_batch)
        return NULL;
    tt->x = x;
    tt->batch = batch;
    pthread_t tid[TT_MAX_THREADS];
    int started[TT_MAX_THREADS] = {0};
    for (int t = 0; t < tt->threads; t++)
        tt->jobs[t] = (tt_job){tt, t};
    for (int t = 1; t < tt->threads; t++)
        started[t] = pthread_create(&tid[t], NULL, teach_chunk, &tt->jobs[t]) == 0;
    teach_chunk(&tt->jobs[0]);
    for (int t = 1; t < tt->threads; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        else
            teach_chunk(&tt->jobs[t]); /* no thread to be had: the same result, serially */
    }
    return tt->mean;
}

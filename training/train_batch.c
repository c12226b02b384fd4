/* train_batch.c - what fit does to a batch between loading and the update:
 * mixup blends, and loss truncation. */
#include <math.h>
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

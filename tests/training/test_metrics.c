/* test_metrics.c - eval's metrics against values worked out by hand:
 * confusion counts, balanced accuracy, precision/recall/F1, ROC AUC with
 * ties (Mann-Whitney), perfect and inverted rankings, and the multi-class
 * macro averages. */
#include <math.h>
#include <stdio.h>

#include "train.h"

static int failures;
#define NEAR(a, b)                                                                      \
    do {                                                                                \
        double a_ = (a), b_ = (b);                                                      \
        if (!(fabs(a_ - b_) < 1e-9)) {                                                  \
            fprintf(stderr, "%s:%d: %s = %.12g, expected %.12g\n", __FILE__, __LINE__, #a, a_, b_); \
            failures++;                                                                 \
        }                                                                               \
    } while (0)

int main(void)
{
    tr_metrics m;
    /* 4 positives, 6 negatives, sigmoid outputs */
    float p[10] = {0.9f, 0.8f, 0.4f, 0.6f, /* positives */ 0.7f, 0.3f, 0.2f, 0.1f, 0.6f, 0.05f};
    int y[10] = {1, 1, 1, 1, 0, 0, 0, 0, 0, 0};
    tr_metrics_compute(p, 1, y, 10, 2, &m);
    /* predictions >= 0.5: pos 1 1 0 1, neg 1 0 0 0 1 0 -> TP 3, FN 1, FP 2, TN 4 */
    NEAR(m.confusion[1][1], 3);
    NEAR(m.confusion[1][0], 1);
    NEAR(m.confusion[0][1], 2);
    NEAR(m.confusion[0][0], 4);
    NEAR(m.accuracy, 0.7);
    NEAR(m.balanced_accuracy, 0.5 * (3.0 / 4 + 4.0 / 6));
    NEAR(m.precision, 3.0 / 5);
    NEAR(m.recall, 3.0 / 4);
    NEAR(m.f1, 2 * 0.6 * 0.75 / 1.35);
    /* AUC: the share of (positive, negative) pairs ranked right, ties half */
    int wins2 = 0, n = 0;
    for (int i = 0; i < 4; i++)
        for (int j = 4; j < 10; j++) {
            wins2 += p[i] > p[j] ? 2 : p[i] == p[j] ? 1 : 0;
            n++;
        }
    NEAR(m.auc, wins2 / 2.0 / n);
    NEAR(m.auc, (6 + 6 + 4 + 4.5) / 24.0); /* 0.4 beats 4, 0.6 beats 4 and ties once */

    /* a perfect ranking and an inverted one */
    float q[4] = {0.9f, 0.8f, 0.2f, 0.1f};
    int yq[4] = {1, 1, 0, 0}, yr[4] = {0, 0, 1, 1};
    tr_metrics_compute(q, 1, yq, 4, 2, &m);
    NEAR(m.auc, 1.0);
    NEAR(m.accuracy, 1.0);
    tr_metrics_compute(q, 1, yr, 4, 2, &m);
    NEAR(m.auc, 0.0);
    NEAR(m.accuracy, 0.0);

    /* one class absent: AUC undefined */
    tr_metrics_compute(q, 1, yq, 2, 2, &m);
    if (!isnan(m.auc)) {
        fprintf(stderr, "AUC with one class should be NaN\n");
        failures++;
    }

    /* 3 classes, softmax outputs */
    float s[4 * 3] = {0.7f, 0.2f, 0.1f, /* 0 -> 0 */ 0.1f, 0.6f, 0.3f, /* 1 -> 1 */
                      0.2f, 0.5f, 0.3f, /* 2 -> 1 */ 0.1f, 0.1f, 0.8f /* 2 -> 2 */};
    int ys[4] = {0, 1, 2, 2};
    tr_metrics_compute(s, 3, ys, 4, 3, &m);
    NEAR(m.accuracy, 0.75);
    NEAR(m.balanced_accuracy, (1 + 1 + 0.5) / 3.0);
    NEAR(m.confusion[2][1], 1);
    NEAR(m.precision, (1 + 0.5 + 1) / 3.0);
    NEAR(m.recall, (1 + 1 + 0.5) / 3.0);
    if (failures)
        fprintf(stderr, "%d failures\n", failures);
    return failures ? 1 : 0;
}

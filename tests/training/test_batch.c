/* test_batch.c - loss truncation drops exactly the highest-loss images of a
 * batch and keeps the rest in order, on a one-input net whose losses are
 * worked out by hand; shares that round to nothing change nothing. The
 * distillation teachers give the mean of their nets' probabilities, the same
 * for every thread count. */
#include <math.h>
#include <string.h>

#include "train.h"

#include "../test_check.h"

int main(void)
{
    nn_net *net = NULL;
    nn_error e = {{0}};
    REQUIRE(!nn_net_from_text("input 1 1 1\nflatten\ndense 1\nsigmoid\n", "test", &net, &e), "%s", e.msg);
    REQUIRE(nn_net_n_params(net) == 2, "%zu parameters", nn_net_n_params(net));
    /* weight and bias both 3, whatever their order: p = sigmoid(3x + 3) */
    nn_net_params(net)[0] = nn_net_params(net)[1] = 3.0f;
    nn_trainer_config tcfg = {.max_batch = 8, .threads = 1};
    nn_opt_config ocfg;
    nn_opt_defaults(NN_OPT_SGD, &ocfg);
    nn_trainer *tr = NULL;
    REQUIRE(!nn_trainer_new(net, &tcfg, &ocfg, &tr, &e), "%s", e.msg);

    /* losses -log p (label 1) or -log(1 - p) (label 0):
     * 0.5: 0.011, -2: 3.05, 1 (label 0): 6.0, -1: 0.69, 2: 0.0003,
     * 0: 0.049, -0.5: 0.20, 1.5 (label 0): 7.5 -> indices 7 and 2 go */
    const float x0[8] = {0.5f, -2, 1, -1, 2, 0, -0.5f, 1.5f};
    const int y0[8] = {1, 1, 0, 1, 1, 1, 1, 0};
    float x[8], probs[8], losses[8];
    int y[8];
    unsigned char dropped[8];
    memcpy(x, x0, sizeof x);
    memcpy(y, y0, sizeof y);
    int kept = tr_drop_hardest(tr, x, y, 8, 1, 1, 0.25f, probs, losses, dropped);
    CHECKF(kept == 6, "a quarter of 8 should leave 6, not %d", kept);
    const float want_x[6] = {0.5f, -2, -1, 2, 0, -0.5f};
    for (int i = 0; i < 6 && kept == 6; i++) {
        CHECKF(x[i] == want_x[i], "kept image %d is %g, expected %g", i, (double)x[i], (double)want_x[i]);
        CHECKF(y[i] == 1, "kept label %d is %d, expected 1", i, y[i]);
    }
    /* the same batch, one image in 8 (0.125 rounds to 1): only 1.5 goes */
    memcpy(x, x0, sizeof x);
    memcpy(y, y0, sizeof y);
    kept = tr_drop_hardest(tr, x, y, 8, 1, 1, 0.125f, probs, losses, dropped);
    CHECKF(kept == 7 && x[2] == 1.0f && y[2] == 0 && x[6] == -0.5f, "dropping one kept %d: x[2] %g x[6] %g",
           kept, (double)x[2], (double)x[6]);
    /* a share that rounds to no image leaves the batch as it was */
    memcpy(x, x0, sizeof x);
    memcpy(y, y0, sizeof y);
    kept = tr_drop_hardest(tr, x, y, 8, 1, 1, 0.05f, probs, losses, dropped);
    CHECKF(kept == 8 && !memcmp(x, x0, sizeof x) && !memcmp(y, y0, sizeof y), "share 0.05 of 8 changed the batch");
    /* the weights are only read */
    CHECK(nn_net_params(net)[0] == 3.0f && nn_net_params(net)[1] == 3.0f);

    /* teachers: p = sigmoid(3x + 3) and sigmoid(-x), batches of 7 over 1-4 threads */
    {
        nn_net *nets[2] = {net, NULL};
        REQUIRE(!nn_net_from_text("input 1 1 1\nflatten\ndense 1\nsigmoid\n", "test", &nets[1], &e), "%s", e.msg);
        nn_net_params(nets[1])[0] = -1.0f; /* dense keeps its weights, then its bias */
        nn_net_params(nets[1])[1] = 0.0f;
        for (int threads = 1; threads <= 4; threads++) {
            nn_error te = {{0}};
            tr_teachers *one = tr_teachers_new(nets, 1, 7, threads, &te);
            tr_teachers *two = tr_teachers_new(nets, 2, 7, threads, &te);
            REQUIRE(one && two, "%s", te.msg);
            const float xs[7] = {-3, -1.5f, -1, 0, 0.5f, 2, 4};
            const float *p1 = tr_teachers_predict(one, xs, 7);
            for (int i = 0; i < 7; i++) {
                double a = 1 / (1 + exp(-(3.0 * xs[i] + 3)));
                CHECKF(fabs(p1[i] - a) < 1e-6, "%d threads: teacher 1 on %g gives %g, want %g", threads,
                       (double)xs[i], (double)p1[i], a);
            }
            const float *p2 = tr_teachers_predict(two, xs + 1, 5); /* a short batch */
            for (int i = 0; i < 5; i++) {
                double a = 1 / (1 + exp(-(3.0 * xs[i + 1] + 3))), b = 1 / (1 + exp((double)xs[i + 1]));
                CHECKF(fabs(p2[i] - (a + b) / 2) < 1e-6, "%d threads: two teachers on %g give %g, want %g", threads,
                       (double)xs[i + 1], (double)p2[i], (a + b) / 2);
            }
            tr_teachers_free(one);
            tr_teachers_free(two);
        }
        nn_error te = {{0}};
        CHECKF(!tr_teachers_new(nets, 9, 7, 1, &te) && te.msg[0], "nine teachers accepted");
        tr_teachers *one = tr_teachers_new(nets, 1, 7, 2, &te);
        const float xs[8] = {0};
        CHECKF(one && !tr_teachers_predict(one, xs, 8) && !tr_teachers_predict(one, xs, 0),
               "a batch of 8 or 0 accepted by teachers of batch 7");
        tr_teachers_free(one);
        nn_net_free(nets[1]);
    }

    nn_trainer_free(tr);
    nn_net_free(net);
    return test_done("train-batch");
}

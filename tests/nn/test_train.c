/* Training: every builtin constructs and runs; a small net learns a
 * separable toy problem; the same seed and thread count give a bit-identical
 * model; a resumed checkpoint continues bit-exactly; bad input is refused. */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "nn.h"
#include "../test_check.h"

enum { IMG = 10, NTRAIN = 256, NTEST = 128 };

/* class 1: a bright blob in the upper half; class 0: in the lower half */
static void make_data(nn_rng *rng, float *x, int *y, int n)
{
    for (int s = 0; s < n; s++) {
        int cls = (int)nn_rng_below(rng, 2);
        int cy = cls ? 1 + (int)nn_rng_below(rng, 3) : 6 + (int)nn_rng_below(rng, 3);
        int cx = 1 + (int)nn_rng_below(rng, 8);
        float *p = x + (size_t)s * IMG * IMG;
        for (int i = 0; i < IMG * IMG; i++)
            p[i] = 0.3f * nn_rng_normal(rng);
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) {
                int yy = cy + dy, xx = cx + dx;
                if (yy >= 0 && yy < IMG && xx >= 0 && xx < IMG)
                    p[yy * IMG + xx] += 1.5f;
            }
        y[s] = cls;
    }
}

static const char *toy_arch = "input 10 10 1\n"
                              "conv 4 3 stride=2 pad=tf_same\n"
                              "batchnorm\n"
                              "relu\n"
                              "maxpool 2\n"
                              "flatten\n"
                              "dense 8\n"
                              "relu\n"
                              "dropout 0.2\n"
                              "dense 1\n"
                              "sigmoid\n";

static float *xtr, *xte;
static int *ytr, *yte;

/* steps of batch 16 over the training set in a fixed order */
static void train_steps(nn_trainer *tr, int from, int to)
{
    for (int s = from; s < to; s++) {
        int off = (s * 16) % NTRAIN;
        float l = nn_trainer_step(tr, xtr + (size_t)off * IMG * IMG, ytr + off, 16, NULL);
        REQUIRE(isfinite(l), "step %d: loss %g", s, (double)l);
    }
}

/* the toy net under Adam 0.01, with optional weight averaging and smoothing */
static nn_trainer *new_trainer_with(nn_net **net, int threads, float average_decay, float smoothing)
{
    nn_error err;
    REQUIRE(nn_net_from_text(toy_arch, "toy", net, &err) == NN_OK, "%s", err.msg);
    nn_net_init_params(*net, 42);
    nn_opt_config oc;
    nn_opt_defaults(NN_OPT_ADAM, &oc);
    oc.lr = 0.01f;
    oc.average_decay = average_decay;
    nn_trainer_config tc = {.max_batch = 128, .threads = threads, .loss = NN_LOSS_AUTO,
                            .class_weights = NULL, .seed = 9, .label_smoothing = smoothing};
    nn_trainer *tr;
    REQUIRE(nn_trainer_new(*net, &tc, &oc, &tr, &err) == NN_OK, "%s", err.msg);
    return tr;
}

static nn_trainer *new_trainer(nn_net **net, int threads) { return new_trainer_with(net, threads, 0.0f, 0.0f); }

static void test_learns(void)
{
    nn_net *net;
    nn_trainer *tr = new_trainer(&net, 2);
    int hits;
    float before = nn_trainer_eval(tr, xte, yte, NTEST, NULL) / NTEST;
    train_steps(tr, 0, 120);
    float probs[NTEST];
    float after = nn_trainer_eval(tr, xte, yte, NTEST, probs) / NTEST;
    hits = 0;
    for (int i = 0; i < NTEST; i++)
        hits += (probs[i] > 0.5f) == yte[i];
    CHECKF(after < 0.5f * before, "loss %g -> %g", (double)before, (double)after);
    CHECKF(hits >= NTEST * 95 / 100, "test accuracy %d/%d", hits, NTEST);
    printf("toy: loss %.4f -> %.4f, test accuracy %d/%d\n", (double)before, (double)after, hits,
           NTEST);
    /* nn_forward (eval mode) agrees with the trainer's eval probabilities */
    nn_ctx *ctx;
    nn_error err;
    REQUIRE(nn_ctx_new(net, NTEST, &ctx, &err) == NN_OK, "%s", err.msg);
    const float *p = nn_forward(ctx, xte, NTEST);
    float maxd = 0;
    for (int i = 0; i < NTEST; i++)
        maxd = fmaxf(maxd, fabsf(p[i] - probs[i]));
    CHECKF(maxd < 1e-5f, "forward vs eval probabilities differ by %g", (double)maxd);
    /* a step's reported hits match its own batch */
    int n_correct = -1;
    nn_trainer_step(tr, xte, yte, 64, &n_correct);
    CHECKF(n_correct >= 50 && n_correct <= 64, "hits in a trained batch: %d", n_correct);
    nn_ctx_free(ctx);
    nn_trainer_free(tr);
    nn_net_free(net);
}

static void test_deterministic(int threads)
{
    nn_net *a, *b;
    nn_trainer *ta = new_trainer(&a, threads), *tb = new_trainer(&b, threads);
    train_steps(ta, 0, 20);
    train_steps(tb, 0, 20);
    size_t np = nn_net_n_params(a);
    CHECKF(memcmp(nn_net_params(a), nn_net_params(b), np * sizeof(float)) == 0,
          "threads=%d: two runs differ", threads);
    /* the running statistics too: compare the saved files */
    char pa[64], pb[64];
    snprintf(pa, sizeof pa, "/tmp/nn-det-a-%d.nnm", (int)getpid());
    snprintf(pb, sizeof pb, "/tmp/nn-det-b-%d.nnm", (int)getpid());
    nn_error err;
    REQUIRE(nn_net_save(a, pa, &err) == NN_OK && nn_net_save(b, pb, &err) == NN_OK, "%s", err.msg);
    FILE *fa = fopen(pa, "rb"), *fb = fopen(pb, "rb");
    REQUIRE(fa && fb, "reopen");
    int same = 1, ca, cb;
    do {
        ca = fgetc(fa);
        cb = fgetc(fb);
        same &= ca == cb;
    } while (ca != EOF && cb != EOF);
    CHECKF(same, "threads=%d: saved models differ", threads);
    fclose(fa);
    fclose(fb);
    unlink(pa);
    unlink(pb);
    nn_trainer_free(ta);
    nn_trainer_free(tb);
    nn_net_free(a);
    nn_net_free(b);
}

typedef struct {
    int epoch;
    uint64_t data_rng[4];
} extra_t;

static void test_resume(void)
{
    nn_net *a, *b;
    nn_trainer *ta = new_trainer(&a, 2);
    train_steps(ta, 0, 30);
    nn_trainer *tb = new_trainer(&b, 2);
    train_steps(tb, 0, 15);
    char path[64];
    snprintf(path, sizeof path, "/tmp/nn-ckpt-%d.ckpt", (int)getpid());
    extra_t ex = {7, {1, 2, 3, 4}}, back = {0, {0}};
    nn_error err;
    REQUIRE(nn_trainer_save_checkpoint(tb, path, &ex, sizeof ex, &err) == NN_OK, "%s", err.msg);
    nn_trainer_free(tb);
    nn_net_free(b);
    /* a fresh trainer with different initial weights picks up the run */
    nn_net *c;
    nn_trainer *tc = new_trainer(&c, 2);
    nn_net_init_params(c, 1234);
    CHECKF(nn_trainer_load_checkpoint(tc, path, &back, sizeof back - 1, &err) != NN_OK,
          "wrong extra size accepted");
    REQUIRE(nn_trainer_load_checkpoint(tc, path, &back, sizeof back, &err) == NN_OK, "%s",
            err.msg);
    CHECKF(back.epoch == 7 && back.data_rng[3] == 4, "extra blob not restored");
    train_steps(tc, 15, 30);
    CHECKF(memcmp(nn_net_params(a), nn_net_params(c), nn_net_n_params(a) * sizeof(float)) == 0,
          "resumed run differs from the straight one");
    /* each loader names the other's files */
    nn_net *wrong = NULL;
    CHECKF(nn_net_load(path, &wrong, &err) == NN_ERR_FORMAT && !wrong &&
               strstr(err.msg, "a training checkpoint, not a model"),
           "a checkpoint loaded as a model: %s", err.msg);
    char mpath[80];
    snprintf(mpath, sizeof mpath, "%s.nnm", path);
    REQUIRE(nn_net_save(c, mpath, &err) == NN_OK, "%s", err.msg);
    CHECKF(nn_trainer_load_checkpoint(tc, mpath, &back, sizeof back, &err) == NN_ERR_FORMAT &&
               strstr(err.msg, "a model file, not a checkpoint"),
           "a model loaded as a checkpoint: %s", err.msg);
    unlink(mpath);
    /* a damaged checkpoint is refused and leaves the trainer alone */
    FILE *f = fopen(path, "r+b");
    REQUIRE(f, "reopen checkpoint");
    fseek(f, 100, SEEK_SET);
    fputc(0x42 ^ fgetc(f), f);
    fclose(f);
    float keep = nn_net_params(c)[0];
    CHECKF(nn_trainer_load_checkpoint(tc, path, &back, sizeof back, &err) == NN_ERR_CHECKSUM,
          "damaged checkpoint: %s", err.msg);
    CHECKF(nn_net_params(c)[0] == keep, "damaged checkpoint changed the net");
    CHECKF(nn_trainer_load_checkpoint(tc, "/nonexistent/x.ckpt", &back, sizeof back, &err) ==
              NN_ERR_IO, "missing checkpoint");
    unlink(path);
    nn_trainer_free(ta);
    nn_trainer_free(tc);
    nn_net_free(a);
    nn_net_free(c);
}

static void test_builtins(void)
{
    const char *const *names = nn_builtin_names();
    int count = 0;
    for (int i = 0; names[i]; i++, count++) {
        for (int nout = 1; nout <= 3; nout += 2) {
            nn_net *net;
            nn_error err;
            REQUIRE(nn_net_builtin(names[i], nout, &net, &err) == NN_OK, "%s: %s", names[i],
                    err.msg);
            CHECKF(nn_net_n_outputs(net) == nout, "%s: %d outputs", names[i],
                  nn_net_n_outputs(net));
            CHECKF(nn_net_has_batchnorm(net) == (strcmp(names[i], "smilenet") == 0),
                  "%s: batchnorm %d", names[i], nn_net_has_batchnorm(net));
            nn_net_init_params(net, 3);
            const nn_input_spec *in = nn_net_input(net);
            size_t n = (size_t)in->width * in->height * in->channels;
            nn_ctx *ctx;
            REQUIRE(nn_ctx_new(net, 2, &ctx, &err) == NN_OK, "%s", err.msg);
            float *x = nn_ctx_input(ctx);
            for (size_t k = 0; k < 2 * n; k++)
                x[k] = sinf(0.1f * (float)k);
            const float *p = nn_forward(ctx, x, 2);
            float sum = 0;
            for (int k = 0; k < nout; k++) {
                CHECKF(p[k] >= 0.0f && p[k] <= 1.0f, "%s: p=%g", names[i], (double)p[k]);
                sum += p[k];
            }
            if (nout > 1)
                CHECKF(fabsf(sum - 1.0f) < 1e-5f, "%s: softmax sums to %g", names[i], (double)sum);
            CHECKF(nn_forward(ctx, x, 3) == NULL, "batch above max accepted");
            /* one training step on the builtin */
            nn_opt_config oc;
            nn_opt_defaults(NN_OPT_ADAM, &oc);
            nn_trainer_config tc = {.max_batch = 2, .threads = 1, .seed = 1};
            nn_trainer *tr;
            REQUIRE(nn_trainer_new(net, &tc, &oc, &tr, &err) == NN_OK, "%s", err.msg);
            int y[2] = {0, nout - 1};
            CHECKF(isfinite(nn_trainer_step(tr, x, y, 2, NULL)), "%s: step", names[i]);
            nn_trainer_free(tr);
            nn_ctx_free(ctx);
            nn_net_free(net);
        }
    }
    CHECKF(count == 3, "%d builtins", count);
    /* the specified shapes and defaults */
    nn_net *net;
    nn_error err;
    REQUIRE(nn_net_builtin("seed", 1, &net, &err) == NN_OK, "%s", err.msg);
    /* conv 64*9+64, dense 32*32*64*64+64, dense 64+1 */
    CHECKF(nn_net_n_params(net) == 640 + 4194368 + 65, "seed params %zu", nn_net_n_params(net));
    CHECKF(nn_net_input(net)->norm == NN_NORM_SAMPLE && nn_net_input(net)->width == 64, "seed input");
    CHECKF(fabs(nn_net_flops(net) - (32 * 32 * 64 * 9 + 65536.0 * 64 + 64)) < 1, "seed MACs %g",
          nn_net_flops(net));
    nn_net_free(net);
    REQUIRE(nn_net_builtin("lenet", 1, &net, &err) == NN_OK, "%s", err.msg);
    /* conv 20*25+20, conv 50*20*25+50, dense 7*7*50*500+500, dense 501 */
    CHECKF(nn_net_n_params(net) == 520 + 25050 + 1225500 + 501, "lenet params %zu",
          nn_net_n_params(net));
    CHECKF(nn_net_input(net)->norm == NN_NORM_UNIT && nn_net_input(net)->width == 28, "lenet input");
    nn_net_free(net);
}

/* "input 2 2 2 / batchnorm / flatten / dense 2" under SGD at a rate so small
 * that the parameters stay put and only the statistics move */
static nn_trainer *new_bn_trainer(int threads, nn_net **net)
{
    nn_error err;
    REQUIRE(nn_net_from_text("input 2 2 2\nbatchnorm\nflatten\ndense 2\n", "bn", net, &err) ==
                NN_OK, "%s", err.msg);
    nn_net_init_params(*net, 1);
    nn_opt_config oc;
    nn_opt_defaults(NN_OPT_SGD, &oc);
    oc.lr = 1e-30f;
    nn_trainer_config tc = {.max_batch = 8, .threads = threads, .seed = 1};
    nn_trainer *tr;
    REQUIRE(nn_trainer_new(*net, &tc, &oc, &tr, &err) == NN_OK, "%s", err.msg);
    return tr;
}

/* The running mean and variance of "input 2 2 2 / batchnorm / flatten /
 * dense 2" are the 4 floats before the dense block of a saved model: read
 * them back through a save. */
static void read_bn_stats(const nn_net *net, float st[4])
{
    nn_error err;
    char path[64];
    snprintf(path, sizeof path, "/tmp/nn-bn-%d.nnm", (int)getpid());
    REQUIRE(nn_net_save(net, path, &err) == NN_OK, "%s", err.msg);
    FILE *f = fopen(path, "rb");
    REQUIRE(f, "reopen");
    fseek(f, -4 - 4 * (long)(2 * 8 + 2 + 4), SEEK_END); /* dense block: 16 + 2 floats + header */
    fseek(f, -4 * 4, SEEK_CUR);                          /* the 4 running values */
    REQUIRE(fread(st, 4, 4, f) == 4, "read stats");
    fclose(f);
    unlink(path);
}

/* batchnorm's running statistics converge to the data's mean and unbiased
 * variance, whatever the thread split (saved in the model file) */
static void test_running_stats(int threads)
{
    nn_net *net;
    nn_trainer *tr = new_bn_trainer(threads, &net);
    float x[64];
    int y[8] = {0};
    nn_rng r;
    nn_rng_seed(&r, 1);
    for (int i = 0; i < 64; i++)
        x[i] = (i / 4) % 2 ? 5.0f + 2.0f * nn_rng_normal(&r) : -3.0f + 0.5f * nn_rng_normal(&r);
    for (int s = 0; s < 200; s++)
        nn_trainer_step(tr, x, y, 8, NULL);
    double m[2] = {0, 0}, v[2] = {0, 0};
    for (int n = 0; n < 8; n++)
        for (int c = 0; c < 2; c++)
            for (int k = 0; k < 4; k++)
                m[c] += x[n * 8 + c * 4 + k] / 32.0;
    for (int n = 0; n < 8; n++)
        for (int c = 0; c < 2; c++)
            for (int k = 0; k < 4; k++)
                v[c] += (x[n * 8 + c * 4 + k] - m[c]) * (x[n * 8 + c * 4 + k] - m[c]) / 31.0;
    float st[4];
    read_bn_stats(net, st);
    for (int c = 0; c < 2; c++) {
        CHECKF(fabs(st[c] - m[c]) < 1e-4 * (1 + fabs(m[c])), "threads=%d mean[%d] %g want %g",
              threads, c, (double)st[c], m[c]);
        CHECKF(fabs(st[2 + c] - v[c]) < 1e-4 * (1 + v[c]), "threads=%d var[%d] %g want %g", threads,
              c, (double)st[2 + c], v[c]);
    }
    nn_trainer_free(tr);
    nn_net_free(net);
}

/* Recalibration sets the running statistics to the sample-weighted average
 * of the added batches' mean and unbiased variance, replacing the lagging
 * running averages, whatever the thread split; a batch of the wrong size or
 * an _add without _begin is an error, not a crash. */
static void test_bn_recalibrate(int threads)
{
    nn_net *net;
    nn_error err;
    nn_trainer *tr = new_bn_trainer(threads, &net);
    /* two batches from different distributions: 8 and 5 samples */
    float x[2][64];
    int y[8] = {0}, sizes[2] = {8, 5};
    nn_rng r;
    nn_rng_seed(&r, 7);
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < 64; i++)
            x[b][i] = b ? 10.0f + 3.0f * nn_rng_normal(&r) : -1.0f + 0.5f * nn_rng_normal(&r);
    CHECKF(nn_trainer_bn_recalibrate_add(tr, x[0], y, 8, &err) == NN_ERR_ARG, "_add before _begin accepted");
    float before[4], st[4];
    nn_trainer_step(tr, x[0], y, 8, NULL); /* running averages: one step of momentum from 0/1 */
    read_bn_stats(net, before);
    REQUIRE(nn_trainer_bn_recalibrate_begin(tr, &err) == NN_OK, "%s", err.msg);
    CHECKF(nn_trainer_bn_recalibrate_add(tr, x[0], y, 9, &err) == NN_ERR_ARG, "batch above max accepted");
    for (int b = 0; b < 2; b++)
        REQUIRE(nn_trainer_bn_recalibrate_add(tr, x[b], y, sizes[b], &err) == NN_OK, "%s", err.msg);
    nn_trainer_bn_recalibrate_end(tr);
    read_bn_stats(net, st);
    double m[2] = {0, 0}, v[2] = {0, 0};
    for (int c = 0; c < 2; c++) {
        for (int b = 0; b < 2; b++) {
            int n = sizes[b] * 4;
            double bm = 0, bv = 0;
            for (int s = 0; s < sizes[b]; s++)
                for (int k = 0; k < 4; k++)
                    bm += x[b][s * 8 + c * 4 + k] / n;
            for (int s = 0; s < sizes[b]; s++)
                for (int k = 0; k < 4; k++)
                    bv += (x[b][s * 8 + c * 4 + k] - bm) * (x[b][s * 8 + c * 4 + k] - bm) / (n - 1);
            m[c] += sizes[b] * bm / 13.0;
            v[c] += sizes[b] * bv / 13.0;
        }
        CHECKF(fabs(st[c] - m[c]) < 1e-4 * (1 + fabs(m[c])), "threads=%d recalibrated mean[%d] %g want %g",
              threads, c, (double)st[c], m[c]);
        CHECKF(fabs(st[2 + c] - v[c]) < 1e-4 * (1 + v[c]), "threads=%d recalibrated var[%d] %g want %g",
              threads, c, (double)st[2 + c], v[c]);
        CHECKF(fabs(before[c] - m[c]) > 1.0, "threads=%d: the running mean was already %g", threads,
              (double)before[c]);
    }
    /* _begin then _end with nothing added leaves the statistics alone */
    REQUIRE(nn_trainer_bn_recalibrate_begin(tr, &err) == NN_OK, "%s", err.msg);
    nn_trainer_bn_recalibrate_end(tr);
    float again[4];
    read_bn_stats(net, again);
    CHECKF(memcmp(again, st, sizeof st) == 0, "an empty recalibration changed the statistics");
    nn_trainer_free(tr);
    nn_net_free(net);
}

static void test_bad_input(void)
{
    nn_net *net;
    nn_trainer *tr = new_trainer(&net, 1);
    int bad[2] = {0, 2};
    CHECKF(isnan(nn_trainer_step(tr, xtr, bad, 2, NULL)), "label 2 for a sigmoid accepted");
    CHECKF(isnan(nn_trainer_step(tr, xtr, ytr, 129, NULL)), "batch above max accepted");
    CHECKF(isnan(nn_trainer_step(tr, xtr, ytr, 0, NULL)), "empty batch accepted");
    nn_trainer_free(tr);
    nn_error err;
    nn_opt_config oc;
    nn_opt_defaults(NN_OPT_SGD, &oc);
    nn_trainer_config tc = {.max_batch = 4, .threads = 1, .loss = NN_LOSS_SOFTMAX_CE};
    CHECKF(nn_trainer_new(net, &tc, &oc, &tr, &err) == NN_ERR_ARG, "CE on one sigmoid output");
    float cw[2] = {1.0f, -1.0f};
    tc.loss = NN_LOSS_AUTO;
    tc.class_weights = cw;
    CHECKF(nn_trainer_new(net, &tc, &oc, &tr, &err) == NN_ERR_ARG, "negative class weight");
    nn_net_free(net);
}

/* the toy test set through tr in eval mode: hits at 0.5; probs gets NTEST */
static int test_hits(nn_trainer *tr, float *probs)
{
    nn_trainer_eval(tr, xte, yte, NTEST, probs);
    int hits = 0;
    for (int i = 0; i < NTEST; i++)
        hits += (probs[i] > 0.5f) == yte[i];
    return hits;
}

static int same_params(nn_net *a, nn_net *b)
{
    return memcmp(nn_net_params(a), nn_net_params(b), nn_net_n_params(a) * sizeof(float)) == 0;
}

/* Weight averaging leaves training alone, swaps in and out exactly, is
 * refused in a checkpoint while swapped in, and resumes bit-exactly. */
static void test_average(void)
{
    nn_net *raw, *avg, *res;
    nn_trainer *tr = new_trainer_with(&raw, 2, 0.0f, 0.0f), *ta = new_trainer_with(&avg, 2, 0.9f, 0.0f);
    CHECKF(nn_trainer_swap_average(ta) == 0, "swapped in an average before any step");
    train_steps(tr, 0, 30);
    train_steps(ta, 0, 30);
    CHECKF(same_params(raw, avg), "averaging changed the trained weights");
    CHECKF(nn_trainer_swap_average(tr) == 0 && same_params(raw, avg), "a plain trainer swapped something");
    CHECKF(nn_trainer_swap_average(ta) == 1, "the average was not swapped in");
    CHECKF(!same_params(raw, avg), "the averaged weights equal the last step's");
    float probs[NTEST];
    int hits = test_hits(ta, probs);
    CHECKF(hits >= NTEST * 9 / 10, "the averaged weights classify %d/%d", hits, NTEST);
    char path[64];
    snprintf(path, sizeof path, "/tmp/nn-avg-%d.ckpt", (int)getpid());
    extra_t ex = {3, {0}}, back;
    nn_error err = {{0}};
    CHECKF(nn_trainer_save_checkpoint(ta, path, &ex, sizeof ex, &err) == NN_ERR_ARG && strstr(err.msg, "swapped"),
          "checkpoint with the average swapped in: '%s'", err.msg);
    CHECKF(nn_trainer_swap_average(ta) == 0 && same_params(raw, avg), "swapping back is not exact");
    REQUIRE(nn_trainer_save_checkpoint(ta, path, &ex, sizeof ex, &err) == NN_OK, "%s", err.msg);
    /* a step taken with the average swapped in continues from the raw weights */
    nn_trainer_swap_average(ta);
    train_steps(tr, 30, 40);
    train_steps(ta, 30, 40);
    CHECKF(same_params(raw, avg), "training continued from the averaged weights");
    /* resume from step 30 and compare both the weights and the average at 40 */
    nn_trainer *tres = new_trainer_with(&res, 2, 0.9f, 0.0f);
    REQUIRE(nn_trainer_load_checkpoint(tres, path, &back, sizeof back, &err) == NN_OK, "%s", err.msg);
    train_steps(tres, 30, 40);
    CHECKF(same_params(res, avg), "resumed weights differ");
    nn_trainer_swap_average(ta);
    nn_trainer_swap_average(tres);
    CHECKF(same_params(res, avg), "resumed average differs");
    /* a plain trainer cannot load an averaging checkpoint */
    err.msg[0] = 0;
    CHECKF(nn_trainer_load_checkpoint(tr, path, &back, sizeof back, &err) != NN_OK && strstr(err.msg, "averaged"),
          "plain trainer loaded an averaging checkpoint: '%s'", err.msg);
    unlink(path);
    nn_trainer_free(tr);
    nn_trainer_free(ta);
    nn_trainer_free(tres);
    nn_net_free(raw);
    nn_net_free(avg);
    nn_net_free(res);
}

/* Label smoothing keeps the trained net from certainty; bad values are refused. */
static void test_label_smoothing(void)
{
    nn_net *a, *b;
    nn_trainer *ta = new_trainer_with(&a, 1, 0.0f, 0.0f), *tb = new_trainer_with(&b, 1, 0.0f, 0.2f);
    train_steps(ta, 0, 150);
    train_steps(tb, 0, 150);
    float pa[NTEST], pb[NTEST];
    nn_trainer_eval(ta, xte, yte, NTEST, pa);
    int hits = test_hits(tb, pb);
    float maxa = 0, maxb = 0;
    for (int i = 0; i < NTEST; i++) {
        maxa = fmaxf(maxa, fmaxf(pa[i], 1.0f - pa[i]));
        maxb = fmaxf(maxb, fmaxf(pb[i], 1.0f - pb[i]));
    }
    CHECKF(maxa > 0.97f, "unsmoothed net not confident: %g", (double)maxa);
    CHECKF(maxb < 0.95f, "smoothing 0.2 still gives probability %g", (double)maxb);
    CHECKF(hits >= NTEST * 9 / 10, "smoothed net classifies %d/%d", hits, NTEST);
    nn_trainer_free(ta);
    nn_trainer_free(tb);
    nn_net_free(a);
    nn_net_free(b);
    nn_error err = {{0}};
    REQUIRE(nn_net_from_text(toy_arch, "toy", &a, &err) == NN_OK, "%s", err.msg);
    nn_opt_config oc;
    nn_opt_defaults(NN_OPT_ADAM, &oc);
    const float bad[3] = {1.0f, -0.1f, NAN};
    for (int i = 0; i < 3; i++) {
        nn_trainer_config tc = {.max_batch = 4, .threads = 1, .label_smoothing = bad[i]};
        nn_trainer *t = NULL;
        err.msg[0] = 0;
        CHECKF(nn_trainer_new(a, &tc, &oc, &t, &err) == NN_ERR_ARG && strstr(err.msg, "smoothing"),
              "smoothing %g accepted: '%s'", (double)bad[i], err.msg);
        nn_trainer_free(t);
    }
    nn_trainer_config tc = {.max_batch = 4, .threads = 1, .loss = NN_LOSS_MSE, .label_smoothing = 0.1f};
    nn_trainer *t = NULL;
    CHECKF(nn_trainer_new(a, &tc, &oc, &t, &err) == NN_ERR_ARG, "smoothing with MSE accepted");
    nn_trainer_free(t);
    nn_net_free(a);
}

/* Beta samples for mixup: right moments, inside [0, 1], seeded. */
static void test_beta(void)
{
    const float ab[3][2] = {{0.4f, 0.4f}, {1.0f, 1.0f}, {2.0f, 5.0f}};
    for (int k = 0; k < 3; k++) {
        nn_rng r;
        nn_rng_seed(&r, 5);
        double a = ab[k][0], b = ab[k][1], sum = 0, sq = 0;
        int bad = 0, n = 40000;
        for (int i = 0; i < n; i++) {
            float v = nn_rng_beta(&r, (float)a, (float)b);
            bad += !(v >= 0.0f && v <= 1.0f);
            sum += v;
            sq += (double)v * v;
        }
        double mean = sum / n, var = sq / n - mean * mean;
        double want_mean = a / (a + b), want_var = a * b / ((a + b) * (a + b) * (a + b + 1));
        CHECKF(bad == 0, "Beta(%g, %g): %d samples outside [0, 1]", a, b, bad);
        CHECKF(fabs(mean - want_mean) < 0.01, "Beta(%g, %g) mean %g, want %g", a, b, mean, want_mean);
        CHECKF(fabs(var - want_var) < 0.1 * want_var, "Beta(%g, %g) variance %g, want %g", a, b, var, want_var);
    }
    nn_rng r1, r2;
    nn_rng_seed(&r1, 9);
    nn_rng_seed(&r2, 9);
    CHECKF(nn_rng_beta(&r1, 0.3f, 0.3f) == nn_rng_beta(&r2, 0.3f, 0.3f), "Beta draws do not repeat under a seed");
}

/* A mixed step with every share 1 is the plain step; bad shares are refused
 * without touching the net; mixed training still learns. */
static void test_mixed_step(void)
{
    nn_net *a, *b;
    nn_trainer *ta = new_trainer(&a, 2), *tb = new_trainer(&b, 2);
    enum { B = 16 };
    float ones[B], mix[B];
    int other[B];
    for (int i = 0; i < B; i++) {
        ones[i] = 1.0f;
        other[i] = 1 - ytr[i];
        mix[i] = 0.25f + 0.03f * (float)i;
    }
    for (int s = 0; s < 5; s++) {
        nn_trainer_step(ta, xtr + (size_t)s * B * IMG * IMG, ytr + s * B, B, NULL);
        nn_trainer_step_mixed(tb, xtr + (size_t)s * B * IMG * IMG, ytr + s * B, other, ones, B, NULL);
    }
    CHECKF(same_params(a, b), "a mixed step with shares of 1 differs from a plain step");
    float keep = nn_net_params(b)[0];
    mix[3] = 1.5f;
    CHECKF(isnan(nn_trainer_step_mixed(tb, xtr, ytr, other, mix, B, NULL)), "share 1.5 accepted");
    mix[3] = NAN;
    CHECKF(isnan(nn_trainer_step_mixed(tb, xtr, ytr, other, mix, B, NULL)), "share NaN accepted");
    mix[3] = 0.5f;
    other[2] = 7;
    CHECKF(isnan(nn_trainer_step_mixed(tb, xtr, ytr, other, mix, B, NULL)), "second label 7 accepted");
    CHECKF(isnan(nn_trainer_step_mixed(tb, xtr, ytr, NULL, mix, B, NULL)), "shares without second labels accepted");
    CHECKF(nn_net_params(b)[0] == keep, "a refused mixed step changed the net");
    nn_trainer_free(ta);
    nn_trainer_free(tb);
    nn_net_free(a);
    nn_net_free(b);

    /* mixup over the toy set: pairs (i, i + 16), shares from Beta(0.4, 0.4) */
    nn_trainer *tm = new_trainer(&a, 1);
    nn_rng r;
    nn_rng_seed(&r, 3);
    float xm[B * IMG * IMG];
    int yb[B];
    for (int s = 0; s < 150; s++) {
        int off = (s * B) % (NTRAIN - 2 * B), off2 = off + B;
        for (int i = 0; i < B; i++) {
            float m = nn_rng_beta(&r, 0.4f, 0.4f);
            mix[i] = m;
            yb[i] = ytr[off2 + i];
            for (int k = 0; k < IMG * IMG; k++)
                xm[i * IMG * IMG + k] = m * xtr[(size_t)(off + i) * IMG * IMG + k] +
                                        (1.0f - m) * xtr[(size_t)(off2 + i) * IMG * IMG + k];
        }
        REQUIRE(isfinite(nn_trainer_step_mixed(tm, xm, ytr + off, yb, mix, B, NULL)), "mixup step %d", s);
    }
    float probs[NTEST];
    int hits = test_hits(tm, probs);
    CHECKF(hits >= NTEST * 9 / 10, "mixup-trained net classifies %d/%d", hits, NTEST);
    nn_trainer_free(tm);
    nn_net_free(a);
}

/* Distillation: a teacher weight of 0 is the plain step; bad teachers are
 * refused without touching the net; with weight 1 the net learns the
 * teacher, not the labels. */
static void test_distill_step(void)
{
    nn_net *a, *b;
    nn_trainer *ta = new_trainer(&a, 2), *tb = new_trainer(&b, 2);
    enum { B = 16 };
    float teacher[B];
    for (int i = 0; i < B; i++)
        teacher[i] = 0.05f * (float)i;
    for (int s = 0; s < 5; s++) {
        nn_trainer_step(ta, xtr + (size_t)s * B * IMG * IMG, ytr + s * B, B, NULL);
        nn_trainer_step_distill(tb, xtr + (size_t)s * B * IMG * IMG, ytr + s * B, teacher, 0.0f, B, NULL);
    }
    CHECKF(same_params(a, b), "a distilled step with teacher weight 0 differs from a plain step");
    float keep = nn_net_params(b)[0];
    CHECKF(isnan(nn_trainer_step_distill(tb, xtr, ytr, teacher, 1.5f, B, NULL)), "teacher weight 1.5 accepted");
    CHECKF(isnan(nn_trainer_step_distill(tb, xtr, ytr, NULL, 0.5f, B, NULL)), "no teacher accepted");
    teacher[4] = NAN;
    CHECKF(isnan(nn_trainer_step_distill(tb, xtr, ytr, teacher, 0.5f, B, NULL)), "teacher NaN accepted");
    teacher[4] = -0.1f;
    CHECKF(isnan(nn_trainer_step_distill(tb, xtr, ytr, teacher, 0.5f, B, NULL)), "teacher -0.1 accepted");
    CHECKF(nn_net_params(b)[0] == keep, "a refused distilled step changed the net");
    nn_trainer_free(ta);
    nn_trainer_free(tb);
    nn_net_free(a);
    nn_net_free(b);

    /* a teacher that says the opposite of every label, followed alone */
    nn_trainer *tt = new_trainer(&a, 1);
    for (int s = 0; s < 150; s++) {
        int off = (s * B) % (NTRAIN - B);
        for (int i = 0; i < B; i++)
            teacher[i] = ytr[off + i] ? 0.05f : 0.95f;
        REQUIRE(isfinite(nn_trainer_step_distill(tt, xtr + (size_t)off * IMG * IMG, ytr + off, teacher, 1.0f, B, NULL)),
                "distilled step %d", s);
    }
    float probs[NTEST];
    int hits = test_hits(tt, probs);
    CHECKF(hits <= NTEST / 10, "a net taught the opposite of its labels still agrees with %d/%d labels", hits, NTEST);
    nn_trainer_free(tt);
    nn_net_free(a);
}

/* the toy net under plain SGD at rate 1, so a step's change is its gradient */
static nn_trainer *new_sgd_trainer(nn_net **net, float sam_rho, nn_error *err)
{
    REQUIRE(nn_net_from_text(toy_arch, "toy", net, err) == NN_OK, "%s", err->msg);
    nn_net_init_params(*net, 42);
    nn_opt_config oc;
    nn_opt_defaults(NN_OPT_SGD, &oc);
    oc.lr = 1.0f;
    nn_trainer_config tc = {.max_batch = 128, .threads = 2, .seed = 9, .sam_rho = sam_rho};
    nn_trainer *tr = NULL;
    if (nn_trainer_new(*net, &tc, &oc, &tr, err) != NN_OK)
        nn_net_free(*net);
    return tr;
}

/* A SAM step moves w by the plain gradient taken at w + rho * g / |g|, g being
 * the plain gradient at w, and leaves batchnorm's running statistics as the
 * plain step does. */
static void test_sam_step(void)
{
    enum { B = 16 };
    const float rho = 0.05f;
    nn_error err;
    nn_net *plain, *probe, *sam;
    nn_trainer *tp = new_sgd_trainer(&plain, 0.0f, &err), *tq = new_sgd_trainer(&probe, 0.0f, &err),
               *ts = new_sgd_trainer(&sam, rho, &err);
    REQUIRE(tp && tq && ts, "%s", err.msg);
    size_t np = nn_net_n_params(plain);
    float *w0 = malloc(np * sizeof *w0), *g = malloc(np * sizeof *g), *pert = malloc(np * sizeof *pert);
    REQUIRE(w0 && g && pert, "out of memory");
    memcpy(w0, nn_net_params(plain), np * sizeof *w0);

    float lp = nn_trainer_step(tp, xtr, ytr, B, NULL);
    double norm = 0.0;
    for (size_t k = 0; k < np; k++) {
        g[k] = w0[k] - nn_net_params(plain)[k];
        norm += (double)g[k] * g[k];
    }
    norm = sqrt(norm);
    REQUIRE(norm > 0, "no gradient");
    for (size_t k = 0; k < np; k++)
        pert[k] = w0[k] + (float)(rho / norm) * g[k];
    float *wq = nn_net_params(probe);
    memcpy(wq, pert, np * sizeof *pert);
    nn_trainer_step(tq, xtr, ytr, B, NULL); /* wq = pert - the gradient there */
    float ls = nn_trainer_step(ts, xtr, ytr, B, NULL);
    CHECKF(ls == lp, "SAM reports the loss %g, the plain step at w %g", (double)ls, (double)lp);

    const float *ws = nn_net_params(sam), *wp = nn_net_params(plain);
    size_t off = 0, moved = 0;
    for (size_t k = 0; k < np; k++) {
        float want = w0[k] - (pert[k] - wq[k]);
        if (fabsf(ws[k] - want) > 1e-5f + 1e-4f * fabsf(want))
            off++;
        moved += fabsf(ws[k] - wp[k]) > 1e-4f;
    }
    CHECKF(off == 0, "%zu of %zu parameters are not where the perturbed gradient takes them", off, np);
    CHECKF(moved > np / 10, "only %zu of %zu parameters differ from a plain step: no perturbation?", moved, np);

    /* with the plain step's weights, the SAM net predicts the same: same running statistics */
    memcpy(nn_net_params(sam), wp, np * sizeof(float));
    float pp[NTEST], ps[NTEST];
    test_hits(tp, pp);
    test_hits(ts, ps);
    CHECKF(!memcmp(pp, ps, sizeof pp), "SAM's batchnorm statistics differ from the plain step's");

    nn_trainer_free(tp);
    nn_trainer_free(tq);
    nn_trainer_free(ts);
    nn_net_free(plain);
    nn_net_free(probe);
    nn_net_free(sam);
    free(w0);
    free(g);
    free(pert);

    nn_net *bad;
    CHECKF(!new_sgd_trainer(&bad, -0.1f, &err) && strstr(err.msg, "SAM"), "SAM radius -0.1 accepted");
    CHECKF(!new_sgd_trainer(&bad, NAN, &err), "SAM radius NaN accepted");
}

int main(void)
{
    nn_rng rng;
    nn_rng_seed(&rng, 11);
    xtr = malloc(sizeof(float) * NTRAIN * IMG * IMG);
    xte = malloc(sizeof(float) * NTEST * IMG * IMG);
    ytr = malloc(sizeof(int) * NTRAIN);
    yte = malloc(sizeof(int) * NTEST);
    make_data(&rng, xtr, ytr, NTRAIN);
    make_data(&rng, xte, yte, NTEST);
    test_builtins();
    test_learns();
    test_deterministic(1);
    test_deterministic(2);
    test_resume();
    test_average();
    test_label_smoothing();
    test_beta();
    test_mixed_step();
    test_distill_step();
    test_sam_step();
    test_running_stats(1);
    test_running_stats(3);
    test_bn_recalibrate(1);
    test_bn_recalibrate(3);
    test_bad_input();
    free(xtr);
    free(xte);
    free(ytr);
    free(yte);
    return test_done("train");
}

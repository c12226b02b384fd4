/* Finite-difference gradient checks: every layer (fixed and seeded random
 * shapes: stride 2, all padding modes, odd sizes, several channels), every
 * activation and loss, and the trainer's fused loss end to end. */
#include <math.h>
#include <string.h>

#include "nn.h"
#include "nn_internal.h"
#include "../test_check.h"

static nn_rng rng;

static float unif(float lo, float hi) { return lo + (hi - lo) * nn_rng_uniform(&rng); }

/* Inputs for layers with kinks (relu, maxpool): distinct values at least
 * 0.05 apart and away from 0, so a step of eps never crosses a kink. */
static void grid_input(float *x, int n)
{
    int *perm = malloc((size_t)n * sizeof *perm);
    for (int i = 0; i < n; i++)
        perm[i] = i;
    nn_rng_shuffle(&rng, perm, (size_t)n);
    for (int i = 0; i < n; i++)
        x[i] = (float)(perm[i] - n / 2) * 0.05f + 0.025f;
    free(perm);
}

/* L = sum r_i y_i over the top activations, in double */
static double proj_loss(const float *y, const float *r, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)r[i] * y[i];
    return s;
}

static int close_enough(double num, double ana, double atol)
{
    return fabs(num - ana) <= atol + 2e-2 * fabs(ana);
}

typedef struct {
    const char *arch;
    int batch;
    int train;
    int grid; /* kinked layer: grid inputs */
} gcase;

static int n_checked;

static void check_layer_case(const gcase *c)
{
    nn_net *net;
    nn_error err;
    REQUIRE(nn_net_from_text(c->arch, "gradcheck", &net, &err) == NN_OK, "%s", err.msg);
    nn_net_init_params(net, nn_rng_next(&rng));
    float *P = nn_net_params(net);
    size_t np = nn_net_n_params(net);
    for (size_t i = 0; i < np; i++) /* biases and bn too: nothing is trivially zero */
        P[i] = unif(-0.8f, 0.8f);
    for (int i = 0; i < net->n_layers; i++) {
        const nn_layer *l = &net->layers[i];
        if (l->kind == NN_L_BATCHNORM)
            for (int k = 0; k < l->in_c; k++) {
                net->state[l->s_off + k] = unif(-0.5f, 0.5f);
                net->state[l->s_off + l->in_c + k] = unif(0.5f, 2.0f);
            }
    }
    nn_ws ws;
    REQUIRE(nn_ws_init(&ws, net, c->batch, 1, &err) == NN_OK, "%s", err.msg);
    ws.want_input_grad = 1;
    int L = net->n_layers;
    size_t in = (size_t)c->batch * net->input.width * net->input.height * net->input.channels;
    size_t on = (size_t)c->batch * nn_layer_out_size(&net->layers[L - 1]);
    float *x = malloc(in * sizeof *x), *r = malloc(on * sizeof *r);
    if (c->grid)
        grid_input(x, (int)in);
    else
        for (size_t i = 0; i < in; i++)
            x[i] = unif(-2.0f, 2.0f);
    for (size_t i = 0; i < on; i++)
        r[i] = unif(-1.0f, 1.0f);
    const uint64_t seed = 1234;
#define LOSS() (memcpy(ws.act[0], x, in * sizeof *x),                                              \
                nn_run_forward(net, &ws, c->batch, L, c->train, seed, 0),                         \
                proj_loss(ws.act[L], r, on))
    (void)LOSS();
    memset(ws.grads, 0, np * sizeof(float));
    const float *dx0 = nn_run_backward(net, &ws, c->batch, L, r);
    REQUIRE(dx0 != NULL, "%s: no input gradient", c->arch);
    float *dx = malloc(in * sizeof *dx), *g = malloc((np + 1) * sizeof *g);
    memcpy(dx, dx0, in * sizeof *dx);
    memcpy(g, ws.grads, np * sizeof *g);
    const float eps = 1e-2f;
    /* parameters: up to 48 random coordinates (all of them when fewer) */
    int np_check = np < 48 ? (int)np : 48;
    for (int t = 0; t < np_check; t++) {
        size_t k = np < 48 ? (size_t)t : nn_rng_below(&rng, (uint32_t)np);
        float keep = P[k];
        P[k] = keep + eps;
        double lp = LOSS();
        P[k] = keep - eps;
        double lm = LOSS();
        P[k] = keep;
        double num = (lp - lm) / (2.0 * eps);
        CHECKF(close_enough(num, g[k], 5e-3), "%s: d/dparam[%zu] analytic %.6g numeric %.6g",
              c->arch, k, (double)g[k], num);
        n_checked++;
    }
    int nx_check = in < 48 ? (int)in : 48;
    for (int t = 0; t < nx_check; t++) {
        size_t k = in < 48 ? (size_t)t : nn_rng_below(&rng, (uint32_t)in);
        float keep = x[k];
        x[k] = keep + eps;
        double lp = LOSS();
        x[k] = keep - eps;
        double lm = LOSS();
        x[k] = keep;
        double num = (lp - lm) / (2.0 * eps);
        CHECKF(close_enough(num, dx[k], 5e-3), "%s: d/dx[%zu] analytic %.6g numeric %.6g", c->arch,
              k, (double)dx[k], num);
        n_checked++;
    }
#undef LOSS
    free(x);
    free(r);
    free(dx);
    free(g);
    nn_ws_free(&ws);
    nn_net_free(net);
}

/* a shortcut around 1-3 random layers that keep the shape */
static void check_random_residuals(int n)
{
    static const char *const inner[] = {"conv %d 3 pad=same\n", "conv %d 1\n", "tanh\n",
                                        "batchnorm\n", "sigmoid\n", "conv %d 2x3 pad=tf_same\n"};
    for (int t = 0; t < n; t++) {
        int C = 1 + (int)nn_rng_below(&rng, 3), H = 2 + (int)nn_rng_below(&rng, 6),
            W = 2 + (int)nn_rng_below(&rng, 6), k = 1 + (int)nn_rng_below(&rng, 3);
        char arch[400];
        int len = snprintf(arch, sizeof arch, "input %d %d %d\n", W, H, C);
        for (int j = 0; j < k; j++)
            len += snprintf(arch + len, sizeof arch - (size_t)len,
                            inner[nn_rng_below(&rng, 6)], C);
        snprintf(arch + len, sizeof arch - (size_t)len, "residual %d\n", k);
        gcase c = {arch, 1 + (int)nn_rng_below(&rng, 3), 1, 0};
        check_layer_case(&c);
    }
}

static void check_random_convs(int n)
{
    static const char *const pads[] = {"valid", "same", "tf_same", "1", "2"};
    for (int t = 0; t < n; t++) {
        int C = 1 + (int)nn_rng_below(&rng, 3), H = 3 + (int)nn_rng_below(&rng, 7),
            W = 3 + (int)nn_rng_below(&rng, 7), O = 1 + (int)nn_rng_below(&rng, 4);
        int kh = 1 + (int)nn_rng_below(&rng, 4), kw = 1 + (int)nn_rng_below(&rng, 4);
        int sh = 1 + (int)nn_rng_below(&rng, 3), sw = 1 + (int)nn_rng_below(&rng, 3);
        kh = kh > H ? H : kh;
        kw = kw > W ? W : kw;
        char arch[160];
        snprintf(arch, sizeof arch, "input %d %d %d\nconv %d %dx%d stride=%dx%d pad=%s\n", W, H, C,
                 O, kh, kw, sh, sw, pads[nn_rng_below(&rng, 5)]);
        gcase c = {arch, 1 + (int)nn_rng_below(&rng, 3), 1, 0};
        check_layer_case(&c);
    }
}

/* nn_loss_eval with the targets spelled out: label, mixup, teacher */
static double loss_of(nn_loss_kind kind, int O, const float *cw, float sm, const float *z, const int *y,
                      const int *yb, const float *mix, const float *teacher, float tw, int n, int total,
                      float *d, float *probs, int *hits)
{
    nn_targets tg = {.labels = y, .labels_b = yb, .mix = mix, .teacher = teacher, .teacher_weight = tw};
    return nn_loss_eval(kind, O, cw, sm, z, &tg, n, total, d, probs, hits);
}

/* nn_loss_eval against finite differences of the mean loss on the logits;
 * mixed: with mixup shares; distilled: with a teacher's probabilities */
static void check_loss(nn_loss_kind kind, int O, const float *cw, float sm, int mixed, int distilled)
{
    enum { N = 5 };
    float z[N * 8], d[N * 8], mixv[N];
    int y[N], yb[N];
    for (int i = 0; i < N * O; i++)
        z[i] = kind == NN_LOSS_MSE ? unif(0.05f, 0.95f) : unif(-3.0f, 3.0f);
    for (int s = 0; s < N; s++) {
        y[s] = (int)nn_rng_below(&rng, O == 1 ? 2 : (uint32_t)O);
        yb[s] = (int)nn_rng_below(&rng, O == 1 ? 2 : (uint32_t)O);
        mixv[s] = unif(0.0f, 1.0f);
    }
    const int *lb = mixed ? yb : NULL;
    const float *mx = mixed ? mixv : NULL;
    float teach[N * 8], tw = distilled ? unif(0.2f, 0.9f) : 0.0f;
    for (int s = 0; s < N; s++) { /* a distribution over the O outputs (or one probability) */
        float sum = 0.0f;
        for (int o = 0; o < O; o++)
            sum += teach[s * O + o] = unif(0.01f, 1.0f);
        for (int o = 0; o < O && O > 1; o++)
            teach[s * O + o] /= sum;
    }
    const float *te = distilled ? teach : NULL;
    int hits;
    double l0 = loss_of(kind, O, cw, sm, z, y, lb, mx, te, tw, N, N, d, NULL, &hits);
    CHECKF(isfinite(l0) && l0 > 0.0, "loss %d: %g", (int)kind, l0);
    const float eps = 1e-3f;
    for (int i = 0; i < N * O; i++) {
        float keep = z[i];
        z[i] = keep + eps;
        double lp = loss_of(kind, O, cw, sm, z, y, lb, mx, te, tw, N, N, NULL, NULL, &hits) / N;
        z[i] = keep - eps;
        double lm = loss_of(kind, O, cw, sm, z, y, lb, mx, te, tw, N, N, NULL, NULL, &hits) / N;
        z[i] = keep;
        double num = (lp - lm) / (2.0 * eps);
        CHECKF(close_enough(num, d[i], 1e-4),
               "loss %d O=%d cw=%s smoothing %g mixed %d distilled %d: d/dz[%d] analytic %.6g numeric %.6g",
               (int)kind, O, cw ? "yes" : "no", (double)sm, mixed, distilled, i, (double)d[i], num);
        n_checked++;
    }
}

static void check_loss_values(void)
{
    float z0[3] = {0, 0, 0}, d[3];
    int y1 = 1, y2 = 2, hits;
    double l = loss_of(NN_LOSS_BCE, 1, NULL, 0.0f, z0, &y1, NULL, NULL, NULL, 0.0f, 1, 1, d, NULL, &hits);
    CHECKF(fabs(l - log(2.0)) < 1e-6, "BCE at logit 0: %g", l);
    CHECKF(fabsf(d[0] + 0.5f) < 1e-6f, "BCE gradient at 0: %g", (double)d[0]);
    l = loss_of(NN_LOSS_SOFTMAX_CE, 3, NULL, 0.0f, z0, &y2, NULL, NULL, NULL, 0.0f, 1, 1, d, NULL, &hits);
    CHECKF(fabs(l - log(3.0)) < 1e-6, "CE uniform: %g", l);
    float cw[2] = {1.0f, 3.0f};
    double lw = loss_of(NN_LOSS_BCE, 1, cw, 0.0f, z0, &y1, NULL, NULL, NULL, 0.0f, 1, 1, d, NULL, &hits);
    CHECKF(fabs(lw - 3.0 * log(2.0)) < 1e-6, "weighted BCE: %g", lw);
    /* stable at huge logits */
    float zb[2] = {1e4f, -1e4f};
    int yb[2] = {0, 1};
    l = loss_of(NN_LOSS_BCE, 1, NULL, 0.0f, zb, yb, NULL, NULL, NULL, 0.0f, 2, 2, d, NULL, &hits);
    CHECKF(isfinite(l) && fabs(l - 2e4) < 1.0, "BCE at |z|=1e4: %g", l);
    CHECKF(isfinite(d[0]) && isfinite(d[1]), "BCE gradient at |z|=1e4");
    float zc[3] = {1e4f, -1e4f, 0.0f};
    l = loss_of(NN_LOSS_SOFTMAX_CE, 3, NULL, 0.0f, zc, &y1, NULL, NULL, NULL, 0.0f, 1, 1, d, NULL, &hits);
    CHECKF(isfinite(l) && fabs(l - 2e4) < 1.0, "CE at |z|=1e4: %g", l);
    /* label smoothing 0.2: the loss is lowest where the probabilities equal
     * the smoothed targets, 0.9 for the label and 0.1 for the other (BCE), and
     * 0.2/3 + 0.8 against 0.2/3 (3-way CE), not at certainty */
    float zs = logf(0.9f / 0.1f);
    l = loss_of(NN_LOSS_BCE, 1, NULL, 0.2f, &zs, &y1, NULL, NULL, NULL, 0.0f, 1, 1, d, NULL, &hits);
    CHECKF(fabsf(d[0]) < 1e-6f, "smoothed BCE gradient at p = 0.9: %g", (double)d[0]);
    CHECKF(fabs(l - (-0.9 * log(0.9) - 0.1 * log(0.1))) < 1e-5, "smoothed BCE at its minimum: %g", l);
    float zl = 30.0f;
    loss_of(NN_LOSS_BCE, 1, NULL, 0.2f, &zl, &y1, NULL, NULL, NULL, 0.0f, 1, 1, d, NULL, &hits);
    CHECKF(d[0] > 0.09f, "smoothed BCE pushes a certain logit back: gradient %g", (double)d[0]);
    float off = 0.2f / 3.0f, on = 0.8f + off;
    float zt[3] = {logf(off), logf(off), logf(on)};
    loss_of(NN_LOSS_SOFTMAX_CE, 3, NULL, 0.2f, zt, &y2, NULL, NULL, NULL, 0.0f, 1, 1, d, NULL, &hits);
    CHECKF(fabsf(d[0]) < 1e-6f && fabsf(d[1]) < 1e-6f && fabsf(d[2]) < 1e-6f,
          "smoothed CE gradient at the smoothed target: %g %g %g", (double)d[0], (double)d[1], (double)d[2]);
    /* distillation: the BCE gradient at logit 0 is 0.5 - target, the target
     * being (1 - w) * label + w * teacher; the CE gradient likewise per class */
    float tp = 0.2f, z1 = 0.0f;
    loss_of(NN_LOSS_BCE, 1, NULL, 0.0f, &z1, &y1, NULL, NULL, &tp, 1.0f, 1, 1, d, NULL, &hits);
    CHECKF(fabsf(d[0] - 0.3f) < 1e-6f, "BCE towards a teacher's 0.2 alone: gradient %g, want 0.3", (double)d[0]);
    CHECKF(hits == 0, "a hit counted against the label with a teacher: %d", hits);
    loss_of(NN_LOSS_BCE, 1, NULL, 0.0f, &z1, &y1, NULL, NULL, &tp, 0.5f, 1, 1, d, NULL, &hits);
    CHECKF(fabsf(d[0] + 0.1f) < 1e-6f, "BCE half label 1, half teacher 0.2: gradient %g, want -0.1", (double)d[0]);
    float tq[3] = {0.5f, 0.3f, 0.2f};
    loss_of(NN_LOSS_SOFTMAX_CE, 3, NULL, 0.0f, z0, &y2, NULL, NULL, tq, 0.25f, 1, 1, d, NULL, &hits);
    CHECKF(fabsf(d[0] - (1.0f / 3 - 0.125f)) < 1e-6f && fabsf(d[1] - (1.0f / 3 - 0.075f)) < 1e-6f &&
               fabsf(d[2] - (1.0f / 3 - 0.8f)) < 1e-6f,
           "CE a quarter teacher: gradient %g %g %g", (double)d[0], (double)d[1], (double)d[2]);
    /* mixup: the loss of a mixed target is the mix of the two labels' losses
     * (BCE and CE are linear in the target), class weights mixed likewise;
     * the hit goes to the label with the larger share */
    float zm[3] = {0.3f, -1.2f, 2.0f}, m07 = 0.7f, m02 = 0.2f;
    int ya = 0, yc = 2;
    for (int k = 0; k < 2; k++) {
        nn_loss_kind kind = k ? NN_LOSS_SOFTMAX_CE : NN_LOSS_BCE;
        int O = k ? 3 : 1, y0 = k ? ya : 0, y1b = k ? yc : 1;
        float cwm[3] = {1.0f, 2.5f, 4.0f};
        double la = loss_of(kind, O, cwm, 0.0f, zm, &y0, NULL, NULL, NULL, 0.0f, 1, 1, NULL, NULL, &hits);
        double lb2 = loss_of(kind, O, cwm, 0.0f, zm, &y1b, NULL, NULL, NULL, 0.0f, 1, 1, NULL, NULL, &hits);
        double w = 0.7 * cwm[y0] + 0.3 * cwm[y1b];
        double lm = loss_of(kind, O, cwm, 0.0f, zm, &y0, &y1b, &m07, NULL, 0.0f, 1, 1, NULL, NULL, &hits);
        double want = w * (0.7 * la / cwm[y0] + 0.3 * lb2 / cwm[y1b]);
        CHECKF(fabs(lm - want) < 1e-5, "mixed loss %d: %g, want %g", (int)kind, lm, want);
        int hit_a, hit_b;
        loss_of(kind, O, NULL, 0.0f, zm, &y0, &y1b, &m07, NULL, 0.0f, 1, 1, NULL, NULL, &hit_a);
        loss_of(kind, O, NULL, 0.0f, zm, &y0, &y1b, &m02, NULL, 0.0f, 1, 1, NULL, NULL, &hit_b);
        /* zm predicts 1 (BCE, logit 0.3 > 0) and class 2 (CE) */
        CHECKF(hit_a == 0 && hit_b == 1, "mixed hits %d: share 0.7 of a wrong label %d, 0.8 of the right one %d",
              (int)kind, hit_a, hit_b);
    }
}

/* The trainer end to end: with plain SGD at lr 1 the update is the mean
 * gradient; compare with finite differences of nn_trainer_eval's loss. */
static void check_trainer(const char *arch, nn_loss_kind loss, const float *cw)
{
    nn_net *net;
    nn_error err;
    REQUIRE(nn_net_from_text(arch, "trainer-gradcheck", &net, &err) == NN_OK, "%s", err.msg);
    nn_net_init_params(net, 77);
    enum { B = 4 };
    int O = nn_net_n_outputs(net);
    size_t in = (size_t)net->input.width * net->input.height * net->input.channels;
    float x[B * 64];
    int y[B];
    for (size_t i = 0; i < B * in; i++)
        x[i] = unif(-1.0f, 1.0f);
    for (int s = 0; s < B; s++)
        y[s] = (int)nn_rng_below(&rng, O == 1 ? 2 : (uint32_t)O);
    nn_opt_config oc;
    nn_opt_defaults(NN_OPT_SGD, &oc);
    oc.lr = 1.0f;
    oc.weight_decay = 0.0f;
    nn_trainer_config tc = {.max_batch = B, .threads = 2, .loss = loss, .class_weights = cw,
                            .seed = 1};
    nn_trainer *tr;
    REQUIRE(nn_trainer_new(net, &tc, &oc, &tr, &err) == NN_OK, "%s", err.msg);
    size_t np = nn_net_n_params(net);
    float *P = nn_net_params(net), *before = malloc(np * sizeof *before);
    memcpy(before, P, np * sizeof *before);
    int hits;
    float mean = nn_trainer_step(tr, x, y, B, &hits);
    float sum = (memcpy(P, before, np * sizeof *P), nn_trainer_eval(tr, x, y, B, NULL));
    CHECKF(fabsf(mean * B - sum) <= 1e-4f * fabsf(sum) + 1e-6f, "step loss %g*%d vs eval %g",
          (double)mean, B, (double)sum);
    memcpy(P, before, np * sizeof *P);
    nn_trainer_step(tr, x, y, B, &hits);
    float *g = malloc(np * sizeof *g);
    for (size_t k = 0; k < np; k++)
        g[k] = before[k] - P[k];
    memcpy(P, before, np * sizeof *P);
    const float eps = 1e-2f;
    for (int t = 0; t < 40; t++) {
        size_t k = nn_rng_below(&rng, (uint32_t)np);
        float keep = P[k];
        P[k] = keep + eps;
        double lp = nn_trainer_eval(tr, x, y, B, NULL) / B;
        P[k] = keep - eps;
        double lm = nn_trainer_eval(tr, x, y, B, NULL) / B;
        P[k] = keep;
        double num = (lp - lm) / (2.0 * eps);
        CHECKF(close_enough(num, g[k], 2e-3), "trainer %s loss %d: d/dparam[%zu] analytic %.6g "
              "numeric %.6g", arch, (int)loss, k, (double)g[k], num);
        n_checked++;
    }
    free(before);
    free(g);
    nn_trainer_free(tr);
    nn_net_free(net);
}

int main(void)
{
    nn_rng_seed(&rng, 20261128);
    static const gcase cases[] = {
        {"input 7 6 3\nconv 4 3 stride=2 pad=tf_same\n", 2, 1, 0},
        {"input 8 8 2\nconv 3 3 stride=2 pad=tf_same\n", 1, 1, 0},
        {"input 5 7 2\nconv 3 3 pad=same\n", 2, 1, 0},
        {"input 6 5 3\nconv 2 2 pad=same\n", 1, 1, 0},
        {"input 9 9 1\nconv 5 3x2 stride=2x1 pad=1\n", 2, 1, 0},
        {"input 6 6 4\nconv 3 1\n", 2, 1, 0},
        {"input 7 7 2\nconv 2 4 stride=3 pad=valid\n", 1, 1, 0},
        {"input 5 5 2\nconv 3 5 stride=2 pad=tf_same\n", 2, 1, 0},
        {"input 7 7 2\nmaxpool 2\n", 2, 1, 1},
        {"input 8 6 2\nmaxpool 3 stride=2\n", 1, 1, 1},
        {"input 7 6 3\navgpool 2\n", 2, 1, 0},
        {"input 9 9 1\navgpool 3 stride=2\n", 1, 1, 0},
        {"input 5 4 3\nglobalavgpool\n", 2, 1, 0},
        {"input 4 3 2\ndense 5\n", 3, 1, 0},
        {"input 7 1 1\ndense 3\n", 1, 1, 0},
        {"input 3 3 2\nflatten\ndense 2\n", 2, 1, 0},
        {"input 6 5 2\ndropout 0.4\n", 2, 1, 0},
        {"input 5 4 3\nbatchnorm\n", 3, 1, 0},
        {"input 6 1 1\nbatchnorm\n", 4, 1, 0},
        {"input 5 4 2\nrelu\n", 2, 1, 1},
        {"input 5 4 2\nleakyrelu 0.3\n", 2, 1, 1},
        {"input 5 4 2\nsigmoid\n", 2, 1, 0},
        {"input 5 4 2\ntanh\n", 2, 1, 0},
        {"input 6 1 1\nsoftmax\n", 3, 1, 0},
        {"input 3 2 2\nsoftmax\n", 2, 1, 0},
        {"input 8 8 2\nconv 3 3 stride=2 pad=tf_same\nbatchnorm\ntanh\navgpool 2\nflatten\n"
         "dense 4\ntanh\ndropout 0.25\ndense 3\n", 3, 1, 0},
        /* shortcuts from the network's input, and two onto one activation */
        {"input 5 4 2\nconv 2 3 pad=same\ntanh\nresidual 2\n", 2, 1, 0},
        {"input 5 5 2\ntanh\nconv 2 3 pad=same\nresidual 1\nconv 2 3 pad=same\nresidual 3\n"
         "residual 5\n", 2, 1, 0},
        /* a ResNet basic block in train mode, then a pooled head */
        {"input 6 6 3\nconv 3 3 pad=same\nbatchnorm\ntanh\nconv 3 3 pad=same\nbatchnorm\n"
         "residual 5\ntanh\nglobalavgpool\ndense 2\n", 3, 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_layer_case(&cases[i]);
    check_random_convs(40);
    check_random_residuals(20);

    const float cw2[2] = {0.5f, 2.0f}, cw4[4] = {1.0f, 2.0f, 0.5f, 3.0f};
    check_loss(NN_LOSS_BCE, 1, NULL, 0.0f, 0, 0);
    check_loss(NN_LOSS_BCE, 1, cw2, 0.0f, 0, 0);
    check_loss(NN_LOSS_BCE, 1, cw2, 0.1f, 0, 0);
    check_loss(NN_LOSS_BCE, 1, cw2, 0.1f, 1, 0);
    check_loss(NN_LOSS_BCE, 1, cw2, 0.1f, 0, 1);
    check_loss(NN_LOSS_BCE, 1, NULL, 0.0f, 1, 1);
    check_loss(NN_LOSS_SOFTMAX_CE, 4, NULL, 0.0f, 0, 0);
    check_loss(NN_LOSS_SOFTMAX_CE, 4, cw4, 0.0f, 0, 0);
    check_loss(NN_LOSS_SOFTMAX_CE, 4, cw4, 0.1f, 0, 0);
    check_loss(NN_LOSS_SOFTMAX_CE, 4, cw4, 0.1f, 1, 0);
    check_loss(NN_LOSS_SOFTMAX_CE, 4, cw4, 0.1f, 0, 1);
    check_loss(NN_LOSS_MSE, 1, NULL, 0.0f, 0, 0);
    check_loss(NN_LOSS_MSE, 4, cw4, 0.0f, 0, 0);
    check_loss(NN_LOSS_MSE, 4, cw4, 0.0f, 1, 0);
    check_loss(NN_LOSS_MSE, 4, cw4, 0.0f, 0, 1);
    check_loss_values();

    const char *bin = "input 6 6 1\nconv 2 3 stride=2 pad=tf_same\ntanh\nflatten\ndense 4\n"
                      "tanh\ndense 1\nsigmoid\n";
    const char *multi = "input 5 4 2\nconv 3 3 pad=same\ntanh\navgpool 2\ndense 4\ntanh\n"
                        "dense 4\nsoftmax\n";
    check_trainer(bin, NN_LOSS_AUTO, NULL);
    check_trainer(bin, NN_LOSS_BCE, cw2);
    check_trainer(bin, NN_LOSS_MSE, cw2);
    check_trainer(multi, NN_LOSS_SOFTMAX_CE, cw4);
    check_trainer(multi, NN_LOSS_MSE, NULL);
    check_trainer("input 6 6 1\nconv 2 3 pad=same\ntanh\nconv 2 3 pad=same\nresidual 2\n"
                  "tanh\nflatten\ndense 1\nsigmoid\n", NN_LOSS_BCE, cw2);
    printf("%d derivatives checked\n", n_checked);
    return test_done("gradcheck");
}

/* test_optim_api.c - optimizer names, configuration checks, learning-rate
 * changes and the checkpoint state blob (bit-exact resume, damaged blobs). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"
#include "../../test_check.h"

static void test_names(void)
{
    for (int k = 0; k < NN_OPT_COUNT; k++) {
        nn_opt_kind got = NN_OPT_COUNT;
        const char *name = nn_opt_name((nn_opt_kind)k);
        CHECKF(nn_opt_from_name(name, &got) == NN_OK && got == (nn_opt_kind)k, "round trip %s",
               name);
        for (int j = 0; j < k; j++)
            CHECKF(strcmp(name, nn_opt_name((nn_opt_kind)j)) != 0, "duplicate name %s", name);
    }
    nn_opt_kind got = NN_OPT_COUNT;
    CHECKF(nn_opt_from_name("Adam", &got) == NN_OK && got == NN_OPT_ADAM, "case-insensitive");
    CHECKF(nn_opt_from_name("nesterov", &got) == NN_OK && got == NN_OPT_NAG, "alias nesterov");
    got = NN_OPT_SGD;
    CHECKF(nn_opt_from_name("adamw", &got) == NN_ERR_ARG, "adamw is not ours");
    CHECKF(nn_opt_from_name("ada", &got) == NN_ERR_ARG, "no prefix matching");
    CHECKF(nn_opt_from_name("", &got) == NN_ERR_ARG, "empty name");
    CHECKF(nn_opt_from_name(NULL, &got) == NN_ERR_ARG, "NULL name");
    CHECKF(nn_opt_from_name("sgd", NULL) == NN_ERR_ARG, "NULL out");
    CHECKF(got == NN_OPT_SGD, "failed lookups leave *kind alone");
    CHECKF(strcmp(nn_opt_name(NN_OPT_COUNT), "unknown") == 0, "out-of-range name");
    CHECKF(strcmp(nn_opt_name((nn_opt_kind)-1), "unknown") == 0, "negative kind name");
}

/* cfg must fail nn_optim_new with NN_ERR_ARG and a message naming field. */
static void expect_bad(const nn_opt_config *cfg, const char *field, const char *why)
{
    nn_optim *opt = (nn_optim *)1; /* must be cleared */
    nn_error err = {{0}};
    nn_status st = nn_optim_new(cfg, 10, &opt, &err);
    CHECKF(st == NN_ERR_ARG, "%s: status %d", why, (int)st);
    CHECKF(opt == NULL, "%s: *out not cleared", why);
    CHECKF(strstr(err.msg, field) != NULL, "%s: message '%s' does not name %s", why, err.msg,
           field);
    CHECKF(nn_opt_check(cfg, NULL) == NN_ERR_ARG, "%s: nn_opt_check without err", why);
}

static void test_configs(void)
{
    for (int k = 0; k < NN_OPT_COUNT; k++) {
        nn_opt_config cfg, bad;
        nn_error err = {{0}};
        nn_opt_defaults((nn_opt_kind)k, &cfg);
        CHECKF(cfg.kind == (nn_opt_kind)k && nn_opt_check(&cfg, &err) == NN_OK,
               "defaults of %s rejected: %s", nn_opt_name((nn_opt_kind)k), err.msg);
        CHECKF(cfg.weight_decay == 0, "weight decay is off by default");
        const char *name = nn_opt_name((nn_opt_kind)k);

        bad = cfg, bad.lr = 0;
        expect_bad(&bad, "lr", "lr 0");
        bad = cfg, bad.lr = -0.1f;
        expect_bad(&bad, "lr", "negative lr");
        bad = cfg, bad.lr = NAN;
        expect_bad(&bad, "lr", "NaN lr");
        bad = cfg, bad.lr = INFINITY;
        expect_bad(&bad, "lr", "infinite lr");
        bad = cfg, bad.weight_decay = -1e-4f;
        expect_bad(&bad, "weight_decay", "negative weight decay");
        bad = cfg, bad.weight_decay = NAN;
        expect_bad(&bad, "weight_decay", "NaN weight decay");
        CHECKF(cfg.decoupled == 0, "decay is L2 by default");
        bad = cfg, bad.decoupled = 2;
        expect_bad(&bad, "decoupled", "decoupled 2");
        bad = cfg, bad.decoupled = 1, bad.weight_decay = 1.0f / bad.lr;
        expect_bad(&bad, "lr * weight_decay", "a decoupled decay that zeroes the weights");
        CHECKF(cfg.average_decay == 0, "averaging is off by default");
        bad = cfg, bad.average_decay = 1.0f;
        expect_bad(&bad, "average_decay", "average decay 1");
        bad = cfg, bad.average_decay = -0.5f;
        expect_bad(&bad, "average_decay", "negative average decay");
        bad = cfg, bad.average_decay = NAN;
        expect_bad(&bad, "average_decay", "NaN average decay");
        /* The message also says which optimizer. */
        bad = cfg, bad.lr = -1;
        nn_optim *opt = NULL;
        nn_optim_new(&bad, 3, &opt, &err);
        CHECKF(strstr(err.msg, name) != NULL, "message '%s' does not name %s", err.msg, name);
    }
    nn_opt_config c;
    nn_opt_defaults(NN_OPT_MOMENTUM, &c);
    c.momentum = 0;
    expect_bad(&c, "momentum", "momentum 0");
    c.momentum = 1;
    expect_bad(&c, "momentum", "momentum 1");
    nn_opt_defaults(NN_OPT_NAG, &c);
    c.momentum = 1.5f;
    expect_bad(&c, "momentum", "nag momentum 1.5");
    nn_opt_defaults(NN_OPT_ADAGRAD, &c);
    c.eps = 0;
    expect_bad(&c, "eps", "adagrad eps 0");
    nn_opt_defaults(NN_OPT_RMSPROP, &c);
    c.rho = 1;
    expect_bad(&c, "rho", "rmsprop alpha 1");
    c.rho = -0.5f;
    expect_bad(&c, "rho", "rmsprop alpha negative");
    nn_opt_defaults(NN_OPT_ADADELTA, &c);
    c.eps = -1e-6f;
    expect_bad(&c, "eps", "adadelta eps negative");
    c.eps = 1e-6f, c.rho = NAN;
    expect_bad(&c, "rho", "adadelta rho NaN");
    nn_opt_defaults(NN_OPT_ADAM, &c);
    c.beta1 = 1;
    expect_bad(&c, "beta1", "adam beta1 1");
    c.beta1 = 0.9f, c.beta2 = 1.01f;
    expect_bad(&c, "beta2", "adam beta2 > 1");
    nn_opt_defaults(NN_OPT_NADAM, &c);
    c.beta2 = -0.1f;
    expect_bad(&c, "beta2", "nadam beta2 negative");
    c.beta2 = 0.999f, c.eps = INFINITY;
    expect_bad(&c, "eps", "nadam eps infinite");

    /* Fields an optimizer does not use are not checked. */
    nn_opt_defaults(NN_OPT_SGD, &c);
    c.beta1 = 7, c.momentum = -3, c.rho = 2, c.eps = -1;
    CHECKF(nn_opt_check(&c, NULL) == NN_OK, "sgd ignores other optimizers' fields");

    nn_error err = {{0}};
    nn_optim *opt = NULL;
    c.kind = NN_OPT_COUNT;
    CHECKF(nn_optim_new(&c, 4, &opt, &err) == NN_ERR_ARG && strstr(err.msg, "kind"),
           "unknown kind: %s", err.msg);
    nn_opt_defaults(NN_OPT_COUNT, &c);
    CHECKF(nn_opt_check(&c, NULL) == NN_ERR_ARG, "defaults of an unknown kind are not valid");
    nn_opt_defaults(NN_OPT_ADAM, &c);
    CHECKF(nn_optim_new(&c, 0, &opt, &err) == NN_ERR_ARG && strstr(err.msg, "no parameters"),
           "0 params: %s", err.msg);
    CHECKF(nn_optim_new(NULL, 4, &opt, &err) == NN_ERR_ARG, "NULL config");
    CHECKF(nn_optim_new(&c, 4, NULL, &err) == NN_ERR_ARG, "NULL out");
    CHECKF(nn_optim_new(&c, SIZE_MAX / 2, &opt, &err) == NN_ERR_NOMEM && opt == NULL,
           "absurd size: %s", err.msg);
    nn_optim_free(NULL);
}

static void test_lr(void)
{
    nn_opt_config c;
    nn_optim *a = NULL, *b = NULL;
    nn_opt_defaults(NN_OPT_SGD, &c);
    c.lr = 0.1f;
    nn_optim_new(&c, 1, &a, NULL);
    c.lr = 0.2f;
    nn_optim_new(&c, 1, &b, NULL);
    CHECKF(a && b, "create");
    if (!a || !b)
        return;
    CHECKF(nn_optim_get_lr(a) == 0.1f, "get_lr %g", (double)nn_optim_get_lr(a));
    nn_optim_set_lr(a, 0.2f);
    CHECKF(nn_optim_get_lr(a) == 0.2f && nn_optim_config(a)->lr == 0.2f, "set_lr");
    nn_optim_set_lr(a, -1);
    nn_optim_set_lr(a, NAN);
    CHECKF(nn_optim_get_lr(a) == 0.2f, "invalid lr ignored");
    float pa = 1, pb = 1, g = 0.5f;
    nn_optim_step(a, &pa, &g);
    nn_optim_step(b, &pb, &g);
    CHECKF(pa == pb && pa == 0.9f, "the new lr is used: %g %g", (double)pa, (double)pb);
    nn_optim_step(a, NULL, &g); /* ignored, not a crash */
    CHECKF(nn_optim_steps(a) == 1, "steps %llu", (unsigned long long)nn_optim_steps(a));
    nn_optim_free(a);
    nn_optim_free(b);
}

/* Deterministic pseudo-gradients for the resume test. */
static void fake_grad(int step, const float *p, float *g, size_t n)
{
    for (size_t i = 0; i < n; i++)
        g[i] = p[i] * 0.3f + sinf((float)(step * 7 + (int)i)) * 0.1f;
}

static void test_state(void)
{
    enum { N = 37, STEPS = 12, SPLIT = 5 };
    for (int k = 0; k < NN_OPT_COUNT; k++) {
        nn_opt_config cfg;
        nn_opt_defaults((nn_opt_kind)k, &cfg);
        cfg.weight_decay = 0.01f;
        const char *name = nn_opt_name((nn_opt_kind)k);
        nn_optim *ref = NULL, *first = NULL, *resumed = NULL;
        nn_optim_new(&cfg, N, &ref, NULL);
        nn_optim_new(&cfg, N, &first, NULL);
        nn_optim_new(&cfg, N, &resumed, NULL);
        CHECKF(ref && first && resumed, "create %s", name);
        if (!ref || !first || !resumed)
            return;
        float p_ref[N], p[N], g[N];
        for (int i = 0; i < N; i++)
            p_ref[i] = p[i] = (float)(i - N / 2) * 0.1f;
        for (int s = 0; s < STEPS; s++) {
            fake_grad(s, p_ref, g, N);
            nn_optim_step(ref, p_ref, g);
        }
        for (int s = 0; s < SPLIT; s++) {
            fake_grad(s, p, g, N);
            nn_optim_step(first, p, g);
        }
        size_t size = nn_optim_state_size(first);
        CHECKF(size >= 16 + (k == NN_OPT_SGD ? 0 : N * sizeof(float)), "%s state %zu bytes", name,
               size);
        unsigned char *blob = malloc(size + 8);
        if (!blob)
            return;
        nn_optim_save_state(first, blob);
        nn_error err = {{0}};
        CHECKF(nn_optim_load_state(resumed, blob, size, &err) == NN_OK, "%s load: %s", name,
               err.msg);
        CHECKF(nn_optim_steps(resumed) == SPLIT, "%s steps after load", name);
        for (int s = SPLIT; s < STEPS; s++) {
            fake_grad(s, p, g, N);
            nn_optim_step(resumed, p, g);
        }
        CHECKF(memcmp(p, p_ref, sizeof p) == 0, "%s: resumed run is not bit-identical", name);

        /* Damaged blobs are refused with a message and leave the optimizer usable. */
        nn_optim *other = NULL;
        err.msg[0] = 0;
        CHECKF(nn_optim_load_state(first, blob, size - 1, &err) == NN_ERR_FORMAT && err.msg[0],
               "%s: truncated blob accepted", name);
        err.msg[0] = 0;
        CHECKF(nn_optim_load_state(first, blob, 10, &err) == NN_ERR_FORMAT && err.msg[0],
               "%s: header-only blob accepted", name);
        CHECKF(nn_optim_load_state(first, blob, size + 8, &err) == NN_ERR_FORMAT,
               "%s: overlong blob accepted", name);
        blob[0] ^= 0xff;
        CHECKF(nn_optim_load_state(first, blob, size, &err) == NN_ERR_FORMAT &&
                   strstr(err.msg, "magic"),
               "%s: bad magic: %s", name, err.msg);
        blob[0] ^= 0xff;
        blob[4] = 9;
        CHECKF(nn_optim_load_state(first, blob, size, &err) == NN_ERR_VERSION, "%s: version",
               name);
        blob[4] = 1;
        nn_opt_config small = cfg;
        nn_optim_new(&small, N - 1, &other, NULL);
        CHECKF(other && nn_optim_load_state(other, blob, size, &err) != NN_OK &&
                   strstr(err.msg, "parameters"),
               "%s: state of another net size accepted: %s", name, err.msg);
        nn_optim_free(other);
        other = NULL;
        nn_opt_config diff;
        nn_opt_defaults((nn_opt_kind)((k + 1) % NN_OPT_COUNT), &diff);
        nn_optim_new(&diff, N, &other, NULL);
        err.msg[0] = 0;
        CHECKF(other && nn_optim_load_state(other, blob, size, &err) == NN_ERR_FORMAT &&
                   strstr(err.msg, name),
               "%s: state loaded into %s: %s", name, nn_opt_name(diff.kind), err.msg);
        nn_optim_free(other);
        CHECKF(nn_optim_load_state(first, NULL, size, &err) == NN_ERR_ARG, "NULL blob");
        CHECKF(nn_optim_steps(first) == SPLIT, "%s: failed loads changed the step count", name);
        free(blob);
        nn_optim_free(ref);
        nn_optim_free(first);
        nn_optim_free(resumed);
    }
}

/* Updates are elementwise: optimising n parameters at once must give, bit for
 * bit, what n one-parameter optimizers give. n spans several of the kernels'
 * blocks and a ragged tail, so blocking and vector/scalar paths are covered. */
/* Polyak averaging: the average starts at the first step's weights and then
 * follows A += (1 - d_t) (p - A) with d_t = min(decay, (1 + t) / (10 + t));
 * it travels in the state blob, and a blob with the wrong flag is refused. */
static void test_average(void)
{
    enum { N = 7, STEPS = 40 };
    nn_opt_config cfg;
    nn_opt_defaults(NN_OPT_ADAM, &cfg);
    nn_optim *plain = NULL, *avg = NULL, *other = NULL;
    nn_error err = {{0}};
    CHECKF(nn_optim_new(&cfg, N, &plain, &err) == NN_OK, "plain adam: %s", err.msg);
    CHECKF(nn_optim_average(plain) == NULL, "no average without average_decay");
    cfg.average_decay = 0.9f;
    CHECKF(nn_optim_new(&cfg, N, &avg, &err) == NN_OK, "averaging adam: %s", err.msg);
    CHECKF(nn_optim_new(&cfg, N, &other, &err) == NN_OK, "second averaging adam: %s", err.msg);
    if (!plain || !avg || !other)
        goto out;
    CHECKF(nn_optim_state_size(avg) == nn_optim_state_size(plain) + N * sizeof(float),
           "the average adds n floats to the state");
    float p[N], q[N], g[N];
    double want[N];
    for (int i = 0; i < N; i++)
        p[i] = q[i] = (float)i - 3.0f;
    for (int t = 1; t <= STEPS; t++) {
        fake_grad(t, p, g, N);
        nn_optim_step(avg, p, g);
        nn_optim_step(plain, q, g);
        const float *a = nn_optim_average(avg);
        double d = fmin(0.9, (1.0 + t) / (10.0 + t));
        for (int i = 0; i < N; i++) {
            CHECKF(p[i] == q[i], "averaging changed the raw step at t=%d", t);
            want[i] = t == 1 ? p[i] : want[i] + (1.0 - d) * (p[i] - want[i]);
            CHECKF(fabs(a[i] - want[i]) < 1e-5, "t=%d average[%d] %g, want %g", t, i, (double)a[i], want[i]);
        }
    }
    /* the average lags behind: after 40 steps it differs from the weights */
    float gap = 0.0f;
    for (int i = 0; i < N; i++)
        gap += fabsf(nn_optim_average(avg)[i] - p[i]);
    CHECKF(gap > 1e-4f, "average equals the weights after %d steps", STEPS);

    size_t sz = nn_optim_state_size(avg);
    unsigned char *blob = malloc(sz), *pblob = malloc(nn_optim_state_size(plain));
    if (!blob || !pblob) {
        free(blob);
        free(pblob);
        goto out;
    }
    nn_optim_save_state(avg, blob);
    CHECKF(nn_optim_load_state(other, blob, sz, &err) == NN_OK, "average round trip: %s", err.msg);
    CHECKF(memcmp(nn_optim_average(other), nn_optim_average(avg), N * sizeof(float)) == 0,
           "the loaded average differs");
    err.msg[0] = 0;
    CHECKF(nn_optim_load_state(plain, blob, sz, &err) == NN_ERR_FORMAT && strstr(err.msg, "averaged"),
           "a state with an average loaded into a plain optimizer: '%s'", err.msg);
    nn_optim_save_state(plain, pblob);
    err.msg[0] = 0;
    CHECKF(nn_optim_load_state(other, pblob, nn_optim_state_size(plain), &err) == NN_ERR_FORMAT &&
               strstr(err.msg, "averaged"),
           "a plain state loaded into an averaging optimizer: '%s'", err.msg);
    blob[12] = 2;
    err.msg[0] = 0;
    CHECKF(nn_optim_load_state(other, blob, sz, &err) == NN_ERR_FORMAT && strstr(err.msg, "flags"),
           "unknown flags 2: '%s'", err.msg);
    free(blob);
    free(pblob);
out:
    nn_optim_free(plain);
    nn_optim_free(avg);
    nn_optim_free(other);
}

static void test_elementwise(void)
{
    enum { N = 2 * 256 + 37, STEPS = 4 };
    static float p[N], g[N], q[N];
    for (int k = 0; k < NN_OPT_COUNT; k++) {
        nn_opt_config cfg;
        nn_opt_defaults((nn_opt_kind)k, &cfg);
        cfg.weight_decay = 0.05f;
        nn_optim *all = NULL;
        if (nn_optim_new(&cfg, N, &all, NULL) != NN_OK) {
            CHECKF(0, "create %s", nn_opt_name((nn_opt_kind)k));
            continue;
        }
        for (int i = 0; i < N; i++)
            p[i] = q[i] = sinf((float)i) * 2.0f;
        for (int s = 0; s < STEPS; s++) {
            fake_grad(s, p, g, N);
            nn_optim_step(all, p, g);
        }
        int mismatches = 0;
        for (int i = 0; i < N; i++) {
            nn_optim *one = NULL;
            nn_optim_new(&cfg, 1, &one, NULL);
            for (int s = 0; s < STEPS && one; s++) {
                /* the same gradient element fake_grad gives parameter i */
                float gi = q[i] * 0.3f + sinf((float)(s * 7 + i)) * 0.1f;
                nn_optim_step(one, &q[i], &gi);
            }
            nn_optim_free(one);
            mismatches += memcmp(&p[i], &q[i], sizeof(float)) != 0;
        }
        CHECKF(mismatches == 0, "%s: %d of %d parameters differ from one-parameter runs",
               nn_opt_name((nn_opt_kind)k), mismatches, N);
        nn_optim_free(all);
    }
}

/* Decoupled decay (AdamW, SGDW) is the weights times 1 - lr * wd, then the
 * optimizer's own step with no decay; L2 goes through the gradient. */
static void test_decoupled(void)
{
    enum { N = 5, STEPS = 6 };
    const float p0[N] = {1.0f, -1.5f, 2.0f, 0.5f, -0.8f};
    for (int k = 0; k < NN_OPT_COUNT; k++) {
        const char *name = nn_opt_name((nn_opt_kind)k);
        nn_opt_config dw, plain;
        nn_opt_defaults((nn_opt_kind)k, &dw);
        dw.lr = 0.05f;
        plain = dw;
        dw.weight_decay = 0.5f;
        dw.decoupled = 1;
        nn_optim *a = NULL, *b = NULL, *l2 = NULL;
        nn_error err;
        REQUIRE(nn_optim_new(&dw, N, &a, &err) == NN_OK && nn_optim_new(&plain, N, &b, &err) == NN_OK,
                "%s", err.msg);
        nn_opt_config coupled = dw;
        coupled.decoupled = 0;
        REQUIRE(nn_optim_new(&coupled, N, &l2, &err) == NN_OK, "%s", err.msg);
        float pa[N], pb[N], pl[N], g[N];
        memcpy(pa, p0, sizeof pa);
        memcpy(pb, p0, sizeof pb);
        memcpy(pl, p0, sizeof pl);
        for (int t = 0; t < STEPS; t++) {
            fake_grad(t, pa, g, N);
            nn_optim_step(a, pa, g);
            for (int i = 0; i < N; i++)
                pb[i] *= 1.0f - dw.lr * dw.weight_decay;
            nn_optim_step(b, pb, g); /* the same gradient, taken at pa */
            nn_optim_step(l2, pl, g);
        }
        CHECKF(memcmp(pa, pb, sizeof pa) == 0, "%s: decoupled %.9g, shrink then step %.9g", name,
               (double)pa[0], (double)pb[0]);
        double apart = 0;
        for (int i = 0; i < N; i++)
            apart += fabs((double)pa[i] - (double)pl[i]);
        /* plain SGD is the one where both forms are the same update */
        CHECKF(k == NN_OPT_SGD ? apart < 1e-5 : apart > 1e-4,
               "%s: decoupled and L2 decay %.3g apart", name, apart);
        nn_optim_free(a);
        nn_optim_free(b);
        nn_optim_free(l2);
    }
    /* With no gradient Adam moves nothing, so AdamW's weights only shrink. */
    nn_opt_config c;
    nn_opt_defaults(NN_OPT_ADAM, &c);
    c.lr = 0.1f, c.weight_decay = 0.5f, c.decoupled = 1;
    nn_optim *o = NULL;
    nn_error err;
    REQUIRE(nn_optim_new(&c, N, &o, &err) == NN_OK, "%s", err.msg);
    float p[N], zero[N] = {0}, want[N];
    memcpy(p, p0, sizeof p);
    memcpy(want, p0, sizeof want);
    for (int t = 0; t < STEPS; t++) {
        nn_optim_step(o, p, zero);
        for (int i = 0; i < N; i++)
            want[i] *= 0.95f;
    }
    CHECKF(memcmp(p, want, sizeof p) == 0, "adamw with no gradient: %.9g, want %.9g", (double)p[0],
           (double)want[0]);
    nn_optim_free(o);
}

int main(void)
{
    test_decoupled();
    test_names();
    test_configs();
    test_lr();
    test_state();
    test_average();
    test_elementwise();
    return test_done("optim-api");
}

/* nn_optim.c - first-order optimizers over one flat parameter block.
 *
 * Update rules follow torch.optim (1.13) element for element, so our runs can
 * be checked against PyTorch's to float rounding (tests/nn/optim). The one
 * deliberate difference: NAdam uses the documented mu_{t+1} product, not the
 * extra factor of mu_t that torch 1.13's code carries (fixed in torch 2.0).
 * nn/OPTIMIZERS.md lists the conventions (where eps sits, lr scaling of the
 * momentum buffer, NAdam's schedule).
 *
 * Per-step scalars (bias corrections, NAdam's mu) are computed in double and
 * rounded to float once, as PyTorch does when it passes them as Python floats
 * to float32 kernels; the per-element arithmetic is float32. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#ifdef __SSE__
#include <xmmintrin.h>
#endif

#include "nn.h"

/* NAdam's momentum schedule: mu_t = beta1 * (1 - 0.5 * 0.96^(t * decay)),
 * PyTorch's default momentum_decay. */
#define NADAM_MOMENTUM_DECAY 4e-3

struct nn_optim {
    nn_opt_config cfg;
    size_t n;          /* parameters */
    uint64_t t;        /* steps taken */
    double mu_product; /* nadam: mu_1 * ... * mu_t */
    size_t n_state;    /* floats in state: 0, n or 2n, and n more when averaging */
    float *state;      /* [n] first buffer, then [n] second buffer, then [n] average */
    float *average;    /* inside state, or NULL */
};

static const char *const opt_names[NN_OPT_COUNT] = {
    "sgd", "momentum", "nag", "adagrad", "rmsprop", "adadelta", "adam", "nadam",
};

const char *nn_opt_name(nn_opt_kind kind)
{
    if ((unsigned)kind >= NN_OPT_COUNT)
        return "unknown";
    return opt_names[kind];
}

nn_status nn_opt_from_name(const char *name, nn_opt_kind *kind)
{
    if (!name || !kind)
        return NN_ERR_ARG;
    for (int k = 0; k < NN_OPT_COUNT; k++) {
        if (strcasecmp(name, opt_names[k]) == 0) {
            *kind = (nn_opt_kind)k;
            return NN_OK;
        }
    }
    if (strcasecmp(name, "nesterov") == 0) {
        *kind = NN_OPT_NAG;
        return NN_OK;
    }
    return NN_ERR_ARG;
}

void nn_opt_defaults(nn_opt_kind kind, nn_opt_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = kind;
    switch (kind) {
    case NN_OPT_SGD: /* torch has no default lr for SGD; 0.01 is ours */
        cfg->lr = 0.01f;
        break;
    case NN_OPT_MOMENTUM:
    case NN_OPT_NAG:
        cfg->lr = 0.01f;
        cfg->momentum = 0.9f;
        break;
    case NN_OPT_ADAGRAD:
        cfg->lr = 0.01f;
        cfg->eps = 1e-10f;
        break;
    case NN_OPT_RMSPROP:
        cfg->lr = 0.01f;
        cfg->rho = 0.99f;
        cfg->eps = 1e-8f;
        break;
    case NN_OPT_ADADELTA:
        cfg->lr = 1.0f;
        cfg->rho = 0.9f;
        cfg->eps = 1e-6f;
        break;
    case NN_OPT_ADAM:
        cfg->lr = 1e-3f;
        cfg->beta1 = 0.9f;
        cfg->beta2 = 0.999f;
        cfg->eps = 1e-8f;
        break;
    case NN_OPT_NADAM:
        cfg->lr = 2e-3f;
        cfg->beta1 = 0.9f;
        cfg->beta2 = 0.999f;
        cfg->eps = 1e-8f;
        break;
    default: /* lr 0: nn_opt_check rejects it with a message */
        break;
    }
}

/* lo <= v < hi (or <= hi when hi_closed); false for NaN. */
static int in_range(float v, double lo, double hi, int hi_closed)
{
    return v >= lo && (hi_closed ? v <= hi : v < hi) && isfinite(v);
}

#define CHECK(cond, field, v, range)                                                         \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            if (err)                                                                         \
                snprintf(err->msg, sizeof err->msg, "optimizer %s: %s = %g is outside %s",   \
                         name, field, (double)(v), range);                                   \
            return NN_ERR_ARG;                                                               \
        }                                                                                    \
    } while (0)

nn_status nn_opt_check(const nn_opt_config *cfg, nn_error *err)
{
    if (!cfg) {
        if (err)
            snprintf(err->msg, sizeof err->msg, "optimizer: no configuration given");
        return NN_ERR_ARG;
    }
    if ((unsigned)cfg->kind >= NN_OPT_COUNT) {
        if (err)
            snprintf(err->msg, sizeof err->msg, "optimizer: unknown kind %d (0..%d)", (int)cfg->kind,
                     NN_OPT_COUNT - 1);
        return NN_ERR_ARG;
    }
    const char *name = opt_names[cfg->kind];
    CHECK(cfg->lr > 0 && isfinite(cfg->lr), "lr", cfg->lr, "(0, inf)");
    CHECK(in_range(cfg->weight_decay, 0, INFINITY, 0), "weight_decay", cfg->weight_decay, "[0, inf)");
    CHECK(cfg->decoupled == 0 || cfg->decoupled == 1, "decoupled", cfg->decoupled, "{0, 1}");
    CHECK(!cfg->decoupled || cfg->lr * cfg->weight_decay < 1, "lr * weight_decay (decoupled)",
          cfg->lr * cfg->weight_decay, "[0, 1)");
    CHECK(cfg->average_decay == 0 || (cfg->average_decay > 0 && cfg->average_decay < 1), "average_decay",
          cfg->average_decay, "(0, 1) or 0 for none");
    switch (cfg->kind) {
    case NN_OPT_SGD:
        break;
    case NN_OPT_MOMENTUM:
    case NN_OPT_NAG:
        CHECK(cfg->momentum > 0 && cfg->momentum < 1, "momentum", cfg->momentum, "(0, 1)");
        break;
    case NN_OPT_ADAGRAD:
        CHECK(cfg->eps > 0 && isfinite(cfg->eps), "eps", cfg->eps, "(0, inf)");
        break;
    case NN_OPT_RMSPROP:
    case NN_OPT_ADADELTA:
        CHECK(in_range(cfg->rho, 0, 1, 0), "rho", cfg->rho, "[0, 1)");
        CHECK(cfg->eps > 0 && isfinite(cfg->eps), "eps", cfg->eps, "(0, inf)");
        break;
    case NN_OPT_ADAM:
    case NN_OPT_NADAM:
        CHECK(in_range(cfg->beta1, 0, 1, 0), "beta1", cfg->beta1, "[0, 1)");
        CHECK(in_range(cfg->beta2, 0, 1, 0), "beta2", cfg->beta2, "[0, 1)");
        CHECK(cfg->eps > 0 && isfinite(cfg->eps), "eps", cfg->eps, "(0, inf)");
        break;
    default:
        break;
    }
    return NN_OK;
}

/* Buffers per parameter. */
static size_t n_buffers(nn_opt_kind kind)
{
    switch (kind) {
    case NN_OPT_SGD:
        return 0;
    case NN_OPT_ADADELTA:
    case NN_OPT_ADAM:
    case NN_OPT_NADAM:
        return 2;
    default:
        return 1;
    }
}

nn_status nn_optim_new(const nn_opt_config *cfg, size_t n_params, nn_optim **out, nn_error *err)
{
    if (!out) {
        if (err)
            snprintf(err->msg, sizeof err->msg, "nn_optim_new: no output pointer");
        return NN_ERR_ARG;
    }
    *out = NULL;
    nn_status st = nn_opt_check(cfg, err);
    if (st != NN_OK)
        return st;
    if (n_params == 0) {
        if (err)
            snprintf(err->msg, sizeof err->msg, "optimizer %s: no parameters to optimise",
                     opt_names[cfg->kind]);
        return NN_ERR_ARG;
    }
    size_t nb = n_buffers(cfg->kind) + (cfg->average_decay > 0);
    if (n_params > SIZE_MAX / sizeof(float) / 3) {
        if (err)
            snprintf(err->msg, sizeof err->msg, "optimizer %s: %zu parameters is too many",
                     opt_names[cfg->kind], n_params);
        return NN_ERR_NOMEM;
    }
    nn_optim *opt = calloc(1, sizeof *opt);
    if (!opt)
        goto nomem;
    opt->cfg = *cfg;
    opt->n = n_params;
    opt->mu_product = 1.0;
    opt->n_state = nb * n_params;
    if (opt->n_state) {
        opt->state = calloc(opt->n_state, sizeof(float));
        if (!opt->state) {
            free(opt);
            goto nomem;
        }
        if (cfg->average_decay > 0)
            opt->average = opt->state + (nb - 1) * n_params;
    }
    *out = opt;
    return NN_OK;
nomem:
    if (err)
        snprintf(err->msg, sizeof err->msg, "optimizer %s: out of memory for %zu parameters",
                 opt_names[cfg->kind], n_params);
    return NN_ERR_NOMEM;
}

void nn_optim_free(nn_optim *opt)
{
    if (!opt)
        return;
    free(opt->state);
    free(opt);
}

static double nadam_mu(double beta1, uint64_t t)
{
    return beta1 * (1.0 - 0.5 * pow(0.96, (double)t * NADAM_MOMENTUM_DECAY));
}

/* Each kernel: p[n] -= update(g[n] + wd * p[n], state).
 *
 * The adaptive ones need square roots of values that are never negative.
 * Written as sqrtf in the loop, errno semantics make the compiler keep one
 * scalar call per element (Adam over 4 M parameters: 13 ms instead of 4 ms).
 * So they run in blocks of BLK: a vectorisable loop gathers the radicands, a
 * vector square root (correctly rounded, like sqrtf: results are unchanged)
 * takes them in place, and a second vectorisable loop finishes the update. */
#define BLK 256

static void sqrt_block(float *x, size_t n)
{
    size_t i = 0;
#ifdef __SSE__
    for (; i + 4 <= n; i += 4)
        _mm_storeu_ps(x + i, _mm_sqrt_ps(_mm_loadu_ps(x + i)));
#endif
    for (; i < n; i++)
        x[i] = sqrtf(x[i]);
}

static void step_sgd(size_t n, float *restrict p, const float *restrict g, float lr, float wd)
{
    for (size_t i = 0; i < n; i++)
        p[i] -= lr * (g[i] + wd * p[i]);
}

/* torch: buf = m*buf + d (buf starts at d, the same as from 0 with dampening 0);
 * momentum: p -= lr*buf; nesterov: p -= lr*(d + m*buf). */
static void step_momentum(size_t n, float *restrict p, const float *restrict g, float *restrict buf,
                          float lr, float wd, float m, int nesterov)
{
    for (size_t i = 0; i < n; i++) {
        float d = g[i] + wd * p[i];
        float b = buf[i] = m * buf[i] + d;
        p[i] -= lr * (nesterov ? d + m * b : b);
    }
}

/* s += d^2; p -= lr * d / (sqrt(s) + eps) */
static void step_adagrad(size_t n, float *restrict p, const float *restrict g, float *restrict sum,
                         float lr, float wd, float eps)
{
    float r[BLK];
    for (size_t i0 = 0; i0 < n; i0 += BLK) {
        size_t nb = n - i0 < BLK ? n - i0 : BLK;
        float *restrict P = p + i0, *restrict S = sum + i0;
        const float *restrict G = g + i0;
        for (size_t i = 0; i < nb; i++) {
            float d = G[i] + wd * P[i];
            r[i] = S[i] += d * d;
        }
        sqrt_block(r, nb);
        for (size_t i = 0; i < nb; i++) {
            float d = G[i] + wd * P[i];
            P[i] -= lr * (d / (r[i] + eps));
        }
    }
}

/* s = rho s + (1 - rho) d^2; p -= lr * d / (sqrt(s) + eps) */
static void step_rmsprop(size_t n, float *restrict p, const float *restrict g, float *restrict sq,
                         float lr, float wd, float rho, float eps)
{
    float one_rho = (float)(1.0 - (double)rho); /* as torch: 1 - rho in double */
    float r[BLK];
    for (size_t i0 = 0; i0 < n; i0 += BLK) {
        size_t nb = n - i0 < BLK ? n - i0 : BLK;
        float *restrict P = p + i0, *restrict S = sq + i0;
        const float *restrict G = g + i0;
        for (size_t i = 0; i < nb; i++) {
            float d = G[i] + wd * P[i];
            r[i] = S[i] = rho * S[i] + one_rho * d * d;
        }
        sqrt_block(r, nb);
        for (size_t i = 0; i < nb; i++) {
            float d = G[i] + wd * P[i];
            P[i] -= lr * (d / (r[i] + eps));
        }
    }
}

/* eps inside both square roots, as in Zeiler's paper and torch:
 * delta = sqrt(a + eps) / sqrt(s + eps) * d; a = rho a + (1 - rho) delta^2. */
static void step_adadelta(size_t n, float *restrict p, const float *restrict g, float *restrict sq,
                          float *restrict acc, float lr, float wd, float rho, float eps)
{
    float one_rho = (float)(1.0 - (double)rho); /* as torch: 1 - rho in double */
    float ra[BLK], rs[BLK];
    for (size_t i0 = 0; i0 < n; i0 += BLK) {
        size_t nb = n - i0 < BLK ? n - i0 : BLK;
        float *restrict P = p + i0, *restrict S = sq + i0, *restrict A = acc + i0;
        const float *restrict G = g + i0;
        for (size_t i = 0; i < nb; i++) {
            float d = G[i] + wd * P[i];
            S[i] = rho * S[i] + one_rho * d * d;
            rs[i] = S[i] + eps;
            ra[i] = A[i] + eps;
        }
        sqrt_block(rs, nb);
        sqrt_block(ra, nb);
        for (size_t i = 0; i < nb; i++) {
            float d = G[i] + wd * P[i];
            float delta = ra[i] / rs[i] * d;
            A[i] = rho * A[i] + one_rho * delta * delta;
            P[i] -= lr * delta;
        }
    }
}

/* step = lr / (1 - beta1^t); p -= step * m / (sqrt(v) / sqrt(1 - beta2^t) + eps). */
static void step_adam(size_t n, float *restrict p, const float *restrict g, float *restrict m,
                      float *restrict v, float wd, float b1, float b2, float step, float bc2_sqrt,
                      float eps)
{
    float one_b1 = (float)(1.0 - (double)b1), one_b2 = (float)(1.0 - (double)b2);
    float r[BLK];
    for (size_t i0 = 0; i0 < n; i0 += BLK) {
        size_t nb = n - i0 < BLK ? n - i0 : BLK;
        float *restrict P = p + i0, *restrict M = m + i0, *restrict V = v + i0;
        const float *restrict G = g + i0;
        for (size_t i = 0; i < nb; i++) {
            float d = G[i] + wd * P[i];
            M[i] = b1 * M[i] + one_b1 * d;
            r[i] = V[i] = b2 * V[i] + one_b2 * d * d;
        }
        sqrt_block(r, nb);
        for (size_t i = 0; i < nb; i++)
            P[i] -= step * (M[i] / (r[i] / bc2_sqrt + eps));
    }
}

/* p -= (cg * d + cm * m) / (sqrt(v / bc2) + eps) with
 * cg = lr (1 - mu_t) / (1 - prod_{i<=t} mu_i), cm = lr mu_{t+1} / (1 - prod_{i<=t+1} mu_i).
 * Two separate subtractions, in torch's order. */
static void step_nadam(size_t n, float *restrict p, const float *restrict g, float *restrict m,
                       float *restrict v, float wd, float b1, float b2, float bc2, float cg,
                       float cm, float eps)
{
    float one_b1 = (float)(1.0 - (double)b1), one_b2 = (float)(1.0 - (double)b2);
    float r[BLK];
    for (size_t i0 = 0; i0 < n; i0 += BLK) {
        size_t nb = n - i0 < BLK ? n - i0 : BLK;
        float *restrict P = p + i0, *restrict M = m + i0, *restrict V = v + i0;
        const float *restrict G = g + i0;
        for (size_t i = 0; i < nb; i++) {
            float d = G[i] + wd * P[i];
            M[i] = b1 * M[i] + one_b1 * d;
            V[i] = b2 * V[i] + one_b2 * d * d;
            r[i] = V[i] / bc2;
        }
        sqrt_block(r, nb);
        for (size_t i = 0; i < nb; i++) {
            float d = G[i] + wd * P[i];
            float denom = r[i] + eps;
            P[i] -= cg * (d / denom);
            P[i] -= cm * (M[i] / denom);
        }
    }
}

void nn_optim_step(nn_optim *opt, float *params, const float *grads)
{
    if (!opt || !params || !grads)
        return;
    const nn_opt_config *c = &opt->cfg;
    size_t n = opt->n;
    float *s0 = opt->state, *s1 = opt->state ? opt->state + n : NULL;
    uint64_t t = ++opt->t;
    float wd = c->weight_decay;
    if (c->decoupled && wd > 0) {
        float keep = 1.0f - c->lr * wd;
        for (size_t i = 0; i < n; i++)
            params[i] *= keep;
        wd = 0; /* the gradient step below sees no decay */
    }
    switch (c->kind) {
    case NN_OPT_SGD:
        step_sgd(n, params, grads, c->lr, wd);
        break;
    case NN_OPT_MOMENTUM:
    case NN_OPT_NAG:
        step_momentum(n, params, grads, s0, c->lr, wd, c->momentum,
                      c->kind == NN_OPT_NAG);
        break;
    case NN_OPT_ADAGRAD:
        step_adagrad(n, params, grads, s0, c->lr, wd, c->eps);
        break;
    case NN_OPT_RMSPROP:
        step_rmsprop(n, params, grads, s0, c->lr, wd, c->rho, c->eps);
        break;
    case NN_OPT_ADADELTA:
        step_adadelta(n, params, grads, s0, s1, c->lr, wd, c->rho, c->eps);
        break;
    case NN_OPT_ADAM: {
        double bc1 = 1.0 - pow(c->beta1, (double)t);
        double bc2 = 1.0 - pow(c->beta2, (double)t);
        step_adam(n, params, grads, s0, s1, wd, c->beta1, c->beta2,
                  (float)(c->lr / bc1), (float)sqrt(bc2), c->eps);
        break;
    }
    case NN_OPT_NADAM: {
        double bc2 = 1.0 - pow(c->beta2, (double)t);
        double mu = nadam_mu(c->beta1, t), mu_next = nadam_mu(c->beta1, t + 1);
        opt->mu_product *= mu;
        double mu_product_next = opt->mu_product * mu_next;
        double cg = c->lr * (1.0 - mu) / (1.0 - opt->mu_product);
        double cm = c->lr * mu_next / (1.0 - mu_product_next);
        step_nadam(n, params, grads, s0, s1, wd, c->beta1, c->beta2, (float)bc2,
                   (float)cg, (float)cm, c->eps);
        break;
    }
    default:
        break;
    }
    if (opt->average) {
        float *A = opt->average;
        if (t == 1) {
            memcpy(A, params, n * sizeof *A);
        } else {
            float d = fminf(c->average_decay, nn_optim_average_warmup(t));
            for (size_t i = 0; i < n; i++)
                A[i] += (1.0f - d) * (params[i] - A[i]);
        }
    }
}

float *nn_optim_average(nn_optim *opt) { return opt ? opt->average : NULL; }

float nn_optim_average_warmup(uint64_t t) { return (float)(1.0 + (double)t) / (float)(10.0 + (double)t); }

double nn_optim_average_warmup_steps(float decay) { return 9.0 / (1.0 - (double)decay) - 10.0; }

void nn_optim_set_lr(nn_optim *opt, float lr)
{
    if (opt && lr > 0 && isfinite(lr))
        opt->cfg.lr = lr;
}

float nn_optim_get_lr(const nn_optim *opt) { return opt ? opt->cfg.lr : 0.0f; }

const nn_opt_config *nn_optim_config(const nn_optim *opt) { return opt ? &opt->cfg : NULL; }

uint64_t nn_optim_steps(const nn_optim *opt) { return opt ? opt->t : 0; }

/* State blob, native byte order (checkpoints do not travel between machines):
 *   u32 magic "NNOS", u32 version 1, u32 kind, u32 flags (1: averaged
 *   parameters follow the moments), u64 n_params, u64 steps, f64 mu_product,
 *   then n_state floats (moment buffers, then the average). */
#define STATE_MAGIC 0x534f4e4eu /* "NNOS" little-endian */
#define STATE_HEADER 40

size_t nn_optim_state_size(const nn_optim *opt)
{
    return opt ? STATE_HEADER + opt->n_state * sizeof(float) : 0;
}

void nn_optim_save_state(const nn_optim *opt, void *buf)
{
    if (!opt || !buf)
        return;
    unsigned char *b = buf;
    uint32_t h[4] = {STATE_MAGIC, 1, (uint32_t)opt->cfg.kind, opt->average != NULL};
    uint64_t n = opt->n;
    memcpy(b, h, sizeof h);
    memcpy(b + 16, &n, 8);
    memcpy(b + 24, &opt->t, 8);
    memcpy(b + 32, &opt->mu_product, 8);
    if (opt->n_state)
        memcpy(b + STATE_HEADER, opt->state, opt->n_state * sizeof(float));
}

nn_status nn_optim_load_state(nn_optim *opt, const void *buf, size_t size, nn_error *err)
{
    if (!opt || (!buf && size)) {
        if (err)
            snprintf(err->msg, sizeof err->msg, "nn_optim_load_state: no optimizer or buffer");
        return NN_ERR_ARG;
    }
    const char *name = opt_names[opt->cfg.kind];
    const unsigned char *b = buf;
    uint32_t h[4];
    uint64_t n, t;
    double mu_product;
    if (size < STATE_HEADER) {
        if (err)
            snprintf(err->msg, sizeof err->msg,
                     "optimizer %s state: %zu bytes is shorter than its %d-byte header", name, size,
                     STATE_HEADER);
        return NN_ERR_FORMAT;
    }
    memcpy(h, b, sizeof h);
    memcpy(&n, b + 16, 8);
    memcpy(&t, b + 24, 8);
    memcpy(&mu_product, b + 32, 8);
    if (h[0] != STATE_MAGIC) {
        if (err)
            snprintf(err->msg, sizeof err->msg, "optimizer %s state: bad magic at byte 0", name);
        return NN_ERR_FORMAT;
    }
    if (h[1] != 1) {
        if (err)
            snprintf(err->msg, sizeof err->msg,
                     "optimizer %s state: format version %u at byte 4, this build reads 1", name,
                     (unsigned)h[1]);
        return NN_ERR_VERSION;
    }
    if (h[2] != (uint32_t)opt->cfg.kind) {
        if (err)
            snprintf(err->msg, sizeof err->msg,
                     "optimizer state at byte 8 is for optimizer %s, this run uses %s",
                     nn_opt_name((nn_opt_kind)h[2]), name);
        return NN_ERR_FORMAT;
    }
    if (h[3] > 1) {
        if (err)
            snprintf(err->msg, sizeof err->msg, "optimizer %s state: unknown flags %u at byte 12", name,
                     (unsigned)h[3]);
        return NN_ERR_FORMAT;
    }
    if (h[3] != (opt->average != NULL)) {
        if (err)
            snprintf(err->msg, sizeof err->msg,
                     "optimizer %s state %s averaged parameters (flag at byte 12), this run %s", name,
                     h[3] ? "has" : "has no", opt->average ? "averages them" : "does not average");
        return NN_ERR_FORMAT;
    }
    if (n != opt->n || size != nn_optim_state_size(opt)) {
        if (err)
            snprintf(err->msg, sizeof err->msg,
                     "optimizer %s state: %llu parameters in %zu bytes, this net has %zu "
                     "parameters (%zu bytes)",
                     name, (unsigned long long)n, size, opt->n, nn_optim_state_size(opt));
        return NN_ERR_FORMAT;
    }
    if (!(mu_product >= 0 && mu_product <= 1)) {
        if (err)
            snprintf(err->msg, sizeof err->msg,
                     "optimizer %s state: NAdam momentum product %g at byte 32 is outside [0, 1]",
                     name, mu_product);
        return NN_ERR_FORMAT;
    }
    opt->t = t;
    opt->mu_product = mu_product;
    if (opt->n_state)
        memcpy(opt->state, b + STATE_HEADER, opt->n_state * sizeof(float));
    return NN_OK;
}

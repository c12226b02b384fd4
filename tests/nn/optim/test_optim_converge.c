/* test_optim_converge.c - every optimizer finds the minimum of two classic
 * test functions, as in the lecture's race:
 *
 *  - Beale's function, minimum 0 at (3, 0.5), started from (1, 1);
 *  - a long valley, f = 0.05 x^2 + 5 y^2 (condition number 100), minimum at
 *    (0, 0), started from (-10, 1).
 *
 * Each optimizer runs its default configuration except for a learning rate
 * (and, for Adadelta on the valley, rho) picked for the problem, with an
 * iteration budget about twice what it needs; the table below is the
 * documented setting. We also check the lecture's point that momentum and
 * Nesterov cross the valley in far fewer steps than plain SGD at the same lr. */
#include <math.h>
#include <string.h>

#include "nn.h"
#include "../../test_check.h"

typedef enum { BEALE, VALLEY } problem;

static double beale(const float *p, float *g)
{
    double x = p[0], y = p[1];
    double t1 = 1.5 - x + x * y, t2 = 2.25 - x + x * y * y, t3 = 2.625 - x + x * y * y * y;
    g[0] = (float)(2 * t1 * (y - 1) + 2 * t2 * (y * y - 1) + 2 * t3 * (y * y * y - 1));
    g[1] = (float)(2 * t1 * x + 4 * t2 * x * y + 6 * t3 * x * y * y);
    return t1 * t1 + t2 * t2 + t3 * t3;
}

static double valley(const float *p, float *g)
{
    g[0] = 0.1f * p[0];
    g[1] = 10.0f * p[1];
    return 0.05 * p[0] * p[0] + 5.0 * p[1] * p[1];
}

typedef struct {
    problem prob;
    const char *opt;
    float lr;
    float rho; /* 0: the default */
    int iters;
} race;

static const race races[] = {
    {BEALE, "sgd", 0.01f, 0, 3000},       {BEALE, "momentum", 0.01f, 0, 1000},
    {BEALE, "nag", 0.01f, 0, 1000},       {BEALE, "adagrad", 0.5f, 0, 2000},
    {BEALE, "rmsprop", 0.001f, 0, 5000},  {BEALE, "adadelta", 0.05f, 0, 8000},
    {BEALE, "adam", 0.01f, 0, 4000},      {BEALE, "nadam", 0.01f, 0, 4000},
    {VALLEY, "sgd", 0.1f, 0, 2000},       {VALLEY, "momentum", 0.1f, 0, 500},
    {VALLEY, "nag", 0.1f, 0, 500},        {VALLEY, "adagrad", 1.0f, 0, 1000},
    {VALLEY, "rmsprop", 0.1f, 0, 1000},   {VALLEY, "adadelta", 1.0f, 0.99f, 6000},
    {VALLEY, "adam", 0.1f, 0, 1000},      {VALLEY, "nadam", 0.1f, 0, 1000},
};

/* Runs one race; returns the first step after which the point is within tol
 * of the minimum (-1 if never), and the final point in p. */
static int run(const race *r, float p[2])
{
    nn_opt_kind kind;
    nn_opt_config cfg;
    nn_optim *opt = NULL;
    nn_error err = {{0}};
    if (nn_opt_from_name(r->opt, &kind) != NN_OK) {
        CHECKF(0, "unknown optimizer %s", r->opt);
        return -1;
    }
    nn_opt_defaults(kind, &cfg);
    cfg.lr = r->lr;
    if (r->rho > 0)
        cfg.rho = r->rho;
    if (nn_optim_new(&cfg, 2, &opt, &err) != NN_OK) {
        CHECKF(0, "%s: %s", r->opt, err.msg);
        return -1;
    }
    const float min_x = r->prob == BEALE ? 3.0f : 0.0f, min_y = r->prob == BEALE ? 0.5f : 0.0f;
    const float tol = r->prob == BEALE ? 1e-2f : 1e-3f;
    float g[2];
    int first = -1;
    p[0] = r->prob == BEALE ? 1.0f : -10.0f;
    p[1] = 1.0f;
    for (int i = 1; i <= r->iters; i++) {
        if (r->prob == BEALE)
            beale(p, g);
        else
            valley(p, g);
        nn_optim_step(opt, p, g);
        if (first < 0 && fabsf(p[0] - min_x) < tol && fabsf(p[1] - min_y) < tol)
            first = i;
    }
    double f = r->prob == BEALE ? beale(p, g) : valley(p, g);
    const char *pname = r->prob == BEALE ? "beale" : "valley";
    printf("%-6s %-9s lr=%-6g %5d iters: (%.5f, %.5f) f=%.2e, within %g after %d steps\n", pname,
           r->opt, (double)r->lr, r->iters, (double)p[0], (double)p[1], f, (double)tol, first);
    CHECKF(fabsf(p[0] - min_x) < tol && fabsf(p[1] - min_y) < tol,
           "%s on %s ended at (%g, %g), not within %g of (%g, %g)", r->opt, pname, (double)p[0],
           (double)p[1], (double)tol, (double)min_x, (double)min_y);
    nn_optim_free(opt);
    return first;
}

int main(void)
{
    int covered[2][NN_OPT_COUNT] = {{0}};
    int sgd_valley = -1, mom_valley = -1, nag_valley = -1;
    for (size_t i = 0; i < sizeof races / sizeof races[0]; i++) {
        float p[2];
        int first = run(&races[i], p);
        nn_opt_kind k;
        if (nn_opt_from_name(races[i].opt, &k) == NN_OK)
            covered[races[i].prob][k] = 1;
        if (races[i].prob == VALLEY) {
            if (k == NN_OPT_SGD)
                sgd_valley = first;
            else if (k == NN_OPT_MOMENTUM)
                mom_valley = first;
            else if (k == NN_OPT_NAG)
                nag_valley = first;
        }
    }
    for (int k = 0; k < NN_OPT_COUNT; k++)
        CHECKF(covered[BEALE][k] && covered[VALLEY][k], "%s misses a race", nn_opt_name(k));
    /* Same lr 0.1: heavy-ball momentum should need several times fewer steps. */
    CHECKF(sgd_valley > 0 && mom_valley > 0 && 3 * mom_valley < sgd_valley,
           "momentum %d steps vs SGD %d on the valley", mom_valley, sgd_valley);
    CHECKF(sgd_valley > 0 && nag_valley > 0 && 3 * nag_valley < sgd_valley,
           "NAG %d steps vs SGD %d on the valley", nag_valley, sgd_valley);
    return test_done("optim-converge");
}

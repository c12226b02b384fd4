/* test_optim_reference.c - nn_optim against torch.optim trajectories.
 *
 * optimizer_vectors.h holds, for every optimizer, ten steps of PyTorch 1.13 on
 * a coupled 5-parameter function, once with the default configuration and once
 * with every hyperparameter changed and weight decay on. We run the same steps
 * with our own hand-written gradient and require float32 agreement. */
#include <math.h>
#include <string.h>

#include "nn.h"
#include "../../test_check.h"
#include "optimizer_vectors.h"

/* Gradient of objective() in tools/refgen/optimizer_vectors.py. */
static void grad_objective(const float *x, float *g)
{
    g[0] = 2 * x[0] + 0.5f * x[1] + 0.2f * x[0] * x[2] * x[2] - 1;
    g[1] = x[1] + 0.5f * x[0] + 0.2f * x[4];
    g[2] = 0.5f * x[2] - 0.3f * x[3] + 0.2f * x[0] * x[0] * x[2];
    g[3] = 3 * x[3] - 0.3f * x[2];
    g[4] = x[4] + 0.2f * x[1] + 0.5f;
}

int main(void)
{
    const size_t n_cases = sizeof optvec_cases / sizeof optvec_cases[0];
    int cases_per_kind[NN_OPT_COUNT] = {0};
    double worst = 0;
    for (size_t c = 0; c < n_cases; c++) {
        const optvec_case *v = &optvec_cases[c];
        nn_opt_config cfg;
        nn_opt_kind kind;
        CHECKF(nn_opt_from_name(v->name, &kind) == NN_OK, "name %s", v->name);
        nn_opt_defaults(kind, &cfg);
        cases_per_kind[kind]++;
        /* The first case of each optimizer uses its defaults: check ours agree. */
        if (cases_per_kind[kind] == 1)
            CHECKF(cfg.lr == v->lr && cfg.momentum == v->momentum && cfg.beta1 == v->beta1 &&
                       cfg.beta2 == v->beta2 && cfg.rho == v->rho && cfg.eps == v->eps &&
                       cfg.weight_decay == v->weight_decay,
                   "nn_opt_defaults(%s) differs from the reference's defaults", v->name);
        cfg.lr = v->lr;
        cfg.momentum = v->momentum;
        cfg.beta1 = v->beta1;
        cfg.beta2 = v->beta2;
        cfg.rho = v->rho;
        cfg.eps = v->eps;
        cfg.weight_decay = v->weight_decay;

        nn_optim *opt = NULL;
        nn_error err = {{0}};
        if (nn_optim_new(&cfg, OPTVEC_N, &opt, &err) != NN_OK) {
            CHECKF(0, "case %zu (%s): %s", c, v->name, err.msg);
            continue;
        }
        float x[OPTVEC_N], g[OPTVEC_N];
        memcpy(x, optvec_start, sizeof x);
        double case_worst = 0;
        for (int s = 0; s < OPTVEC_STEPS; s++) {
            grad_objective(x, g);
            nn_optim_step(opt, x, g);
            for (int i = 0; i < OPTVEC_N; i++) {
                double ref = v->traj[s][i], d = fabs((double)x[i] - ref);
                /* relative 2e-6 (we see ~2e-7, i.e. an ulp or two), floored near zero */
                double rel = d / fmax(fabs(ref), 0.1);
                if (rel > case_worst)
                    case_worst = rel;
                CHECKF(rel <= 2e-6, "case %zu (%s wd=%g) step %d param %d: %.9g, torch %.9g", c,
                       v->name, (double)v->weight_decay, s + 1, i, (double)x[i], ref);
            }
        }
        CHECKF(nn_optim_steps(opt) == OPTVEC_STEPS, "steps %llu",
               (unsigned long long)nn_optim_steps(opt));
        printf("%-9s lr=%-8g wd=%-4g max relative error %.2e\n", v->name, (double)v->lr,
               (double)v->weight_decay, case_worst);
        if (case_worst > worst)
            worst = case_worst;
        nn_optim_free(opt);
    }
    for (int k = 0; k < NN_OPT_COUNT; k++)
        CHECKF(cases_per_kind[k] >= 2, "optimizer %s has %d reference cases", nn_opt_name(k),
               cases_per_kind[k]);
    printf("worst relative error over all cases: %.2e\n", worst);
    return test_done("optim-reference");
}

#!/usr/bin/python3
"""Reference trajectories of torch.optim for tests/nn/optim/test_optim_reference.c.

Run once with Debian's PyTorch (1.13) and commit the output:

    /usr/bin/python3 tools/refgen/optimizer_vectors.py > tests/nn/optim/optimizer_vectors.h

Each case runs STEPS updates of one optimizer on a small coupled function of
N parameters (quadratic plus a quartic coupling, see objective()); the header
holds the hyperparameters and the parameters after every step. The C test
computes the same gradient by hand, runs nn_optim and compares.

Hyperparameters are rounded to float32 before torch sees them, because
nn_opt_config stores floats; otherwise the two sides would start from
different numbers (0.999 is not a float).

NAdam: torch 1.13's code multiplies mu_t into the next momentum product twice
(mu_product_next = mu_product * mu * mu_next, fixed in torch 2.0 by
pytorch/pytorch#92699); we implement the documented rule. So the NAdam cases
come from nadam_reference() below, a line-by-line copy of torch's
_single_tensor_nadam with the fix. It is first checked against
torch.optim.NAdam with the bug switched back on, which must agree exactly.
"""
import sys

import numpy as np
import torch

N = 5
STEPS = 10
START = [1.0, -1.5, 2.0, 0.5, -0.8]
NADAM_MOMENTUM_DECAY = 4e-3


def f32(x):
    return float(np.float32(x))


def objective(x):
    # Keep in step with grad_objective() in test_optim_reference.c.
    return (0.5 * (2 * x[0] ** 2 + x[1] ** 2 + 0.5 * x[2] ** 2 + 3 * x[3] ** 2 + x[4] ** 2)
            + 0.5 * x[0] * x[1] - 0.3 * x[2] * x[3] + 0.2 * x[1] * x[4]
            + 0.1 * (x[0] * x[2]) ** 2 - (x[0] - 0.5 * x[4]))


# (name, hyperparameters): the first case of each optimizer is its default
# configuration (as nn_opt_defaults), the second changes every knob it has and
# turns on weight decay.
CASES = [
    ("sgd", dict(lr=0.01)),
    ("sgd", dict(lr=0.05, weight_decay=0.1)),
    ("momentum", dict(lr=0.01, momentum=0.9)),
    ("momentum", dict(lr=0.03, momentum=0.8, weight_decay=0.1)),
    ("nag", dict(lr=0.01, momentum=0.9)),
    ("nag", dict(lr=0.03, momentum=0.8, weight_decay=0.1)),
    ("adagrad", dict(lr=0.01, eps=1e-10)),
    ("adagrad", dict(lr=0.2, eps=1e-3, weight_decay=0.1)),
    ("rmsprop", dict(lr=0.01, rho=0.99, eps=1e-8)),
    ("rmsprop", dict(lr=0.02, rho=0.9, eps=1e-3, weight_decay=0.1)),
    ("adadelta", dict(lr=1.0, rho=0.9, eps=1e-6)),
    ("adadelta", dict(lr=0.5, rho=0.8, eps=1e-3, weight_decay=0.1)),
    ("adam", dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)),
    ("adam", dict(lr=0.05, beta1=0.8, beta2=0.99, eps=1e-3, weight_decay=0.1)),
    ("nadam", dict(lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8)),
    ("nadam", dict(lr=0.05, beta1=0.8, beta2=0.99, eps=1e-3, weight_decay=0.1)),
]

FIELDS = ["lr", "momentum", "beta1", "beta2", "rho", "eps", "weight_decay"]


def make_torch_opt(name, h, params):
    wd = h.get("weight_decay", 0.0)
    if name == "sgd":
        return torch.optim.SGD(params, lr=h["lr"], weight_decay=wd)
    if name in ("momentum", "nag"):
        return torch.optim.SGD(params, lr=h["lr"], momentum=h["momentum"],
                               nesterov=(name == "nag"), weight_decay=wd)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=h["lr"], eps=h["eps"], weight_decay=wd)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=h["lr"], alpha=h["rho"], eps=h["eps"],
                                   weight_decay=wd)
    if name == "adadelta":
        return torch.optim.Adadelta(params, lr=h["lr"], rho=h["rho"], eps=h["eps"],
                                    weight_decay=wd)
    if name == "adam":
        return torch.optim.Adam(params, lr=h["lr"], betas=(h["beta1"], h["beta2"]),
                                eps=h["eps"], weight_decay=wd)
    if name == "nadam":
        return torch.optim.NAdam(params, lr=h["lr"], betas=(h["beta1"], h["beta2"]),
                                 eps=h["eps"], weight_decay=wd,
                                 momentum_decay=NADAM_MOMENTUM_DECAY)
    raise ValueError(name)


def run_torch(name, h):
    x = torch.tensor(START, dtype=torch.float32, requires_grad=True)
    opt = make_torch_opt(name, h, [x])
    traj = []
    for _ in range(STEPS):
        opt.zero_grad()
        objective(x).backward()
        opt.step()
        traj.append(x.detach().clone().numpy())
    return np.array(traj, dtype=np.float32)


def nadam_reference(h, fixed):
    """torch 1.13's _single_tensor_nadam; fixed=True drops the stray mu."""
    lr, beta1, beta2 = h["lr"], h["beta1"], h["beta2"]
    eps, wd = h["eps"], h.get("weight_decay", 0.0)
    param = torch.tensor(START, dtype=torch.float32, requires_grad=True)
    exp_avg = torch.zeros(N)
    exp_avg_sq = torch.zeros(N)
    mu_product = torch.tensor(1.0)
    traj = []
    for step in range(1, STEPS + 1):
        param.grad = None
        objective(param).backward()
        with torch.no_grad():
            grad = param.grad
            bias_correction2 = 1 - beta2 ** step
            if wd != 0:
                grad = grad.add(param, alpha=wd)
            mu = beta1 * (1. - 0.5 * (0.96 ** (step * NADAM_MOMENTUM_DECAY)))
            mu_next = beta1 * (1. - 0.5 * (0.96 ** ((step + 1) * NADAM_MOMENTUM_DECAY)))
            mu_product *= mu
            if fixed:
                mu_product_next = mu_product * mu_next
            else:
                mu_product_next = mu_product * mu * mu_next
            exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            denom = exp_avg_sq.div(bias_correction2).sqrt().add_(eps)
            param.addcdiv_(grad, denom, value=-lr * (1. - mu) / (1. - mu_product.item()))
            param.addcdiv_(exp_avg, denom, value=-lr * mu_next / (1. - mu_product_next.item()))
        traj.append(param.detach().clone().numpy())
    return np.array(traj, dtype=np.float32)


def cfloat(v):
    s = "%.9g" % v
    if "e" not in s and "." not in s and "inf" not in s and "nan" not in s:
        s += ".0"
    return s + "f"


def main():
    torch.set_num_threads(1)
    out = sys.stdout
    out.write("/* Generated by: /usr/bin/python3 tools/refgen/optimizer_vectors.py"
              " > tests/nn/optim/optimizer_vectors.h\n")
    out.write(" * torch %s, numpy %s. Do not edit by hand.\n" % (torch.__version__,
                                                                 np.__version__))
    out.write(" * Parameters after each of OPTVEC_STEPS updates of torch.optim on the\n"
              " * function in tools/refgen/optimizer_vectors.py (NAdam: the documented rule,\n"
              " * see there). Hyperparameters not used by an optimizer are 0. */\n")
    out.write("#ifndef OPTIMIZER_VECTORS_H\n#define OPTIMIZER_VECTORS_H\n\n")
    out.write("#define OPTVEC_N %d\n#define OPTVEC_STEPS %d\n\n" % (N, STEPS))
    out.write("static const float optvec_start[OPTVEC_N] = {%s};\n\n"
              % ", ".join(cfloat(v) for v in START))
    out.write("typedef struct {\n    const char *name;\n    float %s;\n"
              "    float traj[OPTVEC_STEPS][OPTVEC_N];\n} optvec_case;\n\n" % ", ".join(FIELDS))
    out.write("static const optvec_case optvec_cases[] = {\n")
    for name, h in CASES:
        h = {k: f32(v) for k, v in h.items()}
        if name == "nadam":
            buggy = nadam_reference(h, fixed=False)
            torch_traj = run_torch(name, h)
            if not np.array_equal(buggy, torch_traj):
                sys.exit("nadam_reference(fixed=False) disagrees with torch.optim.NAdam:\n%s\n%s"
                         % (buggy, torch_traj))
            traj = nadam_reference(h, fixed=True)
        else:
            traj = run_torch(name, h)
        if not np.all(np.isfinite(traj)):
            sys.exit("%s %s diverged" % (name, h))
        out.write("    {\"%s\", %s,\n     {\n" % (name, ", ".join(cfloat(h.get(k, 0.0))
                                                             for k in FIELDS)))
        for row in traj:
            out.write("      {%s},\n" % ", ".join(cfloat(v) for v in row))
        out.write("     }},\n")
    out.write("};\n\n#endif\n")


if __name__ == "__main__":
    main()

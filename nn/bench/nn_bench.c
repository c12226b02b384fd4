/* nn_bench.c - speed of the nn library on one architecture, as key=value lines.
 *
 *   nn-bench --arch NAME [--batch B] [--threads T] [--iters N] [--train-iters M] [--seed S]
 *
 * NAME is a built-in architecture (seed, lenet, smilenet) or a file with an
 * architecture text. Everything runs on random weights and data from a fixed
 * seed. Measured:
 *   - batch-1 forward latency (median of N calls after warm-up): forward_us_median;
 *   - batch-B forward throughput: forward_batch_images_per_s;
 *   - training: forward + backward + Adam on batch B (median of M steps):
 *     train_images_per_s.
 * Each figure also has a cpu_ twin from process CPU time, which preemption by
 * other jobs does not inflate (with T > 1 it sums the threads).
 * FLOPs follow ../shared/peers/torch/flops.py: 2 x multiply-adds of a forward
 * pass; a training image counts 3 forward passes (forward, input gradient,
 * weight gradient), so gflops_train is an estimate a little above PyTorch's
 * (which skips the first layer's input gradient). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn.h"

typedef struct {
    double wall, cpu; /* seconds */
} stamp;

static stamp now(void)
{
    struct timespec w, c;
    clock_gettime(CLOCK_MONOTONIC, &w);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c);
    return (stamp){w.tv_sec + w.tv_nsec * 1e-9, c.tv_sec + c.tv_nsec * 1e-9};
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "nn-bench: %s\n", msg);
    fprintf(stderr, "usage: nn-bench --arch NAME|FILE [--batch B] [--threads T] [--iters N]\n"
                    "                [--train-iters M] [--seed S]\n");
    return 2;
}

static int parse_int(const char *s, const char *opt, int lo, int *out)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || *end || v < lo || v > 1000000) {
        fprintf(stderr, "nn-bench: %s needs an integer >= %d, got '%s'\n", opt, lo, s ? s : "");
        return -1;
    }
    *out = (int)v;
    return 0;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = 2 * cap + 4096 + 1;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, 4096, f);
        len += got;
        if (got < 4096)
            break;
    }
    fclose(f);
    buf[len] = 0;
    return buf;
}

int main(int argc, char **argv)
{
    const char *arch = NULL;
    int batch = 64, threads = 1, iters = 2000, train_iters = 100, seed = 1;
    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int r = 0;
        if (!strcmp(a, "--arch") && v)
            arch = v;
        else if (!strcmp(a, "--batch"))
            r = parse_int(v, a, 1, &batch);
        else if (!strcmp(a, "--threads"))
            r = parse_int(v, a, 0, &threads);
        else if (!strcmp(a, "--iters"))
            r = parse_int(v, a, 1, &iters);
        else if (!strcmp(a, "--train-iters"))
            r = parse_int(v, a, 1, &train_iters);
        else if (!strcmp(a, "--seed"))
            r = parse_int(v, a, 0, &seed);
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(NULL);
            return 0;
        }
        else
            return usage("unknown or incomplete option");
        if (r)
            return 2;
    }
    if (!arch)
        return usage("--arch is required");

    nn_error err = {{0}};
    nn_net *net = NULL;
    nn_status st;
    int builtin = 0;
    for (const char *const *n = nn_builtin_names(); *n; n++)
        builtin |= !strcmp(*n, arch);
    if (builtin) {
        st = nn_net_builtin(arch, 1, &net, &err);
    } else {
        char *text = read_text(arch);
        if (!text) {
            fprintf(stderr, "nn-bench: '%s' is neither a built-in architecture nor a readable "
                            "file: %s\n", arch, strerror(errno));
            return 1;
        }
        st = nn_net_from_text(text, arch, &net, &err);
        free(text);
    }
    if (st != NN_OK) {
        fprintf(stderr, "nn-bench: %s\n", err.msg);
        return 1;
    }
    nn_net_init_params(net, (uint64_t)seed);
    const nn_input_spec *in = nn_net_input(net);
    size_t img = (size_t)in->channels * in->height * in->width;
    double macs = nn_net_flops(net), flops = 2 * macs;

    /* Random inputs in the range of normalised pixels, random labels. */
    nn_rng rng;
    nn_rng_seed(&rng, (uint64_t)seed);
    float *x = malloc(sizeof(float) * img * batch);
    int *labels = malloc(sizeof(int) * batch);
    int biters = iters / 20 > 10 ? iters / 20 : 10; /* batch-B forward calls */
    int n_times = iters > train_iters ? iters : train_iters;
    n_times = n_times > biters ? n_times : biters;
    double *t_wall = malloc(sizeof(double) * n_times);
    double *t_cpu = malloc(sizeof(double) * n_times);
    if (!x || !labels || !t_wall || !t_cpu) {
        fprintf(stderr, "nn-bench: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < img * batch; i++)
        x[i] = nn_rng_normal(&rng);
    for (int i = 0; i < batch; i++)
        labels[i] = (int)nn_rng_below(&rng, 2);

    printf("arch=%s\nthreads=%d\nbatch=%d\ninput=%dx%dx%d\nparams=%zu\n", arch, threads, batch,
           in->width, in->height, in->channels, nn_net_n_params(net));
    printf("macs_per_forward=%.0f\nflops_per_forward=%.0f\n", macs, flops);
    fflush(stdout);

    /* Batch-1 forward latency. */
    nn_ctx *ctx = NULL;
    if (nn_ctx_new(net, batch, &ctx, &err) != NN_OK) {
        fprintf(stderr, "nn-bench: %s\n", err.msg);
        return 1;
    }
    volatile float sink = 0;
    for (int i = 0; i < iters / 10 + 10; i++)
        sink += nn_forward(ctx, x, 1)[0];
    for (int i = 0; i < iters; i++) {
        stamp t0 = now();
        sink += nn_forward(ctx, x + (size_t)(i % batch) * img, 1)[0];
        stamp t1 = now();
        t_wall[i] = t1.wall - t0.wall;
        t_cpu[i] = t1.cpu - t0.cpu;
    }
    double fw = median(t_wall, iters), fc = median(t_cpu, iters);
    printf("forward_us_median=%.2f\nforward_cpu_us_median=%.2f\n", fw * 1e6, fc * 1e6);
    printf("gflops_forward_batch1=%.2f\n", flops / fw * 1e-9);

    /* Batch-B forward throughput. */
    for (int i = 0; i < 3; i++)
        sink += nn_forward(ctx, x, batch)[0];
    for (int i = 0; i < biters; i++) {
        stamp t0 = now();
        sink += nn_forward(ctx, x, batch)[0];
        stamp t1 = now();
        t_wall[i] = t1.wall - t0.wall;
        t_cpu[i] = t1.cpu - t0.cpu;
    }
    double bw = median(t_wall, biters), bc = median(t_cpu, biters);
    printf("forward_batch_images_per_s=%.1f\nforward_batch_cpu_images_per_s=%.1f\n", batch / bw,
           batch / bc);
    printf("gflops_forward_batch=%.2f\n", flops * batch / bw * 1e-9);
    nn_ctx_free(ctx);
    fflush(stdout);

    /* Training: forward + backward + Adam, batch B. */
    nn_trainer_config tc = {.max_batch = batch, .threads = threads, .loss = NN_LOSS_AUTO,
                            .seed = (uint64_t)seed};
    nn_opt_config oc;
    nn_opt_defaults(NN_OPT_ADAM, &oc);
    nn_trainer *tr = NULL;
    if (nn_trainer_new(net, &tc, &oc, &tr, &err) != NN_OK) {
        fprintf(stderr, "nn-bench: %s\n", err.msg);
        return 1;
    }
    for (int i = 0; i < 3; i++)
        sink += nn_trainer_step(tr, x, labels, batch, NULL);
    for (int i = 0; i < train_iters; i++) {
        stamp t0 = now();
        sink += nn_trainer_step(tr, x, labels, batch, NULL);
        stamp t1 = now();
        t_wall[i] = t1.wall - t0.wall;
        t_cpu[i] = t1.cpu - t0.cpu;
    }
    double tw = median(t_wall, train_iters), tcpu = median(t_cpu, train_iters);
    printf("train_step_ms_median=%.3f\ntrain_images_per_s=%.1f\ntrain_cpu_images_per_s=%.1f\n",
           tw * 1e3, batch / tw, batch / tcpu);
    printf("gflops_train=%.2f\n", 3 * flops * batch / tw * 1e-9);
    printf("checksum=%g\n", (double)sink); /* keeps the work observable */
    nn_trainer_free(tr);
    nn_net_free(net);
    free(x);
    free(labels);
    free(t_wall);
    free(t_cpu);
    return isfinite(sink) ? 0 : 1;
}

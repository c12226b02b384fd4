/* Inference: activations stay finite at |x| = 1e4 and softmax sums to 1;
 * nn_forward allocates nothing; several threads, one ctx each, sharing one
 * net get the same answers as one thread. */
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "nn.h"
#include "../test_check.h"

static void test_stability(void)
{
    static const char *const acts[] = {"sigmoid", "tanh", "relu", "leakyrelu 0.1", "softmax"};
    const float x[6] = {1e4f, -1e4f, 0.0f, 3e4f, -3e4f, 1.0f};
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
        char arch[64];
        snprintf(arch, sizeof arch, "input 6 1 1\n%s\n", acts[a]);
        nn_net *net;
        nn_error err;
        REQUIRE(nn_net_from_text(arch, acts[a], &net, &err) == NN_OK, "%s", err.msg);
        nn_ctx *ctx;
        REQUIRE(nn_ctx_new(net, 1, &ctx, &err) == NN_OK, "%s", err.msg);
        const float *y = nn_forward(ctx, x, 1);
        double sum = 0.0;
        for (int i = 0; i < 6; i++) {
            CHECKF(isfinite(y[i]), "%s(%g) = %g", acts[a], (double)x[i], (double)y[i]);
            sum += y[i];
        }
        if (strcmp(acts[a], "sigmoid") == 0)
            CHECKF(y[0] == 1.0f && y[1] == 0.0f && y[2] == 0.5f, "sigmoid limits");
        if (strcmp(acts[a], "tanh") == 0)
            CHECKF(y[0] == 1.0f && y[1] == -1.0f, "tanh limits");
        if (strcmp(acts[a], "leakyrelu 0.1") == 0)
            CHECKF(fabsf(y[1] + 1e3f) < 1e-2f && y[0] == 1e4f, "leakyrelu %g", (double)y[1]);
        if (strcmp(acts[a], "softmax") == 0) {
            CHECKF(fabs(sum - 1.0) < 1e-6, "softmax sums to %.9g", sum);
            CHECKF(y[3] == 1.0f, "softmax of the largest: %g", (double)y[3]);
        }
        nn_ctx_free(ctx);
        nn_net_free(net);
    }
    /* softmax over random logits also sums to 1 */
    nn_net *net;
    nn_error err;
    REQUIRE(nn_net_from_text("input 4 3 2\nsoftmax\n", "sm", &net, &err) == NN_OK, "%s", err.msg);
    nn_ctx *ctx;
    REQUIRE(nn_ctx_new(net, 4, &ctx, &err) == NN_OK, "%s", err.msg);
    nn_rng rng;
    nn_rng_seed(&rng, 3);
    float *in = nn_ctx_input(ctx);
    for (int i = 0; i < 4 * 24; i++)
        in[i] = 50.0f * nn_rng_normal(&rng);
    const float *y = nn_forward(ctx, in, 4);
    for (int s = 0; s < 4; s++) {
        double sum = 0;
        for (int i = 0; i < 24; i++)
            sum += y[s * 24 + i];
        CHECKF(fabs(sum - 1.0) < 1e-5, "sample %d: softmax sums to %.9g", s, sum);
    }
    nn_ctx_free(ctx);
    nn_net_free(net);
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define NN_TEST_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define NN_TEST_SANITIZED 1
#endif

#ifndef NN_TEST_SANITIZED
/* Count every allocation by interposing glibc's allocator (sanitizer builds
 * bring their own malloc, so there only mallinfo2 is left, if anything). */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t a, size_t n);
static volatile long n_allocs;
void *malloc(size_t n)
{
    n_allocs++;
    return __libc_malloc(n);
}
void *calloc(size_t n, size_t m)
{
    n_allocs++;
    return __libc_calloc(n, m);
}
void *realloc(void *p, size_t n)
{
    n_allocs++;
    return __libc_realloc(p, n);
}
void *aligned_alloc(size_t a, size_t n)
{
    n_allocs++;
    return __libc_memalign(a, n);
}
#define HAVE_COUNTER 1
#else
static volatile long n_allocs;
#define HAVE_COUNTER 0
#endif

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void test_no_alloc(void)
{
    /* is the counter alive? (sanitizer builds replace malloc) */
    size_t h0 = heap_in_use();
    char *volatile probe = malloc(1000); /* volatile: the pair must not be optimised away */
    size_t h1 = heap_in_use();
    free(probe);
    if (h1 == h0) {
        printf("mallinfo2 does not see allocations here: no-allocation check skipped\n");
        return;
    }
    const char *const *names = nn_builtin_names();
    for (int i = 0; names[i]; i++) {
        nn_net *net;
        nn_error err;
        REQUIRE(nn_net_builtin(names[i], 1, &net, &err) == NN_OK, "%s", err.msg);
        nn_ctx *ctx;
        REQUIRE(nn_ctx_new(net, 4, &ctx, &err) == NN_OK, "%s", err.msg);
        float *x = nn_ctx_input(ctx);
        const nn_input_spec *in = nn_net_input(net);
        for (int k = 0; k < 4 * in->width * in->height; k++)
            x[k] = (float)(k % 7) - 3.0f;
        nn_forward(ctx, x, 4); /* warm: lazy one-time setup, if any, happens here */
        struct mallinfo2 a = mallinfo2();
        long c0 = n_allocs;
        for (int r = 0; r < 3; r++)
            nn_forward(ctx, x, 1 + r);
        long c1 = n_allocs;
        struct mallinfo2 b = mallinfo2();
        CHECKF(c1 == c0, "%s: nn_forward called the allocator %ld times", names[i], c1 - c0);
        if (HAVE_COUNTER && i == 0) {
            /* the counter itself works */
            char *volatile p = malloc(16);
            free(p);
            CHECKF(n_allocs == c1 + 1, "allocation counter is dead");
        }
        CHECKF(a.uordblks == b.uordblks && a.hblkhd == b.hblkhd && a.hblks == b.hblks,
              "%s: nn_forward allocated (%zu -> %zu bytes in use, %zu -> %zu mmapped)", names[i],
              a.uordblks, b.uordblks, a.hblkhd, b.hblkhd);
        nn_ctx_free(ctx);
        nn_net_free(net);
    }
}

typedef struct {
    const nn_net *net;
    const float *x;
    float out[8];
} job;

static void *worker(void *arg)
{
    job *j = arg;
    nn_ctx *ctx;
    nn_error err;
    if (nn_ctx_new(j->net, 8, &ctx, &err) != NN_OK)
        return NULL;
    for (int r = 0; r < 5; r++) {
        const float *y = nn_forward(ctx, j->x, 8);
        memcpy(j->out, y, sizeof j->out);
    }
    nn_ctx_free(ctx);
    return NULL;
}

static void test_threads(void)
{
    nn_net *net;
    nn_error err;
    REQUIRE(nn_net_builtin("smilenet", 1, &net, &err) == NN_OK, "%s", err.msg);
    nn_net_init_params(net, 8);
    size_t n = 8 * 48 * 48;
    float *x = malloc(n * sizeof *x);
    for (size_t k = 0; k < n; k++)
        x[k] = cosf(0.01f * (float)k);
    job ref = {net, x, {0}};
    worker(&ref);
    job jobs[3];
    pthread_t tid[3];
    for (int t = 0; t < 3; t++) {
        jobs[t] = ref;
        memset(jobs[t].out, 0, sizeof jobs[t].out);
        REQUIRE(pthread_create(&tid[t], NULL, worker, &jobs[t]) == 0, "pthread_create");
    }
    for (int t = 0; t < 3; t++) {
        pthread_join(tid[t], NULL);
        CHECKF(memcmp(jobs[t].out, ref.out, sizeof ref.out) == 0, "thread %d differs", t);
    }
    free(x);
    nn_net_free(net);
}

/* a sample's output does not depend on the batch it is in */
static void test_batch_independent(void)
{
    const char *const *names = nn_builtin_names();
    for (int i = 0; names[i]; i++) {
        nn_net *net;
        nn_error err;
        REQUIRE(nn_net_builtin(names[i], 2, &net, &err) == NN_OK, "%s", err.msg);
        nn_net_init_params(net, 21);
        const nn_input_spec *in = nn_net_input(net);
        size_t n = (size_t)in->width * in->height * in->channels;
        nn_ctx *c1, *c5;
        REQUIRE(nn_ctx_new(net, 1, &c1, &err) == NN_OK && nn_ctx_new(net, 5, &c5, &err) == NN_OK,
                "%s", err.msg);
        float *x = nn_ctx_input(c5);
        for (size_t k = 0; k < 5 * n; k++)
            x[k] = sinf(0.37f * (float)k);
        const float *y5 = nn_forward(c5, x, 5);
        for (int s = 0; s < 5; s++) {
            const float *y1 = nn_forward(c1, x + s * n, 1);
            CHECKF(memcmp(y1, y5 + 2 * s, 2 * sizeof(float)) == 0,
                  "%s: sample %d alone %.9g, in a batch %.9g", names[i], s, (double)y1[0],
                  (double)y5[2 * s]);
        }
        nn_ctx_free(c1);
        nn_ctx_free(c5);
        nn_net_free(net);
    }
}

/* flip_average: the output is the mean over the image and its mirror image,
 * so an image and its mirror score alike, and a lopsided net's output moves */
static void test_flip_average(void)
{
    const char *arch = "input 7 5 2\nconv 3 3 pad=same\nbatchnorm\nrelu\nmaxpool 2\n"
                       "flatten\ndense 2\nsoftmax\n";
    nn_net *plain, *flip;
    nn_error err;
    REQUIRE(nn_net_from_text(arch, "flip", &plain, &err) == NN_OK, "%s", err.msg);
    REQUIRE(nn_net_from_text(arch, "flip", &flip, &err) == NN_OK, "%s", err.msg);
    nn_net_init_params(plain, 3);
    nn_net_init_params(flip, 3);
    nn_input_spec in = *nn_net_input(flip);
    in.flip_average = 1;
    REQUIRE(nn_net_set_input(flip, &in, &err) == NN_OK, "%s", err.msg);
    enum { B = 3, W = 7, H = 5, C = 2, N = W * H * C };
    float x[B * N], mx[B * N];
    for (int k = 0; k < B * N; k++)
        x[k] = sinf(0.71f * (float)k) + 0.3f * cosf(0.13f * (float)(k * k));
    for (int r = 0; r < B * C * H; r++)
        for (int c = 0; c < W; c++)
            mx[r * W + c] = x[r * W + W - 1 - c];
    nn_ctx *cp, *cf;
    REQUIRE(nn_ctx_new(plain, 2 * B, &cp, &err) == NN_OK, "%s", err.msg);
    REQUIRE(nn_ctx_new(flip, B, &cf, &err) == NN_OK, "%s", err.msg);
    float ya[B * 2], yb[B * 2], yf[B * 2], ym[B * 2];
    memcpy(ya, nn_forward(cp, x, B), sizeof ya);
    memcpy(yb, nn_forward(cp, mx, B), sizeof yb);
    memcpy(yf, nn_forward(cf, x, B), sizeof yf);
    memcpy(ym, nn_forward(cf, mx, B), sizeof ym);
    double moved = 0;
    for (int k = 0; k < B * 2; k++) {
        float want = 0.5f * (ya[k] + yb[k]);
        CHECKF(fabsf(yf[k] - want) <= 1e-6f, "output %d: %.9g, mean of both %.9g", k,
              (double)yf[k], (double)want);
        CHECKF(fabsf(ym[k] - yf[k]) <= 1e-6f, "output %d: mirror %.9g, original %.9g", k,
              (double)ym[k], (double)yf[k]);
        moved += fabs((double)yf[k] - (double)ya[k]);
    }
    CHECKF(moved > 1e-4, "flip averaging changed nothing (%g)", moved);
    /* the caller's batch limit is max_batch, not the doubled workspace */
    CHECKF(nn_forward(cf, x, B + 1) == NULL, "a batch over max_batch was run");
    /* batch 1 gives the same bits as the same image inside a batch */
    nn_ctx *c1;
    REQUIRE(nn_ctx_new(flip, 1, &c1, &err) == NN_OK, "%s", err.msg);
    for (int s = 0; s < B; s++) {
        const float *y1 = nn_forward(c1, x + s * N, 1);
        CHECKF(memcmp(y1, yf + 2 * s, 2 * sizeof(float)) == 0, "sample %d alone differs", s);
    }
    nn_ctx_free(c1);
    nn_ctx_free(cp);
    nn_ctx_free(cf);
    nn_net_free(plain);
    nn_net_free(flip);
}

/* Inference shares two buffers among the activations it reads only once;
 * a residual layer's source keeps its own. The answers are those of the
 * trainer's eval pass, whose workspace keeps every activation, and the
 * context is a fraction of one that keeps them all. */
static void test_shared_buffers(void)
{
    static const char *const archs[] = {
        /* shortcuts from the input, from a middle activation, and two onto one */
        "input 6 6 2\nconv 2 3 pad=same\nrelu\nresidual 2\nconv 2 3 pad=same\n"
        "batchnorm\nresidual 2\nresidual 3\nrelu\nmaxpool 2\nflatten\ndense 3\nsoftmax\n",
        /* a ResNet basic block after a stem */
        "input 8 8 1\nconv 4 3 pad=same\nbatchnorm\nrelu\nconv 4 3 pad=same\nbatchnorm\n"
        "relu\nconv 4 3 pad=same\nbatchnorm\nresidual 5\nrelu\nglobalavgpool\ndense 1\n"
        "sigmoid\n",
    };
    enum { B = 3 };
    for (size_t a = 0; a < sizeof archs / sizeof archs[0]; a++) {
        nn_net *net;
        nn_error err;
        REQUIRE(nn_net_from_text(archs[a], "shared", &net, &err) == NN_OK, "%s", err.msg);
        nn_net_init_params(net, 5 + a);
        const nn_input_spec *in = nn_net_input(net);
        size_t n = (size_t)in->width * in->height * in->channels;
        int nout = nn_net_n_outputs(net);
        float x[B * 6 * 6 * 2], probs[B * 3];
        for (size_t k = 0; k < B * n; k++)
            x[k] = sinf(0.53f * (float)k) + 0.2f * cosf(0.07f * (float)(k * k));
        nn_ctx *ctx;
        REQUIRE(nn_ctx_new(net, B, &ctx, &err) == NN_OK, "%s", err.msg);
        const float *y = nn_forward(ctx, x, B);
        nn_opt_config oc;
        nn_opt_defaults(NN_OPT_SGD, &oc);
        nn_trainer_config tc = {.max_batch = B, .threads = 1, .seed = 1};
        nn_trainer *tr;
        REQUIRE(nn_trainer_new(net, &tc, &oc, &tr, &err) == NN_OK, "%s", err.msg);
        int labels[B] = {0, 1, 0};
        nn_trainer_eval(tr, x, labels, B, probs);
        for (int k = 0; k < B * nout; k++)
            CHECKF(fabsf(y[k] - probs[k]) <= 1e-6f, "net %zu output %d: ctx %.9g, trainer %.9g", a,
                   k, (double)y[k], (double)probs[k]);
        nn_trainer_free(tr);
        nn_ctx_free(ctx);
        nn_net_free(net);
    }
    /* smilenet's activations come to 2.5 MB a face: at batch 64 keeping all
     * of them took 160 MB; two shared 48x48x32 buffers are 38 MB */
    nn_net *net;
    nn_error err;
    REQUIRE(nn_net_builtin("smilenet", 2, &net, &err) == NN_OK, "%s", err.msg);
    size_t before = heap_in_use();
    nn_ctx *ctx;
    REQUIRE(nn_ctx_new(net, 64, &ctx, &err) == NN_OK, "%s", err.msg);
    size_t used = heap_in_use() - before;
    CHECKF(used < (size_t)48 << 20, "a batch-64 smilenet context holds %zu MB", used >> 20);
    nn_ctx_free(ctx);
    nn_net_free(net);
}

int main(void)
{
    test_shared_buffers();
    test_flip_average();
    test_batch_independent();
    test_stability();
    test_no_alloc();
    test_threads();
    return test_done("forward");
}

/* Model files: save/load round trip is bit-identical; damaged, truncated and
 * foreign files are rejected with a message (never a crash); sizes are
 * checked before allocating; arch-text errors name the line; atomic writes. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn.h"
#include "nn_internal.h"
#include "../test_check.h"

static char tmpdir[256];

static const char *small_arch = "input 6 5 2  # W H C\n"
                                "conv 3 3 stride=2 pad=tf_same\n"
                                "batchnorm\n"
                                "leakyrelu 0.2\n"
                                "conv 3 3 pad=same\n"
                                "residual 1\n"
                                "maxpool 2\n"
                                "flatten\n"
                                "dense 2\n"
                                "softmax\n";

static nn_net *make_small(void)
{
    nn_net *net;
    nn_error err;
    REQUIRE(nn_net_from_text(small_arch, "small", &net, &err) == NN_OK, "%s", err.msg);
    nn_net_init_params(net, 5);
    /* running stats that are not the defaults, so the test sees them saved */
    for (size_t i = 0; i < net->n_state; i++)
        net->state[i] = 0.25f + 0.125f * (float)i;
    nn_input_spec in = *nn_net_input(net);
    in.norm = NN_NORM_MEANSTD;
    in.mean = 0.5f;
    in.std = 0.25f;
    in.crop.dx = 0.1f;
    in.crop.dy = -0.05f;
    in.crop.scale = 1.2f;
    in.equalize = 1;
    in.flip_average = 1;
    REQUIRE(nn_net_set_input(net, &in, &err) == NN_OK, "%s", err.msg);
    REQUIRE(nn_net_set_meta(net, "trained_on", "unit test") == NN_OK, "meta");
    REQUIRE(nn_net_set_meta(net, "accuracy", "0.5") == NN_OK, "meta");
    return net;
}

static void forward2(const nn_net *net, const float *x, float *out)
{
    nn_ctx *ctx;
    nn_error err;
    REQUIRE(nn_ctx_new(net, 2, &ctx, &err) == NN_OK, "%s", err.msg);
    const float *y = nn_forward(ctx, x, 2);
    REQUIRE(y, "forward");
    memcpy(out, y, 4 * sizeof(float));
    nn_ctx_free(ctx);
}

static void test_roundtrip(void)
{
    nn_net *a = make_small(), *b;
    nn_error err;
    char path[300];
    snprintf(path, sizeof path, "%s/small.nnm", tmpdir);
    REQUIRE(nn_net_save(a, path, &err) == NN_OK, "%s", err.msg);
    REQUIRE(nn_net_load(path, &b, &err) == NN_OK, "%s", err.msg);
    CHECKF(strcmp(nn_net_arch_text(a), nn_net_arch_text(b)) == 0, "arch text differs");
    CHECKF(nn_net_n_params(a) == nn_net_n_params(b), "param count");
    CHECKF(memcmp(a->params, b->params, a->n_params * 4) == 0, "params differ");
    CHECKF(memcmp(a->state, b->state, a->n_state * 4) == 0, "running stats differ");
    CHECKF(memcmp(nn_net_input(a), nn_net_input(b), sizeof(nn_input_spec)) == 0, "input spec");
    const char *m = nn_net_get_meta(b, "trained_on");
    CHECKF(m && strcmp(m, "unit test") == 0, "meta trained_on: %s", m ? m : "(null)");
    CHECKF(nn_net_get_meta(b, "missing") == NULL, "absent key");
    float x[120], ya[4], yb[4];
    for (int i = 0; i < 120; i++)
        x[i] = sinf((float)i);
    forward2(a, x, ya);
    forward2(b, x, yb);
    CHECKF(memcmp(ya, yb, sizeof ya) == 0, "outputs differ after reload");
    CHECKF(fabsf(ya[0] + ya[1] - 1.0f) < 1e-6f, "softmax output sums to %g", (double)(ya[0] + ya[1]));
    /* the canonical text parses to itself */
    nn_net *c;
    REQUIRE(nn_net_from_text(nn_net_arch_text(a), "canon", &c, &err) == NN_OK, "%s", err.msg);
    CHECKF(strcmp(nn_net_arch_text(c), nn_net_arch_text(a)) == 0, "canonical text is stable");
    nn_net_free(c);
    /* no temporary files left beside the model */
    char cmd[400];
    snprintf(cmd, sizeof cmd, "ls %s | grep -q tmp", tmpdir);
    CHECKF(system(cmd) != 0, "temporary file left in %s", tmpdir);
    nn_net_free(a);
    nn_net_free(b);
}

static void test_damage(void)
{
    nn_net *a = make_small(), *b;
    nn_buf buf = {0};
    nn_error err;
    REQUIRE(nn_net_serialize(a, &buf, &err) == NN_OK, "%s", err.msg);
    size_t n = buf.len;
    uint8_t *d = malloc(n);
    /* every truncation: rejected with a message naming the origin */
    for (size_t k = 0; k < n; k++) {
        memcpy(d, buf.p, k);
        err.msg[0] = 0;
        b = NULL;
        nn_status st = nn_net_load_memory(d, k, "cut.nnm", &b, &err);
        CHECKF(st != NN_OK && b == NULL, "truncated at %zu accepted", k);
        CHECKF(strstr(err.msg, "cut.nnm") != NULL, "truncated at %zu: message '%s'", k, err.msg);
        if (k >= 16)
            CHECKF(strstr(err.msg, "truncated") != NULL, "truncated at %zu: message '%s'", k,
                  err.msg);
        nn_net_free(b);
    }
    /* the documented message for a cut inside the weights */
    const nn_layer *l0 = &a->layers[0];
    size_t cut = n - 4 - 4 * (a->n_params + a->n_state) + 10;
    nn_net_load_memory(buf.p, cut, "model.nnm", &b, &err);
    char want[160];
    snprintf(want, sizeof want, "expected %zu bytes of weights for layer 0 (conv)",
             4 * (l0->n_w + l0->n_b));
    CHECKF(strstr(err.msg, want) != NULL, "message '%s' lacks '%s'", err.msg, want);
    /* every byte flipped: rejected */
    for (size_t k = 0; k < n; k++) {
        memcpy(d, buf.p, n);
        d[k] ^= 0x5a;
        b = NULL;
        err.msg[0] = 0;
        nn_status st = nn_net_load_memory(d, n, "flip.nnm", &b, &err);
        CHECKF(st != NN_OK && b == NULL, "flipped byte %zu accepted", k);
        CHECKF(err.msg[0] != 0, "flipped byte %zu: no message", k);
        if (k >= 24 && k < n - 4)
            CHECKF(st == NN_ERR_CHECKSUM, "flipped byte %zu: status %d (%s)", k, (int)st, err.msg);
        nn_net_free(b);
    }
    /* extra bytes after the end */
    uint8_t *e = malloc(n + 3);
    memcpy(e, buf.p, n);
    memset(e + n, 0, 3);
    CHECKF(nn_net_load_memory(e, n + 3, "long.nnm", &b, &err) == NN_ERR_FORMAT, "extra bytes");
    free(e);
    /* a newer version */
    memcpy(d, buf.p, n);
    d[8] = 2;
    CHECKF(nn_net_load_memory(d, n, "v2.nnm", &b, &err) == NN_ERR_VERSION, "version 2: %s",
          err.msg);
    /* input flags beyond equalize and flip-average, under a valid checksum */
    memcpy(d, buf.p, n);
    size_t flags_at = 28 + strlen(nn_net_arch_text(a)) + 36;
    CHECKF(d[flags_at] == 3, "input flags byte %zu is %u, want 3 (equalize, flip)", flags_at,
          d[flags_at]);
    d[flags_at] = 7;
    uint32_t crc = nn_crc32(0, d, n - 4);
    for (int k = 0; k < 4; k++)
        d[n - 4 + (size_t)k] = (uint8_t)(crc >> (8 * k));
    CHECKF(nn_net_load_memory(d, n, "flags.nnm", &b, &err) == NN_ERR_FORMAT, "input flags 7");
    CHECKF(strstr(err.msg, "unknown input flags") != NULL, "%s", err.msg);
    /* foreign data */
    static const uint8_t png[16] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    CHECKF(nn_net_load_memory(png, sizeof png, "x.png", &b, &err) == NN_ERR_FORMAT, "png");
    CHECKF(strstr(err.msg, "not a smile-detector model") != NULL, "%s", err.msg);
    CHECKF(nn_net_load_memory(png, 0, "empty", &b, &err) == NN_ERR_FORMAT, "empty");
    char path[300];
    snprintf(path, sizeof path, "%s/does-not-exist.nnm", tmpdir);
    CHECKF(nn_net_load(path, &b, &err) == NN_ERR_IO, "missing file");
    CHECKF(strstr(err.msg, "does-not-exist.nnm") != NULL, "%s", err.msg);
    free(d);
    free(buf.p);
    nn_net_free(a);
}

/* A file with a valid checksum whose architecture promises 2^26 floats: the
 * loader must refuse from the sizes alone, before allocating 256 MiB. */
static void test_lying_sizes(void)
{
    const char *arch = "input 8192 8192 1\ndense 1\n";
    nn_buf b = {0};
    nn_buf_put(&b, "SMNNMODL", 8);
    nn_buf_u32(&b, 1);
    nn_buf_u32(&b, 0);
    nn_buf_u64(&b, 8 + 4 + 4 + 8 + 4 + strlen(arch) + 40 + 4 + 4 + 16 + 4);
    nn_buf_u32(&b, (uint32_t)strlen(arch));
    nn_buf_put(&b, arch, strlen(arch));
    int spec[10] = {8192, 8192, 1, 0, 0, 0x3f800000, 0, 0, 0x3f800000, 0};
    for (int i = 0; i < 10; i++)
        nn_buf_u32(&b, (uint32_t)spec[i]);
    nn_buf_u32(&b, 0); /* meta */
    nn_buf_u32(&b, 1); /* blocks */
    nn_buf_u32(&b, 0);
    nn_buf_u32(&b, NN_L_DENSE);
    nn_buf_u64(&b, (uint64_t)8192 * 8192 + 1);
    nn_buf_u32(&b, nn_crc32(0, b.p, b.len));
    nn_net *net;
    nn_error err;
    nn_status st = nn_net_load_memory(b.p, b.len, "liar.nnm", &net, &err);
    CHECKF(st == NN_ERR_FORMAT, "status %d: %s", (int)st, err.msg);
    CHECKF(strstr(err.msg, "truncated") && strstr(err.msg, "weights for layer 0 (dense)"),
          "message: %s", err.msg);
    free(b.p);
}

static void expect_arch_error(const char *text, const char *needle)
{
    nn_net *net = (nn_net *)1;
    nn_error err = {{0}};
    nn_status st = nn_net_from_text(text, "my.arch", &net, &err);
    CHECKF(st == NN_ERR_ARCH && net == NULL, "'%s' accepted", text);
    CHECKF(strstr(err.msg, needle) != NULL, "'%s': message '%s' lacks '%s'", text, err.msg, needle);
}

static void test_arch_errors(void)
{
    expect_arch_error("input 8 8 1\nconv 4 3\nfoo 3\n", "my.arch:3: unknown layer 'foo'");
    expect_arch_error("# comment\n\nconv 4 3\n", "my.arch:3: expected 'input W H C'");
    expect_arch_error("input 8 8\n", "my.arch:1:");
    expect_arch_error("input 8 8 1\nconv 4\n", "my.arch:2: conv: expected");
    expect_arch_error("input 8 8 1\nconv 4 3 pad=wide\n", "my.arch:2: conv: bad padding");
    expect_arch_error("input 8 8 1\nconv 4 9\n", "my.arch:2: conv: kernel 9x9 is larger");
    expect_arch_error("input 8 8 1\nrelu\nmaxpool 9\n", "my.arch:3: maxpool: window");
    expect_arch_error("input 8 8 1\ndropout 1.5\n", "my.arch:2: dropout");
    expect_arch_error("input 8 8 1\ndense 0\n", "my.arch:2: dense: bad output count");
    expect_arch_error("input 8 8 1\nrelu stride=2\n", "my.arch:2: relu: unknown option");
    /* found by fuzz-model_load: a bare word after key=value options */
    expect_arch_error("input 8 8 1\nconv 4 3 stride=1 pad\n", "my.arch:2: conv: expected key=value");
    expect_arch_error("input 8 8 1\nrelu\nresidual 0\n", "my.arch:3: residual: '0' is not a count");
    expect_arch_error("input 8 8 1\nrelu\nresidual 2\n", "(1 to 1)");
    expect_arch_error("input 8 8 1\nrelu\nresidual\n", "my.arch:3: residual: expected 'residual K'");
    expect_arch_error("input 8 8 1\n# c\nconv 2 3 pad=same\nresidual 1\n",
                      "my.arch:4: residual: the input of line 3 (8x8x1) differs from this layer's "
                      "input (8x8x2)");
    expect_arch_error("input 8 8 1\n", "no layers");
    expect_arch_error("", "empty architecture");
    expect_arch_error("input 65536 65536 4096\nrelu\n", "too large");
    expect_arch_error("input 4096 4096 1\ndense 65536\n", "parameters");
    nn_net *net;
    nn_error err;
    CHECKF(nn_net_builtin("nope", 1, &net, &err) == NN_ERR_ARCH, "unknown builtin");
    CHECKF(strstr(err.msg, "nope") != NULL, "%s", err.msg);
    /* comments, blank lines, tabs, non-square kernels, pad=N all parse */
    REQUIRE(nn_net_from_text("\n# x\ninput 9 7 2 # c\n\tconv 3 3x1 stride=2x1 pad=2\n"
                             "avgpool 2 stride=1\nglobalavgpool\ntanh\n",
                             "ok.arch", &net, &err) == NN_OK, "%s", err.msg);
    CHECKF(nn_net_n_outputs(net) == 3, "outputs %d", nn_net_n_outputs(net));
    nn_net_free(net);
}

static void test_atomic_write(void)
{
    char path[300];
    nn_error err;
    snprintf(path, sizeof path, "%s/out.bin", tmpdir);
    CHECKF(nn_write_file_atomic(path, "first", 5, &err) == NN_OK, "%s", err.msg);
    CHECKF(nn_write_file_atomic(path, "second!", 7, &err) == NN_OK, "%s", err.msg);
    struct stat sb;
    CHECKF(stat(path, &sb) == 0 && sb.st_size == 7, "replaced file size");
    snprintf(path, sizeof path, "%s/no/such/dir/out.bin", tmpdir);
    CHECKF(nn_write_file_atomic(path, "x", 1, &err) == NN_ERR_IO, "write into missing dir");
    CHECKF(strstr(err.msg, "out.bin") != NULL, "%s", err.msg);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/nn-model-file-XXXXXX");
    REQUIRE(mkdtemp(tmpdir), "mkdtemp");
    test_roundtrip();
    test_damage();
    test_lying_sizes();
    test_arch_errors();
    test_atomic_write();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_done("model-file");
}

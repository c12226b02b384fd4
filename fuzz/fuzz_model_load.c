/* fuzz_model_load.c - libFuzzer target for the model file reader.
 *
 * Any byte string given to nn_net_load_memory must either load or fail with a
 * message; whatever loads must also build an inference context and run one
 * forward pass on zeros without touching memory it does not own.
 *
 * Model files end in a CRC32 of everything before it, which random mutations
 * almost never satisfy, so each input is also tried with that checksum
 * rewritten: that copy reaches the parser, the size checks and inference. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* zlib's CRC32 (the one nn/nn_model_file.c stores, little-endian, last). */
static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return ~c;
}

static void try_load(const uint8_t *data, size_t size)
{
    nn_net *net = NULL;
    nn_error err;
    err.msg[0] = 0;
    nn_status st = nn_net_load_memory(data, size, "fuzz", &net, &err);
    if (st != NN_OK) {
        /* A failure must say why and must not hand back a net. */
        if (net || err.msg[0] == 0 || !memchr(err.msg, 0, sizeof err.msg))
            __builtin_trap();
        return;
    }
    if (!net)
        __builtin_trap();
    /* A valid file may describe a huge net (its weights are bounded by the
     * file size, its activations are not); running those only makes the
     * fuzzer slow (the fuzz build is -O0), so inference is tried on nets of up
     * to 10 M multiply-adds. */
    nn_ctx *ctx = NULL;
    if (nn_net_flops(net) <= 1e7 && nn_ctx_new(net, 1, &ctx, &err) == NN_OK) {
        const nn_input_spec *in = nn_net_input(net);
        size_t n = (size_t)in->channels * in->height * in->width;
        float *x = nn_ctx_input(ctx);
        memset(x, 0, n * sizeof *x);
        const float *y = nn_forward(ctx, x, 1);
        /* Read every output so ASan checks the whole buffer. */
        volatile float sum = 0;
        for (int i = 0; y && i < nn_net_n_outputs(net); i++)
            sum += y[i];
        (void)sum;
        nn_ctx_free(ctx);
    }
    nn_net_free(net);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    try_load(data, size);
    if (size < 8)
        return 0;
    uint8_t *fixed = malloc(size);
    if (!fixed)
        return 0;
    memcpy(fixed, data, size);
    uint32_t crc = crc32_of(fixed, size - 4);
    for (int i = 0; i < 4; i++)
        fixed[size - 4 + i] = (uint8_t)(crc >> (8 * i));
    if (memcmp(fixed, data, size) != 0)
        try_load(fixed, size);
    free(fixed);
    return 0;
}

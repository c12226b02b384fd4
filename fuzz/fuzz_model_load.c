/* fuzz_model_load.c - libFuzzer target for the model file reader.
 *
 * Any byte string given to nn_net_load_memory must either load or fail with a
 * message; whatever loads must also build an inference context and run one
 * forward pass on zeros without touching memory it does not own. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "nn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nn_net *net = NULL;
    nn_error err;
    err.msg[0] = 0;
    nn_status st = nn_net_load_memory(data, size, "fuzz", &net, &err);
    if (st != NN_OK) {
        /* A failure must say why and must not hand back a net. */
        if (net || err.msg[0] == 0 || !memchr(err.msg, 0, sizeof err.msg))
            __builtin_trap();
        return 0;
    }
    if (!net)
        __builtin_trap();
    nn_ctx *ctx = NULL;
    if (nn_ctx_new(net, 1, &ctx, &err) == NN_OK) {
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
    return 0;
}

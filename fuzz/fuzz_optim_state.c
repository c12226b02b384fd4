/* fuzz_optim_state.c - libFuzzer target for nn_optim_load_state, the
 * optimizer part of a training checkpoint.
 *
 * Input: byte 0 picks the optimizer kind, byte 1 the parameter count (1..64),
 * the rest is the state blob. A blob is either refused with a message, leaving
 * the optimizer as it was, or accepted; then one step must run within bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    nn_opt_config cfg;
    nn_opt_defaults((nn_opt_kind)(data[0] % NN_OPT_COUNT), &cfg);
    size_t n = 1 + data[1] % 64;
    nn_optim *opt = NULL;
    nn_error err;
    if (nn_optim_new(&cfg, n, &opt, &err) != NN_OK)
        __builtin_trap();
    err.msg[0] = 0;
    uint64_t steps = nn_optim_steps(opt);
    nn_status st = nn_optim_load_state(opt, data + 2, size - 2, &err);
    if (st != NN_OK && (err.msg[0] == 0 || nn_optim_steps(opt) != steps))
        __builtin_trap();
    /* Saving what was loaded gives back the same bytes. */
    if (st == NN_OK) {
        size_t sz = nn_optim_state_size(opt);
        uint8_t *back = sz == size - 2 ? malloc(sz) : NULL;
        if (!back)
            __builtin_trap();
        nn_optim_save_state(opt, back);
        if (memcmp(back, data + 2, sz) != 0)
            __builtin_trap();
        free(back);
    }
    float p[64], g[64];
    for (size_t i = 0; i < n; i++) {
        p[i] = (float)i * 0.25f - 4.0f;
        g[i] = 0.5f - (float)(i % 3);
    }
    nn_optim_step(opt, p, g);
    nn_optim_free(opt);
    return 0;
}

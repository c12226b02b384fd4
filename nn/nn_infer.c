/* nn_infer.c - inference contexts: workspace allocated once, then forward
 * passes that never allocate. */
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

struct nn_ctx {
    const nn_net *net;
    nn_ws ws;
};

nn_status nn_ctx_new(const nn_net *net, int max_batch, nn_ctx **out, nn_error *err)
{
    if (!out || !net) {
        nn_seterr(err, "nn_ctx_new: NULL argument");
        return NN_ERR_ARG;
    }
    *out = NULL;
    nn_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        nn_seterr(err, "out of memory");
        return NN_ERR_NOMEM;
    }
    ctx->net = net;
    nn_status st = nn_ws_init(&ctx->ws, net, max_batch, 0, err);
    if (st) {
        free(ctx);
        return st;
    }
    *out = ctx;
    return NN_OK;
}

void nn_ctx_free(nn_ctx *ctx)
{
    if (!ctx)
        return;
    nn_ws_free(&ctx->ws);
    free(ctx);
}

float *nn_ctx_input(nn_ctx *ctx) { return ctx->ws.act[0]; }

const float *nn_forward(nn_ctx *ctx, const float *x, int batch)
{
    if (!ctx || !x || batch < 1 || batch > ctx->ws.max_batch)
        return NULL;
    const nn_net *net = ctx->net;
    size_t in = (size_t)net->input.width * net->input.height * net->input.channels;
    if (x != ctx->ws.act[0])
        memcpy(ctx->ws.act[0], x, (size_t)batch * in * sizeof(float));
    nn_run_forward(net, &ctx->ws, batch, net->n_layers, 0, 0, 0);
    return ctx->ws.act[net->n_layers];
}

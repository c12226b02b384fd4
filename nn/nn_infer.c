/* nn_infer.c - inference contexts: workspace allocated once, then forward
 * passes that never allocate. */
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

struct nn_ctx {
    const nn_net *net;
    int max_batch; /* what the caller may pass; the workspace holds twice that
                      when the net averages over mirror images */
    float *mean;   /* flip_average: max_batch x n_outputs averaged outputs */
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
    ctx->max_batch = max_batch;
    int flip = net->input.flip_average;
    if (flip && max_batch > 0) {
        ctx->mean = malloc((size_t)max_batch * (size_t)nn_net_n_outputs(net) * sizeof(float));
        if (!ctx->mean) {
            free(ctx);
            nn_seterr(err, "out of memory");
            return NN_ERR_NOMEM;
        }
    }
    nn_status st = nn_ws_init(&ctx->ws, net, flip ? 2 * max_batch : max_batch, 0, err);
    if (st) {
        free(ctx->mean);
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
    free(ctx->mean);
    free(ctx);
}

float *nn_ctx_input(nn_ctx *ctx) { return ctx->ws.act[0]; }

/* dst[b][c][y][x] = src[b][c][y][w-1-x] for the batch's images; dst: [batch, C, H, W] */
static void mirror_images(const float *src, float *dst, int batch, int c, int h, int w)
{
    size_t rows = (size_t)batch * (size_t)c * (size_t)h;
    for (size_t r = 0; r < rows; r++) {
        const float *s = src + r * (size_t)w;
        float *d = dst + r * (size_t)w;
        for (int x = 0; x < w; x++)
            d[x] = s[w - 1 - x];
    }
}

const float *nn_forward(nn_ctx *ctx, const float *x, int batch)
{
    if (!ctx || !x || batch < 1 || batch > ctx->max_batch)
        return NULL;
    const nn_net *net = ctx->net;
    const nn_input_spec *spec = &net->input;
    size_t in = (size_t)spec->width * spec->height * spec->channels;
    if (x != ctx->ws.act[0])
        memcpy(ctx->ws.act[0], x, (size_t)batch * in * sizeof(float));
    if (!spec->flip_average) {
        nn_run_forward(net, &ctx->ws, batch, net->n_layers, 0, 0, 0);
        return ctx->ws.act[net->n_layers];
    }
    /* The mirror images follow the originals in one batch of 2 x batch. */
    mirror_images(ctx->ws.act[0], ctx->ws.act[0] + (size_t)batch * in, batch, spec->channels,
                  spec->height, spec->width);
    nn_run_forward(net, &ctx->ws, 2 * batch, net->n_layers, 0, 0, 0);
    const float *o = ctx->ws.act[net->n_layers];
    size_t n = (size_t)batch * (size_t)nn_net_n_outputs(net);
    for (size_t i = 0; i < n; i++)
        ctx->mean[i] = 0.5f * (o[i] + o[n + i]);
    return ctx->mean;
}

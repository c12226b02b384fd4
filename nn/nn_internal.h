/* nn_internal.h - private structures shared by the nn/ sources. */
#ifndef NN_INTERNAL_H
#define NN_INTERNAL_H

#include <stdarg.h>

#include "nn.h"

typedef enum {
    NN_L_CONV = 0,
    NN_L_MAXPOOL,
    NN_L_AVGPOOL,
    NN_L_GAP,
    NN_L_DENSE,
    NN_L_FLATTEN,
    NN_L_DROPOUT,
    NN_L_BATCHNORM,
    NN_L_RELU,
    NN_L_LEAKYRELU,
    NN_L_SIGMOID,
    NN_L_TANH,
    NN_L_SOFTMAX,
    NN_L_RESIDUAL, /* after SOFTMAX: model files store kinds by number */
    NN_L_COUNT
} nn_layer_kind;

typedef enum { NN_PAD_VALID = 0, NN_PAD_SAME, NN_PAD_TF_SAME, NN_PAD_N } nn_pad_mode;

typedef struct {
    nn_layer_kind kind;
    int in_c, in_h, in_w;
    int out_c, out_h, out_w;
    int kh, kw, sh, sw;     /* conv, pools */
    int pad_t, pad_l;       /* conv: zero rows above / columns left */
    nn_pad_mode pad_mode;   /* conv: as written, for the canonical text */
    int pad_n;              /* conv: pad=N */
    float alpha;            /* leakyrelu slope, dropout probability */
    int skip;               /* residual: adds the input of the layer this many above */
    size_t w_off, n_w;      /* weights in net->params (batchnorm: gamma) */
    size_t b_off, n_b;      /* biases (batchnorm: beta) */
    size_t s_off, n_s;      /* batchnorm running mean then var, in net->state */
    int line;               /* line of the arch text */
} nn_layer;

#define NN_MODEL_MAGIC "SMNNMODL" /* nn_model_file.c */
#define NN_CKPT_MAGIC "SMNNCKPT"  /* nn_train.c; each loader names the other's files */

#define NN_BN_EPS 1e-5f
#define NN_BN_MOMENTUM 0.1f /* PyTorch's convention: new = (1-m) old + m batch */

typedef struct {
    char *key, *value;
} nn_meta;

struct nn_net {
    nn_input_spec input;
    int n_layers;
    nn_layer *layers;
    size_t n_params;
    float *params; /* trainable, one block */
    size_t n_state;
    float *state;  /* batchnorm running mean/var */
    char *arch;    /* canonical text */
    int n_meta;
    nn_meta *meta;
};

/* Per-thread working memory for batches of up to max_batch. */
typedef struct {
    int max_batch;
    int train;          /* allocated for backward too */
    float **act;        /* n_layers + 1 buffers; act[0] is the input */
    float *col;         /* im2col scratch for one sample */
    float *pack;        /* GEMM packing buffers, nn_gemm_pack_floats() */
    float *aux;         /* dropout masks, batchnorm batch mean/invstd/var */
    size_t *aux_off;    /* per layer, into aux */
    float *dbuf[2];     /* ping-pong activation gradients */
    float *grads;       /* parameter gradients, n_params */
    int want_input_grad; /* backward also computes d(loss)/d(input) (tests) */
    void *block;        /* everything above lives in one allocation */
} nn_ws;

size_t nn_layer_out_size(const nn_layer *l); /* floats per sample */
size_t nn_layer_in_size(const nn_layer *l);

nn_status nn_ws_init(nn_ws *ws, const nn_net *net, int max_batch, int train, nn_error *err);
void nn_ws_free(nn_ws *ws);

/* Runs layers [0, upto) on act[0] (batch samples). train: dropout and batch
 * statistics; rng_seed seeds dropout masks per (seed, sample_base + n). */
void nn_run_forward(const nn_net *net, nn_ws *ws, int batch, int upto, int train,
                    uint64_t rng_seed, int sample_base);
/* Back from layer upto-1 to 0; dtop (batch x out size of layer upto-1) is the
 * gradient of that layer's output. Accumulates into ws->grads. Returns the
 * gradient of the input when ws->want_input_grad, else NULL. */
const float *nn_run_backward(const nn_net *net, nn_ws *ws, int batch, int upto, const float *dtop);

const char *nn_layer_kind_name(int kind);

/* Output activation helpers (last layer sigmoid/softmax?). */
int nn_net_out_act(const nn_net *net); /* NN_L_SIGMOID, NN_L_SOFTMAX or -1 */

/* What n samples are trained towards. Sample s's target is one_hot(labels[s]);
 * with labels_b and mix (NULL, or both given) it is mixed with a second label,
 * mix[s] being the first label's share; with teacher (n x n_out
 * probabilities) it is then blended as (1 - teacher_weight) * target +
 * teacher_weight * teacher[s]. */
typedef struct {
    const int *labels;
    const int *labels_b;
    const float *mix;
    const float *teacher;
    float teacher_weight;
} nn_targets;

/* Loss of n samples (nn_train.c): out holds logits for BCE/CE, probabilities
 * for MSE; cw NULL or class weights; smoothing the label smoothing (BCE and
 * CE only). dtop (may be NULL) gets the gradient scaled by 1/total; probs
 * (may be NULL) the probabilities. Returns the weighted loss summed over the
 * samples. */
double nn_loss_eval(nn_loss_kind loss, int n_out, const float *cw, float smoothing, const float *out,
                    const nn_targets *tg, int n, int total, float *dtop, float *probs, int *correct);

/* Kernels (nn_gemm.c, nn_layers.c). */
void nn_sgemm(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
              int ldb, float beta, float *C, int ldc, float *pack);
size_t nn_gemm_pack_floats(void);
/* C[M,N] += A[M,K] B[N,K]^T by dot products: each C element's bits depend
 * only on its row of A and row of B (dense layers: batch-independent). */
void nn_sgemm_nt_dot(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                     float *C, int ldc);
void nn_sigmoid_fwd(const float *x, float *y, size_t n);
void nn_softmax_fwd(const float *x, float *y, int n);

/* Errors. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void nn_seterr(nn_error *err, const char *fmt, ...);

/* Little-endian byte buffer writer used by the model and checkpoint files. */
typedef struct {
    uint8_t *p;
    size_t len, cap;
    int oom;
} nn_buf;
void nn_buf_put(nn_buf *b, const void *d, size_t n);
void nn_buf_u32(nn_buf *b, uint32_t v);
void nn_buf_u64(nn_buf *b, uint64_t v);
void nn_buf_f32(nn_buf *b, float v);
void nn_buf_floats(nn_buf *b, const float *v, size_t n);

uint32_t nn_crc32(uint32_t crc, const void *data, size_t n);
/* Serialise a net into a model file image (used by save and checkpoints). */
nn_status nn_net_serialize(const nn_net *net, nn_buf *b, nn_error *err);
nn_status nn_read_file(const char *path, uint8_t **data, size_t *size, nn_error *err);

/* Build from text without parameters allocated yet: parse + shapes. */
nn_status nn_net_parse(const char *text, const char *origin, nn_net **out, nn_error *err);
nn_status nn_net_alloc_params(nn_net *net, nn_error *err);

#endif

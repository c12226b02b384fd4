/* nn.h - smile-detector's CNN library: layers, losses, optimizers, model files.
 *
 * Conventions
 *  - Tensors are float32, laid out NCHW with the batch outermost.
 *  - Handles are opaque and come in _new/_free pairs; _free(NULL) is a no-op.
 *  - Nothing here calls exit() or abort(). Functions that can fail return an
 *    nn_status; when the caller passes an nn_error, it receives a message that
 *    says what was wrong and where (file, byte offset, line of an arch text).
 *  - Threads: an nn_net is read-only during inference, so several threads may
 *    share one net as long as each has its own nn_ctx. A trainer owns its net.
 *  - Randomness is seeded (nn_rng): the same seed on the same thread count
 *    gives a bit-identical model.
 */
#ifndef NN_H
#define NN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ errors */

typedef enum {
    NN_OK = 0,
    NN_ERR_ARG,      /* a bad argument from the caller */
    NN_ERR_NOMEM,    /* an allocation failed */
    NN_ERR_IO,       /* open/read/write/rename failed (errno text in the message) */
    NN_ERR_FORMAT,   /* not a model file, truncated, or sizes that disagree */
    NN_ERR_VERSION,  /* a model file of a format version we do not read */
    NN_ERR_CHECKSUM, /* the file is damaged: its checksum does not match */
    NN_ERR_ARCH,     /* an architecture text we cannot parse or build */
} nn_status;

typedef struct {
    char msg[512];
} nn_error;

const char *nn_status_str(nn_status st);

/* ------------------------------------------------------------------ random */

/* xoshiro256** seeded through splitmix64: small, fast and repeatable. */
typedef struct {
    uint64_t s[4];
} nn_rng;

void nn_rng_seed(nn_rng *rng, uint64_t seed);
uint64_t nn_rng_next(nn_rng *rng);
float nn_rng_uniform(nn_rng *rng);             /* [0, 1) */
float nn_rng_normal(nn_rng *rng);              /* mean 0, sd 1 */
float nn_rng_beta(nn_rng *rng, float a, float b); /* Beta(a, b) in [0, 1], a, b > 0 */
uint32_t nn_rng_below(nn_rng *rng, uint32_t n); /* [0, n), unbiased */
void nn_rng_shuffle(nn_rng *rng, int *v, size_t n);

/* ------------------------------------------------------- input description */

/* How pixels become network input. Stored in the model file, applied by
 * nn_preprocess_grey, so training and inference cannot disagree. */
typedef enum {
    NN_NORM_UNIT = 0,    /* x / 255 */
    NN_NORM_SAMPLE = 1,  /* per image: (x - mean) / (std + 1e-6), x in 0..255 */
    NN_NORM_MEANSTD = 2, /* (x / 255 - mean) / std */
} nn_norm;

/* Where the model's crop sits relative to a face detector's box (x, y, w, h):
 * a square of side w*scale centred at (x + w*(0.5+dx), y + h*(0.5+dy)).
 * The identity {0, 0, 1} crops exactly the detector's box. */
typedef struct {
    float dx, dy, scale;
} nn_crop_geometry;

typedef struct {
    int width, height, channels; /* the network's input tensor (C = 1: grey) */
    nn_norm norm;
    float mean, std;             /* used by NN_NORM_MEANSTD */
    nn_crop_geometry crop;
    int equalize;                /* histogram-equalise the crop before normalising */
    int flip_average;            /* nn_forward averages the output over each input and
                                    its mirror image (test-time augmentation for nets
                                    trained with flips: faces are left-right symmetric) */
} nn_input_spec;

/* The one preprocessing function that training, the scorer and the app share.
 * Cuts the rectangle (rx, ry, rw, rh) from a grey image (it may extend past
 * the edges, which replicate), resizes it to spec->width x spec->height by
 * area averaging, optionally equalises it, and normalises it into
 * out[channels * height * width]. No allocation. */
nn_status nn_preprocess_grey(const nn_input_spec *spec, const uint8_t *grey, int width, int height,
                             int stride, float rx, float ry, float rw, float rh, float *out);

/* The same, stopping before normalisation: the resized (and equalised) crop
 * as bytes, out[height * width]. Used for augmentation and snapshots. */
nn_status nn_crop_grey_u8(const nn_input_spec *spec, const uint8_t *grey, int width, int height,
                          int stride, float rx, float ry, float rw, float rh, uint8_t *out);

/* Normalise an already-sized byte image (spec->height x spec->width) into out. */
void nn_normalize_u8(const nn_input_spec *spec, const uint8_t *in, float *out);

/* The crop rectangle of geometry g for a detector box (x, y, w, h):
 * rect = {rx, ry, rw, rh}, ready for nn_preprocess_grey. */
void nn_crop_rect(const nn_crop_geometry *g, float x, float y, float w, float h, float rect[4]);

/* ------------------------------------------------------------ networks */

typedef struct nn_net nn_net;

/* Architecture text: one layer a line, '#' comments. See nn/README.md.
 *   input W H C
 *   conv OUT K [stride=S] [pad=same|valid|tf_same|N]
 *   maxpool K [stride=S]   avgpool K [stride=S]   globalavgpool
 *   dense OUT   flatten   dropout P   batchnorm
 *   relu   leakyrelu ALPHA   sigmoid   tanh   softmax
 * origin names the text in error messages (a file name, or "builtin:seed"). */
nn_status nn_net_from_text(const char *arch_text, const char *origin, nn_net **out, nn_error *err);

/* Built-in architectures by name: "seed", "lenet", "smilenet". n_outputs = 1
 * ends in one sigmoid output; n_outputs = N > 1 ends in a softmax over N. */
nn_status nn_net_builtin(const char *name, int n_outputs, nn_net **out, nn_error *err);
const char *const *nn_builtin_names(void); /* NULL-terminated */

void nn_net_free(nn_net *net);

/* Keras-style initialisation (Glorot uniform weights, zero biases), seeded. */
void nn_net_init_params(nn_net *net, uint64_t seed);

const nn_input_spec *nn_net_input(const nn_net *net);
/* Sets normalisation and crop geometry; width/height/channels must match. */
nn_status nn_net_set_input(nn_net *net, const nn_input_spec *spec, nn_error *err);
int nn_net_n_outputs(const nn_net *net);
size_t nn_net_n_params(const nn_net *net);
int nn_net_has_batchnorm(const nn_net *net); /* recalibration has work to do */
float *nn_net_params(nn_net *net);               /* one contiguous block */
const char *nn_net_arch_text(const nn_net *net); /* canonical text */
double nn_net_flops(const nn_net *net);          /* multiply-adds of one forward, batch 1 */
void nn_net_summary(const nn_net *net, FILE *out);

/* Free-form metadata saved with the model (training data, metrics, date). */
nn_status nn_net_set_meta(nn_net *net, const char *key, const char *value);
const char *nn_net_get_meta(const nn_net *net, const char *key); /* NULL if absent */

/* ------------------------------------------------------------ model files */

/* Self-describing: magic, version, arch text, input spec, metadata, weights,
 * checksum. Saving is atomic (temporary file, fsync, rename). Loading checks
 * every size against the file length before allocating. */
nn_status nn_net_save(const nn_net *net, const char *path, nn_error *err);
nn_status nn_net_load(const char *path, nn_net **out, nn_error *err);
nn_status nn_net_load_memory(const void *data, size_t size, const char *origin, nn_net **out,
                             nn_error *err);

/* ------------------------------------------------------------ inference */

typedef struct nn_ctx nn_ctx;

/* All workspace is allocated here; nn_forward never allocates. */
nn_status nn_ctx_new(const nn_net *net, int max_batch, nn_ctx **out, nn_error *err);
void nn_ctx_free(nn_ctx *ctx);
/* A buffer of max_batch * C*H*W floats the caller may fill and pass to nn_forward. */
float *nn_ctx_input(nn_ctx *ctx);
/* x: batch x C x H x W. Returns batch x n_outputs probabilities (the output
 * sigmoid or softmax applied), owned by ctx, valid until the next call.
 * With the input spec's flip_average, each output is the mean of the
 * probabilities for the image and its mirror image (one pass of 2 x batch). */
const float *nn_forward(nn_ctx *ctx, const float *x, int batch);

/* ------------------------------------------------------------ optimizers */

typedef enum {
    NN_OPT_SGD = 0,
    NN_OPT_MOMENTUM,
    NN_OPT_NAG,
    NN_OPT_ADAGRAD,
    NN_OPT_RMSPROP,
    NN_OPT_ADADELTA,
    NN_OPT_ADAM,
    NN_OPT_NADAM,
    NN_OPT_COUNT
} nn_opt_kind;

const char *nn_opt_name(nn_opt_kind kind); /* "sgd", "momentum", ... */
nn_status nn_opt_from_name(const char *name, nn_opt_kind *kind);

typedef struct {
    nn_opt_kind kind;
    float lr;
    float momentum;     /* momentum, nag */
    float beta1, beta2; /* adam, nadam */
    float rho;          /* rmsprop (alpha), adadelta */
    float eps;
    float weight_decay; /* L2, added to the gradient; with decoupled, see there */
    /* 1: weight_decay shrinks the weights apart from the gradient, w *= 1 -
     * lr * weight_decay before each step (AdamW, SGDW: Loshchilov and
     * Hutter, 2019), as torch.optim.AdamW does. Adam's moments then never
     * see the decay, which the L2 form divides by their scale. 0: L2. */
    int decoupled;
    /* 0: off. Otherwise the optimizer also keeps an exponential moving average
     * of the parameters (Polyak averaging) with this decay in (0, 1), warmed up
     * as min(decay, (1 + t) / (10 + t)) so the first steps' weights fade fast.
     * Averaged weights sit in a flatter part of the loss than the last step's. */
    float average_decay;
} nn_opt_config;

/* PyTorch's defaults for that optimizer (lr included). */
void nn_opt_defaults(nn_opt_kind kind, nn_opt_config *cfg);

/* An optimizer over one flat parameter array; usable alone (Beale's function). */
typedef struct nn_optim nn_optim;
nn_status nn_optim_new(const nn_opt_config *cfg, size_t n_params, nn_optim **out, nn_error *err);
void nn_optim_free(nn_optim *opt);
void nn_optim_step(nn_optim *opt, float *params, const float *grads);
void nn_optim_set_lr(nn_optim *opt, float lr);
float nn_optim_get_lr(const nn_optim *opt);
/* Optimizer state (step counter and moment buffers) as an opaque byte blob,
 * so checkpoints resume bit-exactly. state_size gives the bytes save_state
 * writes into buf; load_state checks size (and kind) and fails with a
 * message on a mismatch. */
size_t nn_optim_state_size(const nn_optim *opt);
void nn_optim_save_state(const nn_optim *opt, void *buf);
nn_status nn_optim_load_state(nn_optim *opt, const void *buf, size_t size, nn_error *err);
/* Validates a configuration (the fields its kind uses; nn_optim_new calls it):
 * lr > 0, weight_decay >= 0, momentum in (0, 1), rho/beta1/beta2 in [0, 1),
 * eps > 0. The message names the optimizer and the field. */
nn_status nn_opt_check(const nn_opt_config *cfg, nn_error *err);
const nn_opt_config *nn_optim_config(const nn_optim *opt); /* lr as last set */
uint64_t nn_optim_steps(const nn_optim *opt);               /* updates so far */
/* The averaged parameters (n_params floats; equal to the parameters after the
 * first step), or NULL when average_decay is 0. Saved with the state. */
float *nn_optim_average(nn_optim *opt);
/* The average's warm-up: after step t it uses min(average_decay,
 * nn_optim_average_warmup(t)), with nn_optim_average_warmup(t) =
 * (1+t)/(10+t), which reaches a decay d at step
 * nn_optim_average_warmup_steps(d) = 9/(1-d) - 10. */
float nn_optim_average_warmup(uint64_t t);
double nn_optim_average_warmup_steps(float decay);

/* ------------------------------------------------------------ training */

typedef enum {
    NN_LOSS_AUTO = 0,   /* BCE for one output, softmax CE for several */
    NN_LOSS_BCE,        /* binary cross-entropy on the logit */
    NN_LOSS_SOFTMAX_CE, /* softmax cross-entropy on the logits */
    NN_LOSS_MSE,        /* mean squared error on the probabilities */
} nn_loss_kind;

typedef struct {
    int max_batch;
    int threads;               /* 0: one per core */
    nn_loss_kind loss;
    const float *class_weights; /* NULL, or one weight per class (2 for a sigmoid) */
    uint64_t seed;             /* dropout */
    /* Label smoothing in [0, 1) for BCE and softmax CE: training targets are
     * (1 - s) * one_hot + s / K, with K = 2 for a sigmoid. Evaluation losses
     * stay unsmoothed. Against mislabelled images it caps how sure the net
     * must become of any label. */
    float label_smoothing;
    /* Sharpness-aware minimisation (Foret et al., 2021) when > 0: each step
     * takes the batch's gradient at w + rho * g / |g|, the steepest point at
     * distance rho, instead of at w. Training then settles in flat minima,
     * which memorise mislabelled images less. Twice the cost of a step;
     * batchnorm's running statistics come from the first pass. 0: off. */
    float sam_rho;
} nn_trainer_config;

typedef struct nn_trainer nn_trainer;

/* The trainer borrows net and updates its parameters in place. */
nn_status nn_trainer_new(nn_net *net, const nn_trainer_config *cfg, const nn_opt_config *opt,
                         nn_trainer **out, nn_error *err);
void nn_trainer_free(nn_trainer *tr);

/* Forward, loss, backward and one optimizer update on a batch.
 * x: batch x C x H x W; labels: batch class indices (0/1 for a sigmoid).
 * Returns the mean (weighted) loss; *n_correct (may be NULL) gets the hits. */
float nn_trainer_step(nn_trainer *tr, const float *x, const int *labels, int batch, int *n_correct);

/* The same step with mixup targets: sample s learns
 * mix[s] * one_hot(labels[s]) + (1 - mix[s]) * one_hot(labels_b[s]), its
 * class weight mixed likewise; the caller blends the images with the same
 * shares. mix[s] must be in [0, 1]. A hit is a prediction of the label with
 * the larger share. */
float nn_trainer_step_mixed(nn_trainer *tr, const float *x, const int *labels, const int *labels_b,
                            const float *mix, int batch, int *n_correct);

/* The same step with a teacher's predictions in the targets (knowledge
 * distillation): sample s learns (1 - weight) * one_hot(labels[s]), label
 * smoothing applied, + weight * teacher[s]. teacher: batch x n_outputs
 * probabilities (for a sigmoid, of class 1), best the teacher's outputs on the
 * very images of x, augmented as they are. weight in [0, 1]; a hit is a
 * prediction of labels[s]. */
float nn_trainer_step_distill(nn_trainer *tr, const float *x, const int *labels, const float *teacher,
                              float weight, int batch, int *n_correct);

/* Forward in eval mode (dropout off, batchnorm running stats) with no update.
 * probs (may be NULL) receives batch x n_outputs. Returns the summed loss. */
float nn_trainer_eval(nn_trainer *tr, const float *x, const int *labels, int batch, float *probs);

/* Batchnorm recalibration ("precise BN"): _begin, then _add with training
 * batches (train-mode forward as in nn_trainer_step, nothing updated), then
 * _end sets every running mean and variance to the sample-weighted average of
 * the added batches' statistics under the current weights. The running
 * averages of nn_trainer_step lag behind weights that still move fast (Adam at
 * a constant 1e-3): on Happy House that lag put the eval-mode outputs so far
 * off that accuracy on the training images fell from 0.99 to 0.78. */
nn_status nn_trainer_bn_recalibrate_begin(nn_trainer *tr, nn_error *err);
nn_status nn_trainer_bn_recalibrate_add(nn_trainer *tr, const float *x, const int *labels, int batch,
                                        nn_error *err);
void nn_trainer_bn_recalibrate_end(nn_trainer *tr);

void nn_trainer_set_lr(nn_trainer *tr, float lr);
float nn_trainer_get_lr(const nn_trainer *tr);

/* With the optimizer's average_decay, swaps the net's parameters with their
 * running average, so evaluation, recalibration and saving see the averaged
 * weights; a second call swaps back. Returns 1 if the averaged weights are now
 * in the net, 0 if the raw ones are (always 0 without averaging).
 * nn_trainer_step swaps back by itself: training continues from the raw
 * weights. A checkpoint is refused while the average is swapped in. */
int nn_trainer_swap_average(nn_trainer *tr);

/* Checkpoints hold the net, the optimizer state, and an opaque blob from the
 * caller (epoch, data RNG, schedule), so a resumed run continues bit-exactly. */
nn_status nn_trainer_save_checkpoint(const nn_trainer *tr, const char *path, const void *extra,
                                     size_t extra_size, nn_error *err);
nn_status nn_trainer_load_checkpoint(nn_trainer *tr, const char *path, void *extra,
                                     size_t extra_size, nn_error *err);

/* ------------------------------------------------------------ files */

/* Write a whole buffer atomically: path.tmp-XXXXXX, fsync, rename. Shared by
 * everything that writes models, checkpoints and outputs. */
nn_status nn_write_file_atomic(const char *path, const void *data, size_t size, nn_error *err);

#ifdef __cplusplus
}
#endif
#endif /* NN_H */

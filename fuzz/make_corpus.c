/* make_corpus.c - writes the seed corpora of the fuzz targets:
 *  model_load/: a few tiny valid model files that together use every layer
 *               kind, plus a truncated one;
 *  optim_state/: optimizer state blobs after a few steps, behind the two
 *               bytes (kind, parameter count - 1) fuzz-optim_state reads.
 *
 *   build-fuzz/fuzz/make-fuzz-corpus fuzz/corpus
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"

static const struct {
    const char *file, *arch;
} seeds[] = {
    {"conv_bn_pool.nnm", "input 8 8 1\n"
                         "conv 4 3 pad=same\n"
                         "batchnorm\n"
                         "relu\n"
                         "maxpool 2\n"
                         "conv 4 3 stride=2 pad=tf_same\n"
                         "leakyrelu 0.1\n"
                         "flatten\n"
                         "dense 3\n"
                         "tanh\n"
                         "dropout 0.2\n"
                         "dense 1\n"
                         "sigmoid\n"},
    {"avgpool_softmax.nnm", "input 6 5 2\n"
                            "conv 3 3 pad=valid\n"
                            "sigmoid\n"
                            "avgpool 2 stride=1\n"
                            "globalavgpool\n"
                            "dense 2\n"
                            "softmax\n"},
    {"residual.nnm", "input 6 6 1\n"
                     "conv 2 3 pad=same\n"
                     "relu\n"
                     "conv 2 3 pad=same\n"
                     "residual 2\n"
                     "globalavgpool\n"
                     "dense 1\n"
                     "sigmoid\n"},
};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make-fuzz-corpus CORPUS_DIR (with model_load/ and optim_state/)\n");
        return 2;
    }
    char path[4096];
    nn_error err;
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        nn_net *net = NULL;
        if (nn_net_from_text(seeds[i].arch, seeds[i].file, &net, &err) != NN_OK) {
            fprintf(stderr, "make-fuzz-corpus: %s\n", err.msg);
            return 1;
        }
        nn_net_init_params(net, 7 + i);
        nn_net_set_meta(net, "note", "fuzz seed");
        snprintf(path, sizeof path, "%s/model_load/%s", argv[1], seeds[i].file);
        if (nn_net_save(net, path, &err) != NN_OK) {
            fprintf(stderr, "make-fuzz-corpus: %s\n", err.msg);
            return 1;
        }
        nn_net_free(net);
    }
    /* The first seed cut in the middle of its weights. */
    snprintf(path, sizeof path, "%s/model_load/%s", argv[1], seeds[0].file);
    FILE *f = fopen(path, "rb");
    static unsigned char buf[1 << 16];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f)
        fclose(f);
    if (n < 16) {
        fprintf(stderr, "make-fuzz-corpus: cannot read back %s\n", path);
        return 1;
    }
    snprintf(path, sizeof path, "%s/model_load/truncated.nnm", argv[1]);
    if (nn_write_file_atomic(path, buf, n * 2 / 3, &err) != NN_OK) {
        fprintf(stderr, "make-fuzz-corpus: %s\n", err.msg);
        return 1;
    }
    /* Optimizer states: SGD (header only), Adam and NAdam (two buffers). */
    static const struct {
        nn_opt_kind kind;
        int n;
    } states[] = {{NN_OPT_SGD, 3}, {NN_OPT_ADAM, 5}, {NN_OPT_NADAM, 2}, {NN_OPT_RMSPROP, 4}};
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        nn_opt_config cfg;
        nn_optim *opt = NULL;
        nn_opt_defaults(states[i].kind, &cfg);
        if (nn_optim_new(&cfg, (size_t)states[i].n, &opt, &err) != NN_OK) {
            fprintf(stderr, "make-fuzz-corpus: %s\n", err.msg);
            return 1;
        }
        float p[8] = {1, -2, 3, -4, 5, -6, 7, -8}, g[8] = {0.5f, 0.25f, -1, 2, -0.5f, 1, 3, -2};
        for (int s = 0; s < 3; s++)
            nn_optim_step(opt, p, g);
        size_t sz = nn_optim_state_size(opt);
        buf[0] = (unsigned char)states[i].kind;
        buf[1] = (unsigned char)(states[i].n - 1);
        nn_optim_save_state(opt, buf + 2);
        nn_optim_free(opt);
        snprintf(path, sizeof path, "%s/optim_state/%s.bin", argv[1], nn_opt_name(states[i].kind));
        if (nn_write_file_atomic(path, buf, sz + 2, &err) != NN_OK) {
            fprintf(stderr, "make-fuzz-corpus: %s\n", err.msg);
            return 1;
        }
    }
    return 0;
}

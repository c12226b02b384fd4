/* make_corpus.c - writes the seed corpus of fuzz-model_load: a few tiny valid
 * model files that together use every layer kind, plus a truncated one.
 *
 *   build/fuzz/make-fuzz-corpus fuzz/corpus/model_load
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
};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make-fuzz-corpus DIR\n");
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
        snprintf(path, sizeof path, "%s/%s", argv[1], seeds[i].file);
        if (nn_net_save(net, path, &err) != NN_OK) {
            fprintf(stderr, "make-fuzz-corpus: %s\n", err.msg);
            return 1;
        }
        nn_net_free(net);
    }
    /* The first seed cut in the middle of its weights. */
    snprintf(path, sizeof path, "%s/%s", argv[1], seeds[0].file);
    FILE *f = fopen(path, "rb");
    static unsigned char buf[1 << 16];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f)
        fclose(f);
    if (n < 16) {
        fprintf(stderr, "make-fuzz-corpus: cannot read back %s\n", path);
        return 1;
    }
    snprintf(path, sizeof path, "%s/truncated.nnm", argv[1]);
    if (nn_write_file_atomic(path, buf, n * 2 / 3, &err) != NN_OK) {
        fprintf(stderr, "make-fuzz-corpus: %s\n", err.msg);
        return 1;
    }
    return 0;
}

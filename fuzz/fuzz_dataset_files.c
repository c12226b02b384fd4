/* fuzz_dataset_files.c - libFuzzer target for the data set file parsers.
 *
 * Happy House's .npy arrays and MNIST's IDX files are read from wherever the
 * user points --data; any byte string must parse to an array whose every
 * element is readable or fail with a message naming the input. The first byte
 * picks the parser: even for .npy, odd for IDX. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "datasets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *body = data + 1;
    size_t n = size - 1;
    char err[512];
    err[0] = 0;
    if (data[0] & 1) {
        ds_idx a;
        if (ds_idx_parse(body, n, "fuzz", &a, err, sizeof err) == DS_OK) {
            size_t count = 1;
            for (int d = 0; d < a.ndim; d++)
                count *= a.dims[d];
            /* the data is the bytes after the header, exactly */
            if (a.ndim < 1 || count != a.count || n != 4 + 4 * (size_t)a.ndim + count ||
                memcmp(a.data, body + n - count, count) != 0)
                __builtin_trap();
            ds_idx_free(&a);
        } else if (!strstr(err, "fuzz")) {
            __builtin_trap(); /* a failure must say what failed and where */
        }
        return 0;
    }
    ds_npy a;
    if (ds_npy_parse(body, n, "fuzz", &a, err, sizeof err) == DS_OK) {
        size_t count = 1;
        for (int d = 0; d < a.ndim; d++)
            count *= (size_t)a.shape[d];
        if (count != a.count || (count && !a.data))
            __builtin_trap();
        double sum = 0; /* every element must be readable (ASan checks) */
        for (size_t i = 0; i < a.count; i++)
            sum += ds_npy_get(&a, i);
        (void)sum;
        ds_npy_free(&a);
    } else if (!strstr(err, "fuzz")) {
        __builtin_trap();
    }
    return 0;
}

/* test_ds_files.c - the .npy and IDX parsers on files written here: good
 * ones (v1, v2, Fortran order, big-endian) and malformed ones, each of which
 * must fail with a message naming the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datasets.h"

#include "../test_check.h"
static char dir[] = "/tmp/ds-files-XXXXXX";

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

/* A .npy of version major with header dict text and payload. */
static size_t make_npy(uint8_t *buf, int major, const char *dict, const void *payload, size_t plen)
{
    size_t pre = major == 1 ? 10 : 12;
    size_t hl = strlen(dict) + 1;
    size_t pad = (64 - (pre + hl) % 64) % 64;
    hl += pad;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (uint8_t)major;
    buf[7] = 0;
    if (major == 1) {
        buf[8] = (uint8_t)hl;
        buf[9] = (uint8_t)(hl >> 8);
    } else {
        buf[8] = (uint8_t)hl;
        buf[9] = (uint8_t)(hl >> 8);
        buf[10] = buf[11] = 0;
    }
    memcpy(buf + pre, dict, strlen(dict));
    memset(buf + pre + strlen(dict), ' ', pad);
    buf[pre + hl - 1] = '\n';
    memcpy(buf + pre + hl, payload, plen);
    return pre + hl + plen;
}

static void expect_npy_error(const char *name, const uint8_t *buf, size_t n, const char *needle)
{
    char path[256], err[1024] = "";
    snprintf(path, sizeof path, "%s/%s", dir, name);
    write_file(path, buf, n);
    ds_npy a;
    ds_status st = ds_npy_read(path, &a, err, sizeof err);
    CHECK(st == DS_ERR_FORMAT);
    CHECK(strstr(err, path) != NULL);
    if (needle && !strstr(err, needle)) {
        fprintf(stderr, "%s: message '%s' lacks '%s'\n", name, err, needle);
        test_failures++;
    }
    CHECK(a.data == NULL);
}

static void test_npy(void)
{
    uint8_t buf[4096];
    uint8_t px[24];
    for (int i = 0; i < 24; i++)
        px[i] = (uint8_t)(i * 7);
    char err[1024];
    ds_npy a;

    /* v1, C order, uint8 (2, 3, 4) */
    size_t n = make_npy(buf, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3, 4), }", px, 24);
    CHECK(ds_npy_parse(buf, n, "mem", &a, err, sizeof err) == DS_OK);
    CHECK(a.ndim == 3 && a.shape[0] == 2 && a.shape[1] == 3 && a.shape[2] == 4 && a.count == 24);
    CHECK(a.dtype == DS_DT_U8 && ds_npy_get(&a, 5) == 35);
    ds_npy_free(&a);

    /* v2 header, int64 labels (3, 1) little-endian */
    int64_t lab[3] = {1, 0, 1};
    n = make_npy(buf, 2, "{'descr': '<i8', 'fortran_order': False, 'shape': (3, 1), }", lab, sizeof lab);
    CHECK(ds_npy_parse(buf, n, "mem", &a, err, sizeof err) == DS_OK);
    CHECK(a.dtype == DS_DT_I64 && a.count == 3 && ds_npy_get(&a, 0) == 1 && ds_npy_get(&a, 1) == 0);
    ds_npy_free(&a);

    /* big-endian int32 */
    uint8_t be[8] = {0, 0, 1, 2, 0xff, 0xff, 0xff, 0xfe};
    n = make_npy(buf, 1, "{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }", be, 8);
    CHECK(ds_npy_parse(buf, n, "mem", &a, err, sizeof err) == DS_OK);
    CHECK(ds_npy_get(&a, 0) == 258 && ds_npy_get(&a, 1) == -2);
    ds_npy_free(&a);

    /* Fortran order (2, 3): file holds columns; element [i][j] = 10*i + j */
    uint8_t f[6] = {0, 10, 1, 11, 2, 12};
    n = make_npy(buf, 1, "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3), }", f, 6);
    CHECK(ds_npy_parse(buf, n, "mem", &a, err, sizeof err) == DS_OK);
    static const int c_order[6] = {0, 1, 2, 10, 11, 12};
    for (int i = 0; i < 6; i++)
        CHECK(ds_npy_get(&a, (size_t)i) == c_order[i]);
    ds_npy_free(&a);

    /* the malformed ones */
    memcpy(buf, "\x93NUMPX", 6);
    expect_npy_error("magic.npy", buf, 64, "magic");
    n = make_npy(buf, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3, 4), }", px, 24);
    buf[8] = 0xff;
    buf[9] = 0x7f; /* header length past the end */
    expect_npy_error("hlen.npy", buf, n, "past the end");
    n = make_npy(buf, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3, 4), }", px, 20);
    expect_npy_error("short.npy", buf, n, "need 24");
    n = make_npy(buf, 1, "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", px, 16);
    expect_npy_error("dtype.npy", buf, n, "not supported");
    n = make_npy(buf, 1, "{'descr': '|u1', 'shape': (2,), }", px, 2);
    expect_npy_error("nofortran.npy", buf, n, "fortran_order");
    n = make_npy(buf, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, x), }", px, 2);
    expect_npy_error("shape.npy", buf, n, "shape");
    n = make_npy(buf, 9, "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", px, 2);
    expect_npy_error("version.npy", buf, n, "version");
    expect_npy_error("tiny.npy", (const uint8_t *)"\x93NU", 3, NULL);

    /* a missing file is an I/O error naming it */
    ds_status st = ds_npy_read("/nonexistent/x.npy", &a, err, sizeof err);
    CHECK(st == DS_ERR_IO && strstr(err, "/nonexistent/x.npy"));
}

static void test_idx(void)
{
    uint8_t buf[64];
    char err[1024], path[256];
    ds_idx a;
    /* (2, 2, 3) images */
    uint8_t hdr[16] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3};
    memcpy(buf, hdr, 16);
    for (int i = 0; i < 12; i++)
        buf[16 + i] = (uint8_t)i;
    CHECK(ds_idx_parse(buf, 28, "mem", &a, err, sizeof err) == DS_OK);
    CHECK(a.ndim == 3 && a.dims[0] == 2 && a.dims[2] == 3 && a.count == 12 && a.data[11] == 11);
    ds_idx_free(&a);

    snprintf(path, sizeof path, "%s/trunc-idx3-ubyte", dir);
    write_file(path, buf, 25);
    CHECK(ds_idx_read(path, &a, err, sizeof err) == DS_ERR_FORMAT);
    CHECK(strstr(err, path) && strstr(err, "truncated"));
    CHECK(a.data == NULL);

    snprintf(path, sizeof path, "%s/hdr-idx3-ubyte", dir);
    write_file(path, buf, 10);
    CHECK(ds_idx_read(path, &a, err, sizeof err) == DS_ERR_FORMAT && strstr(err, path));

    buf[2] = 0x0D; /* float elements: not MNIST bytes */
    snprintf(path, sizeof path, "%s/type-idx3-ubyte", dir);
    write_file(path, buf, 28);
    CHECK(ds_idx_read(path, &a, err, sizeof err) == DS_ERR_FORMAT && strstr(err, "0x0d"));

    buf[0] = 1;
    CHECK(ds_idx_parse(buf, 28, "mem", &a, err, sizeof err) == DS_ERR_FORMAT);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_npy();
    test_idx();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return test_done("ds-files");
}

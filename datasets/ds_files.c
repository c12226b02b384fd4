/* ds_files.c - NumPy .npy and MNIST IDX parsers: every size is checked
 * against the file before anything is allocated or copied. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "datasets.h"
#include "ds_internal.h"

void ds_err(char *err, size_t len, const char *fmt, ...)
{
    if (!err || !len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

const char *ds_status_str(ds_status st)
{
    switch (st) {
    case DS_OK: return "ok";
    case DS_ERR_ARG: return "bad argument";
    case DS_ERR_IO: return "cannot read";
    case DS_ERR_FORMAT: return "malformed dataset file";
    case DS_ERR_IMAGE: return "corrupt image";
    case DS_ERR_NOMEM: return "out of memory";
    case DS_ERR_FACE: return "face detector unavailable";
    }
    return "unknown status";
}

ds_status ds_read_whole(const char *path, uint8_t **buf, size_t *size, char *err, size_t errlen)
{
    *buf = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        ds_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return DS_ERR_IO;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    if (!b) {
        fclose(f);
        ds_err(err, errlen, "%s: out of memory", path);
        return DS_ERR_NOMEM;
    }
    for (;;) {
        if (n == cap) {
            uint8_t *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                fclose(f);
                ds_err(err, errlen, "%s: out of memory", path);
                return DS_ERR_NOMEM;
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(b);
        ds_err(err, errlen, "%s: read error", path);
        return DS_ERR_IO;
    }
    *buf = b;
    *size = n;
    return DS_OK;
}

/* ------------------------------------------------------------------ npy */

static size_t dtype_size(ds_dtype t)
{
    switch (t) {
    case DS_DT_U8: case DS_DT_I8: return 1;
    case DS_DT_I16: return 2;
    case DS_DT_I32: case DS_DT_F32: return 4;
    case DS_DT_I64: case DS_DT_F64: return 8;
    }
    return 0;
}

/* Finds 'key': in the header dict and returns a pointer just past the colon. */
static const char *dict_value(const char *h, const char *key)
{
    char pat[32];
    const char *q[2] = {"'", "\""};
    for (int i = 0; i < 2; i++) {
        snprintf(pat, sizeof pat, "%s%s%s", q[i], key, q[i]);
        const char *p = strstr(h, pat);
        if (p) {
            p += strlen(pat);
            while (*p == ' ')
                p++;
            if (*p != ':')
                return NULL;
            p++;
            while (*p == ' ')
                p++;
            return p;
        }
    }
    return NULL;
}

static int parse_descr(const char *v, ds_dtype *t, int *big_endian)
{
    char q = *v;
    if (q != '\'' && q != '"')
        return -1;
    const char *e = strchr(v + 1, q);
    if (!e || e - v - 1 < 2 || e - v - 1 > 8)
        return -1;
    char d[9] = {0};
    memcpy(d, v + 1, (size_t)(e - v - 1));
    char order = d[0];
    const char *code = d + 1;
    if (order != '<' && order != '>' && order != '|' && order != '=')
        return -1;
    *big_endian = order == '>';
    if (!strcmp(code, "u1") || !strcmp(code, "b1")) *t = DS_DT_U8;
    else if (!strcmp(code, "i1")) *t = DS_DT_I8;
    else if (!strcmp(code, "i2")) *t = DS_DT_I16;
    else if (!strcmp(code, "i4")) *t = DS_DT_I32;
    else if (!strcmp(code, "i8")) *t = DS_DT_I64;
    else if (!strcmp(code, "f4")) *t = DS_DT_F32;
    else if (!strcmp(code, "f8")) *t = DS_DT_F64;
    else return -2;
    return 0;
}

void ds_npy_free(ds_npy *a)
{
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

ds_status ds_npy_parse(const uint8_t *buf, size_t size, const char *origin, ds_npy *out, char *err,
                       size_t errlen)
{
    memset(out, 0, sizeof *out);
    static const uint8_t magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    if (size < 10 || memcmp(buf, magic, 6)) {
        ds_err(err, errlen, "%s: not a NumPy .npy file (bad magic)", origin);
        return DS_ERR_FORMAT;
    }
    int major = buf[6];
    size_t hlen, hoff;
    if (major == 1) {
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
        hoff = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12) {
            ds_err(err, errlen, "%s: truncated .npy header", origin);
            return DS_ERR_FORMAT;
        }
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        hoff = 12;
    } else {
        ds_err(err, errlen, "%s: .npy format version %d.%d is not supported (1, 2 or 3)", origin,
               major, buf[7]);
        return DS_ERR_FORMAT;
    }
    if (hlen > size - hoff || hlen > (1u << 20)) {
        ds_err(err, errlen, "%s: .npy header of %zu bytes runs past the end of the file (%zu bytes)",
               origin, hlen, size);
        return DS_ERR_FORMAT;
    }
    char *h = malloc(hlen + 1);
    if (!h) {
        ds_err(err, errlen, "%s: out of memory", origin);
        return DS_ERR_NOMEM;
    }
    memcpy(h, buf + hoff, hlen);
    h[hlen] = 0;
    ds_status st = DS_ERR_FORMAT;
    const char *v;
    int big = 0, fortran = 0;
    if (!strchr(h, '{') || !strchr(h, '}')) {
        ds_err(err, errlen, "%s: .npy header is not a dict: '%.60s'", origin, h);
        goto done;
    }
    if (!(v = dict_value(h, "descr"))) {
        ds_err(err, errlen, "%s: .npy header has no 'descr'", origin);
        goto done;
    }
    int r = parse_descr(v, &out->dtype, &big);
    if (r) {
        ds_err(err, errlen, "%s: .npy dtype %.12s is %s", origin, v,
               r == -2 ? "not supported (u1 i1 i2 i4 i8 f4 f8)" : "malformed");
        goto done;
    }
    if (!(v = dict_value(h, "fortran_order"))) {
        ds_err(err, errlen, "%s: .npy header has no 'fortran_order'", origin);
        goto done;
    }
    if (!strncmp(v, "True", 4))
        fortran = 1;
    else if (strncmp(v, "False", 5)) {
        ds_err(err, errlen, "%s: .npy fortran_order is neither True nor False", origin);
        goto done;
    }
    if (!(v = dict_value(h, "shape")) || *v != '(') {
        ds_err(err, errlen, "%s: .npy header has no 'shape' tuple", origin);
        goto done;
    }
    v++;
    size_t count = 1;
    for (;;) {
        while (*v == ' ' || *v == ',')
            v++;
        if (*v == ')')
            break;
        if (!isdigit((unsigned char)*v)) {
            ds_err(err, errlen, "%s: .npy shape is malformed near '%.10s'", origin, v);
            goto done;
        }
        char *end;
        errno = 0;
        long long d = strtoll(v, &end, 10);
        if (errno || d < 0 || d > (1ll << 40) || out->ndim == 8) {
            ds_err(err, errlen, "%s: .npy shape has a bad or too many dimensions", origin);
            goto done;
        }
        if (d && count > ((size_t)1 << 40) / (size_t)d) {
            ds_err(err, errlen, "%s: .npy shape is too large", origin);
            goto done;
        }
        out->shape[out->ndim++] = d;
        count *= (size_t)d;
        v = end;
    }
    size_t es = dtype_size(out->dtype);
    size_t off = hoff + hlen;
    if (count * es != size - off) {
        ds_err(err, errlen, "%s: .npy data is %zu bytes but its shape and dtype need %zu", origin,
               size - off, count * es);
        goto done;
    }
    out->count = count;
    out->data = malloc(count * es > 0 ? count * es : 1);
    if (!out->data) {
        ds_err(err, errlen, "%s: out of memory", origin);
        st = DS_ERR_NOMEM;
        goto done;
    }
    const uint8_t *src = buf + off;
    uint8_t *dst = out->data;
    /* Byte order: swap when the file's differs from ours (little-endian hosts). */
    int swap = big && es > 1;
    if (fortran && out->ndim > 1) {
        /* Fortran order: the first index varies fastest. Reorder to C order. */
        int64_t idx[8] = {0};
        for (size_t i = 0; i < count; i++) {
            size_t fo = 0, stride = 1;
            for (int d = 0; d < out->ndim; d++) {
                fo += (size_t)idx[d] * stride;
                stride *= (size_t)out->shape[d];
            }
            memcpy(dst + i * es, src + fo * es, es);
            for (int d = out->ndim - 1; d >= 0; d--) {
                if (++idx[d] < out->shape[d])
                    break;
                idx[d] = 0;
            }
        }
    } else {
        memcpy(dst, src, count * es);
    }
    if (swap)
        for (size_t i = 0; i < count; i++)
            for (size_t a = 0, b = es - 1; a < b; a++, b--) {
                uint8_t t = dst[i * es + a];
                dst[i * es + a] = dst[i * es + b];
                dst[i * es + b] = t;
            }
    st = DS_OK;
done:
    free(h);
    if (st != DS_OK)
        ds_npy_free(out);
    return st;
}

ds_status ds_npy_read(const char *path, ds_npy *out, char *err, size_t errlen)
{
    uint8_t *buf;
    size_t size;
    memset(out, 0, sizeof *out);
    ds_status st = ds_read_whole(path, &buf, &size, err, errlen);
    if (st)
        return st;
    st = ds_npy_parse(buf, size, path, out, err, errlen);
    free(buf);
    return st;
}

double ds_npy_get(const ds_npy *a, size_t i)
{
    const uint8_t *p = (const uint8_t *)a->data + i * dtype_size(a->dtype);
    switch (a->dtype) {
    case DS_DT_U8: return *p;
    case DS_DT_I8: return (int8_t)*p;
    case DS_DT_I16: { int16_t v; memcpy(&v, p, 2); return v; }
    case DS_DT_I32: { int32_t v; memcpy(&v, p, 4); return v; }
    case DS_DT_I64: { int64_t v; memcpy(&v, p, 8); return (double)v; }
    case DS_DT_F32: { float v; memcpy(&v, p, 4); return v; }
    case DS_DT_F64: { double v; memcpy(&v, p, 8); return v; }
    }
    return 0;
}

/* ------------------------------------------------------------------ IDX */

void ds_idx_free(ds_idx *a)
{
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

ds_status ds_idx_parse(const uint8_t *buf, size_t size, const char *origin, ds_idx *out, char *err,
                       size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (size < 4 || buf[0] || buf[1]) {
        ds_err(err, errlen, "%s: not an IDX file (the magic must start with two zero bytes)", origin);
        return DS_ERR_FORMAT;
    }
    if (buf[2] != 0x08) {
        ds_err(err, errlen, "%s: IDX element type 0x%02x is not supported (only 0x08, unsigned byte)",
               origin, buf[2]);
        return DS_ERR_FORMAT;
    }
    int nd = buf[3];
    if (nd < 1 || nd > 4) {
        ds_err(err, errlen, "%s: IDX with %d dimensions (1 to 4 expected)", origin, nd);
        return DS_ERR_FORMAT;
    }
    if (size < 4 + 4 * (size_t)nd) {
        ds_err(err, errlen, "%s: IDX header truncated (%zu bytes)", origin, size);
        return DS_ERR_FORMAT;
    }
    size_t count = 1;
    for (int d = 0; d < nd; d++) {
        const uint8_t *p = buf + 4 + 4 * d;
        uint32_t v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        out->dims[d] = v;
        if (v && count > ((size_t)1 << 40) / v) {
            ds_err(err, errlen, "%s: IDX dimensions too large", origin);
            return DS_ERR_FORMAT;
        }
        count *= v;
    }
    out->ndim = nd;
    size_t off = 4 + 4 * (size_t)nd;
    if (size - off != count) {
        ds_err(err, errlen, "%s: IDX data is %zu bytes but its dimensions need %zu (%s)", origin,
               size - off, count, size - off < count ? "truncated" : "trailing bytes");
        out->ndim = 0;
        return DS_ERR_FORMAT;
    }
    out->count = count;
    out->data = malloc(count ? count : 1);
    if (!out->data) {
        ds_err(err, errlen, "%s: out of memory", origin);
        return DS_ERR_NOMEM;
    }
    memcpy(out->data, buf + off, count);
    return DS_OK;
}

ds_status ds_idx_read(const char *path, ds_idx *out, char *err, size_t errlen)
{
    uint8_t *buf;
    size_t size;
    memset(out, 0, sizeof *out);
    ds_status st = ds_read_whole(path, &buf, &size, err, errlen);
    if (st)
        return st;
    st = ds_idx_parse(buf, size, path, out, err, errlen);
    free(buf);
    return st;
}

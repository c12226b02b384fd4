/* nn_model_file.c - self-describing model files (layout in nn/README.md),
 * CRC32, and atomic file writes. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn_internal.h"

#define NN_MODEL_VERSION 1u
#define NN_MAX_FILE ((size_t)1 << 32)

/* ------------------------------------------------------------ CRC32 */

/* IEEE 802.3 polynomial, reflected (the zlib/PNG CRC); table built once. */
static uint32_t crc_table[256];
static int crc_ready;

uint32_t nn_crc32(uint32_t crc, const void *data, size_t n)
{
    if (!__atomic_load_n(&crc_ready, __ATOMIC_ACQUIRE)) {
        uint32_t t[256];
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        /* racing threads write identical values */
        for (int i = 0; i < 256; i++)
            __atomic_store_n(&crc_table[i], t[i], __ATOMIC_RELAXED);
        __atomic_store_n(&crc_ready, 1, __ATOMIC_RELEASE);
    }
    const uint8_t *p = data;
    crc = ~crc;
    for (size_t i = 0; i < n; i++)
        crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* ------------------------------------------------------------ writer */

void nn_buf_put(nn_buf *b, const void *d, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t nc = b->cap ? b->cap : 4096;
        while (nc < b->len + n)
            nc *= 2;
        uint8_t *p = realloc(b->p, nc);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p, b->cap = nc;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

void nn_buf_u32(nn_buf *b, uint32_t v)
{
    uint8_t d[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    nn_buf_put(b, d, 4);
}

void nn_buf_u64(nn_buf *b, uint64_t v)
{
    nn_buf_u32(b, (uint32_t)v);
    nn_buf_u32(b, (uint32_t)(v >> 32));
}

void nn_buf_f32(nn_buf *b, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    nn_buf_u32(b, u);
}

void nn_buf_floats(nn_buf *b, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        nn_buf_f32(b, v[i]);
}

static uint32_t rd_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd_u64(const uint8_t *p) { return rd_u32(p) | (uint64_t)rd_u32(p + 4) << 32; }

static float rd_f32(const uint8_t *p)
{
    uint32_t u = rd_u32(p);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* ------------------------------------------------------------ save */

static int layer_has_block(const nn_layer *l) { return l->n_w + l->n_b + l->n_s > 0; }

nn_status nn_net_serialize(const nn_net *net, nn_buf *b, nn_error *err)
{
    nn_buf_put(b, NN_MODEL_MAGIC, 8);
    nn_buf_u32(b, NN_MODEL_VERSION);
    nn_buf_u32(b, 0); /* flags, reserved */
    size_t size_at = b->len;
    nn_buf_u64(b, 0); /* file size, patched below */
    size_t alen = strlen(net->arch);
    nn_buf_u32(b, (uint32_t)alen);
    nn_buf_put(b, net->arch, alen);
    const nn_input_spec *in = &net->input;
    nn_buf_u32(b, (uint32_t)in->width);
    nn_buf_u32(b, (uint32_t)in->height);
    nn_buf_u32(b, (uint32_t)in->channels);
    nn_buf_u32(b, (uint32_t)in->norm);
    nn_buf_f32(b, in->mean);
    nn_buf_f32(b, in->std);
    nn_buf_f32(b, in->crop.dx);
    nn_buf_f32(b, in->crop.dy);
    nn_buf_f32(b, in->crop.scale);
    nn_buf_u32(b, (uint32_t)(in->equalize != 0) | (uint32_t)(in->flip_average != 0) << 1);
    nn_buf_u32(b, (uint32_t)net->n_meta);
    for (int i = 0; i < net->n_meta; i++) {
        size_t kl = strlen(net->meta[i].key), vl = strlen(net->meta[i].value);
        nn_buf_u32(b, (uint32_t)kl);
        nn_buf_put(b, net->meta[i].key, kl);
        nn_buf_u32(b, (uint32_t)vl);
        nn_buf_put(b, net->meta[i].value, vl);
    }
    uint32_t nblocks = 0;
    for (int i = 0; i < net->n_layers; i++)
        nblocks += layer_has_block(&net->layers[i]);
    nn_buf_u32(b, nblocks);
    for (int i = 0; i < net->n_layers; i++) {
        const nn_layer *l = &net->layers[i];
        if (!layer_has_block(l))
            continue;
        nn_buf_u32(b, (uint32_t)i);
        nn_buf_u32(b, (uint32_t)l->kind);
        nn_buf_u64(b, l->n_w + l->n_b + l->n_s);
        nn_buf_floats(b, net->params + l->w_off, l->n_w + l->n_b);
        nn_buf_floats(b, net->state + l->s_off, l->n_s);
    }
    if (b->oom) {
        nn_seterr(err, "out of memory serialising the model");
        return NN_ERR_NOMEM;
    }
    size_t total = b->len + 4;
    for (int k = 0; k < 8; k++)
        b->p[size_at + (size_t)k] = (uint8_t)((uint64_t)total >> (8 * k));
    nn_buf_u32(b, nn_crc32(0, b->p, b->len));
    if (b->oom) {
        nn_seterr(err, "out of memory serialising the model");
        return NN_ERR_NOMEM;
    }
    return NN_OK;
}

nn_status nn_net_save(const nn_net *net, const char *path, nn_error *err)
{
    if (!net || !path) {
        nn_seterr(err, "nn_net_save: NULL argument");
        return NN_ERR_ARG;
    }
    nn_buf b = {0};
    nn_status st = nn_net_serialize(net, &b, err);
    if (st == NN_OK)
        st = nn_write_file_atomic(path, b.p, b.len, err);
    free(b.p);
    return st;
}

/* ------------------------------------------------------------ load */

typedef struct {
    const uint8_t *d;
    size_t size, pos;
    const char *origin;
    nn_error *err;
} reader;

/* Is there room for n more bytes? If not, say what was cut off and where. */
static int need(reader *r, uint64_t n, const char *what)
{
    if (n <= r->size - r->pos)
        return 1;
    nn_seterr(r->err, "%s: truncated at byte %zu: expected %llu bytes of %s at offset %zu",
              r->origin, r->size, (unsigned long long)n, what, r->pos);
    return 0;
}

static int get_u32(reader *r, uint32_t *v, const char *what)
{
    if (!need(r, 4, what))
        return 0;
    *v = rd_u32(r->d + r->pos);
    r->pos += 4;
    return 1;
}

static int get_u64(reader *r, uint64_t *v, const char *what)
{
    if (!need(r, 8, what))
        return 0;
    *v = rd_u64(r->d + r->pos);
    r->pos += 8;
    return 1;
}

static char *get_str(reader *r, const char *what)
{
    uint32_t n;
    char lw[96];
    snprintf(lw, sizeof lw, "length of %s", what);
    if (!get_u32(r, &n, lw) || !need(r, n, what))
        return NULL;
    if (memchr(r->d + r->pos, 0, n)) {
        nn_seterr(r->err, "%s: byte %zu: %s contains a NUL byte", r->origin, r->pos, what);
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (!s) {
        nn_seterr(r->err, "%s: out of memory", r->origin);
        return NULL;
    }
    memcpy(s, r->d + r->pos, n);
    s[n] = 0;
    r->pos += n;
    return s;
}

nn_status nn_net_load_memory(const void *data, size_t size, const char *origin, nn_net **out,
                             nn_error *err)
{
    if (!out || (!data && size)) {
        nn_seterr(err, "nn_net_load_memory: NULL argument");
        return NN_ERR_ARG;
    }
    *out = NULL;
    if (!origin)
        origin = "model";
    reader r = {data, size, 0, origin, err};
    nn_net *net = NULL;
    char *arch = NULL;
    nn_status st = NN_ERR_FORMAT;
    if (size >= 8 && memcmp(data, NN_CKPT_MAGIC, 8) == 0) {
        nn_seterr(err, "%s: a training checkpoint, not a model: 'smile-train fit --resume' reads "
                  "it, and fit writes the model beside it", origin);
        return NN_ERR_FORMAT;
    }
    if (size < 8 || memcmp(data, NN_MODEL_MAGIC, 8) != 0) {
        nn_seterr(err, "%s: not a smile-detector model file (no '%s' magic at byte 0)", origin,
                  NN_MODEL_MAGIC);
        return NN_ERR_FORMAT;
    }
    r.pos = 8;
    uint32_t version, flags;
    uint64_t fsize;
    if (!get_u32(&r, &version, "format version"))
        return NN_ERR_FORMAT;
    if (version != NN_MODEL_VERSION) {
        nn_seterr(err, "%s: model format version %u; this build reads version %u", origin,
                  version, NN_MODEL_VERSION);
        return NN_ERR_VERSION;
    }
    if (!get_u32(&r, &flags, "flags") || !get_u64(&r, &fsize, "file size"))
        return NN_ERR_FORMAT;
    /* When the recorded size matches, check the CRC first: a flipped byte is
     * then reported as damage, not as whatever it turned into. */
    if (fsize == size && size >= 28) {
        uint32_t want = rd_u32(r.d + size - 4), got = nn_crc32(0, data, size - 4);
        if (want != got) {
            nn_seterr(err, "%s: damaged: checksum %08x does not match the stored %08x", origin,
                      got, want);
            return NN_ERR_CHECKSUM;
        }
    }
    if (flags != 0) {
        nn_seterr(err, "%s: byte 12: unknown flags 0x%x", origin, flags);
        return NN_ERR_FORMAT;
    }
    arch = get_str(&r, "architecture text");
    if (!arch)
        return NN_ERR_FORMAT;
    char aorigin[300];
    snprintf(aorigin, sizeof aorigin, "%s: architecture", origin);
    st = nn_net_parse(arch, aorigin, &net, err);
    free(arch);
    if (st)
        return st == NN_ERR_NOMEM ? st : NN_ERR_FORMAT;
    st = NN_ERR_FORMAT;
    if (!need(&r, 40, "input description"))
        goto fail;
    const uint8_t *p = r.d + r.pos;
    nn_input_spec in;
    in.width = (int)rd_u32(p);
    in.height = (int)rd_u32(p + 4);
    in.channels = (int)rd_u32(p + 8);
    uint32_t norm = rd_u32(p + 12);
    in.norm = norm <= NN_NORM_MEANSTD ? (nn_norm)norm : NN_NORM_UNIT;
    in.mean = rd_f32(p + 16);
    in.std = rd_f32(p + 20);
    in.crop.dx = rd_f32(p + 24);
    in.crop.dy = rd_f32(p + 28);
    in.crop.scale = rd_f32(p + 32);
    uint32_t in_flags = rd_u32(p + 36); /* bit 0 equalize, bit 1 flip average */
    in.equalize = in_flags & 1u;
    in.flip_average = (in_flags >> 1) & 1u;
    nn_error e2;
    if (norm > NN_NORM_MEANSTD || in_flags > 3u || nn_net_set_input(net, &in, &e2)) {
        nn_seterr(err, "%s: byte %zu: bad input description: %s", origin, r.pos,
                  norm > NN_NORM_MEANSTD ? "unknown normalisation"
                  : in_flags > 3u        ? "unknown input flags (a newer model format?)"
                                         : e2.msg);
        goto fail;
    }
    r.pos += 40;
    uint32_t nmeta;
    if (!get_u32(&r, &nmeta, "metadata count"))
        goto fail;
    for (uint32_t i = 0; i < nmeta; i++) {
        char *k = get_str(&r, "metadata key");
        char *v = k ? get_str(&r, "metadata value") : NULL;
        if (!v || !*k) {
            if (k && v)
                nn_seterr(err, "%s: byte %zu: empty metadata key", origin, r.pos);
            free(k);
            free(v);
            goto fail;
        }
        nn_status ms = nn_net_set_meta(net, k, v);
        free(k);
        free(v);
        if (ms) {
            nn_seterr(err, "%s: out of memory", origin);
            st = NN_ERR_NOMEM;
            goto fail;
        }
    }
    uint32_t nblocks, want_blocks = 0;
    for (int i = 0; i < net->n_layers; i++)
        want_blocks += layer_has_block(&net->layers[i]);
    if (!get_u32(&r, &nblocks, "weight block count"))
        goto fail;
    if (nblocks != want_blocks) {
        nn_seterr(err, "%s: byte %zu: %u weight blocks, but the architecture has %u layers with "
                  "weights", origin, r.pos - 4, nblocks, want_blocks);
        goto fail;
    }
    /* pass 1: every block's header and size, before allocating */
    size_t blocks_at = r.pos;
    for (int i = 0; i < net->n_layers; i++) {
        const nn_layer *l = &net->layers[i];
        if (!layer_has_block(l))
            continue;
        char what[96];
        const char *kn = nn_layer_kind_name(l->kind);
        uint32_t idx, kind;
        uint64_t nf;
        snprintf(what, sizeof what, "block header for layer %d (%s)", i, kn);
        if (!need(&r, 16, what))
            goto fail;
        idx = rd_u32(r.d + r.pos);
        kind = rd_u32(r.d + r.pos + 4);
        nf = rd_u64(r.d + r.pos + 8);
        if (idx != (uint32_t)i || kind != (uint32_t)l->kind || nf != l->n_w + l->n_b + l->n_s) {
            nn_seterr(err, "%s: byte %zu: weight block says layer %u (%s) with %llu values; "
                      "the architecture expects layer %d (%s) with %zu", origin, r.pos, idx,
                      nn_layer_kind_name((int)kind), (unsigned long long)nf, i, kn,
                      l->n_w + l->n_b + l->n_s);
            goto fail;
        }
        r.pos += 16;
        snprintf(what, sizeof what, "weights for layer %d (%s)", i, kn);
        if (!need(&r, nf * 4, what))
            goto fail;
        r.pos += (size_t)nf * 4;
    }
    if (!need(&r, 4, "checksum"))
        goto fail;
    if (r.pos + 4 != size) {
        nn_seterr(err, "%s: %zu unexpected bytes after the checksum at byte %zu", origin,
                  size - r.pos - 4, r.pos);
        goto fail;
    }
    if (fsize != size) {
        nn_seterr(err, "%s: the header says the file has %llu bytes, but it has %zu", origin,
                  (unsigned long long)fsize, size);
        goto fail;
    }
    /* (the CRC was verified above since fsize == size) */
    st = nn_net_alloc_params(net, err);
    if (st)
        goto fail;
    r.pos = blocks_at;
    for (int i = 0; i < net->n_layers; i++) {
        const nn_layer *l = &net->layers[i];
        if (!layer_has_block(l))
            continue;
        r.pos += 16;
        float *wp = net->params + l->w_off;
        for (size_t k = 0; k < l->n_w + l->n_b; k++, r.pos += 4)
            wp[k] = rd_f32(r.d + r.pos);
        float *sp = net->state + l->s_off;
        for (size_t k = 0; k < l->n_s; k++, r.pos += 4)
            sp[k] = rd_f32(r.d + r.pos);
        if (l->kind == NN_L_BATCHNORM)
            for (int c = 0; c < l->in_c; c++)
                if (!(sp[l->in_c + c] >= 0.0f)) {
                    nn_seterr(err, "%s: layer %d (batchnorm): running variance %g is negative",
                              origin, i, (double)sp[l->in_c + c]);
                    st = NN_ERR_FORMAT;
                    goto fail;
                }
    }
    *out = net;
    return NN_OK;
fail:
    nn_net_free(net);
    return st;
}

nn_status nn_read_file(const char *path, uint8_t **data, size_t *size, nn_error *err)
{
    *data = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        nn_seterr(err, "%s: cannot open: %s", path, strerror(errno));
        return NN_ERR_IO;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > NN_MAX_FILE) {
        nn_seterr(err, "%s: not a regular file of at most 4 GiB", path);
        close(fd);
        return NN_ERR_IO;
    }
    size_t n = (size_t)sb.st_size, got = 0;
    uint8_t *d = malloc(n + 1);
    if (!d) {
        nn_seterr(err, "%s: out of memory for %zu bytes", path, n);
        close(fd);
        return NN_ERR_NOMEM;
    }
    while (got < n) {
        ssize_t k = read(fd, d + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            nn_seterr(err, "%s: read failed: %s", path, strerror(errno));
            free(d);
            close(fd);
            return NN_ERR_IO;
        }
        if (k == 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    *data = d;
    *size = got;
    return NN_OK;
}

nn_status nn_net_load(const char *path, nn_net **out, nn_error *err)
{
    if (!path || !out) {
        nn_seterr(err, "nn_net_load: NULL argument");
        return NN_ERR_ARG;
    }
    *out = NULL;
    uint8_t *d;
    size_t n;
    nn_status st = nn_read_file(path, &d, &n, err);
    if (st)
        return st;
    st = nn_net_load_memory(d, n, path, out, err);
    free(d);
    return st;
}

/* ------------------------------------------------------------ atomic write */

nn_status nn_write_file_atomic(const char *path, const void *data, size_t size, nn_error *err)
{
    if (!path || (!data && size)) {
        nn_seterr(err, "nn_write_file_atomic: NULL argument");
        return NN_ERR_ARG;
    }
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 16);
    if (!tmp) {
        nn_seterr(err, "%s: out of memory", path);
        return NN_ERR_NOMEM;
    }
    memcpy(tmp, path, pl);
    memcpy(tmp + pl, ".tmp-XXXXXX", 12);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        nn_seterr(err, "%s: cannot create a temporary file beside it: %s", path, strerror(errno));
        free(tmp);
        return NN_ERR_IO;
    }
    const uint8_t *p = data;
    size_t done = 0;
    const char *fail = NULL;
    while (done < size) {
        ssize_t k = write(fd, p + done, size - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            fail = "write";
            break;
        }
        done += (size_t)k;
    }
    /* mkstemp makes 0600; models and outputs are for everyone to read */
    if (!fail && fchmod(fd, 0644) != 0)
        fail = "chmod";
    if (!fail && fsync(fd) != 0)
        fail = "fsync";
    if (close(fd) != 0 && !fail)
        fail = "close";
    if (!fail && rename(tmp, path) != 0)
        fail = "rename";
    if (fail) {
        nn_seterr(err, "%s: %s failed: %s (nothing was replaced)", path, fail, strerror(errno));
        unlink(tmp);
        free(tmp);
        return NN_ERR_IO;
    }
    /* make the rename itself durable */
    char *dircopy = strdup(path);
    if (dircopy) {
        int dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
        free(dircopy);
    }
    free(tmp);
    return NN_OK;
}

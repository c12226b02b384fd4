/* avi_writer.c - MJPEG AVI 1.0 writer: fixed-size headers, frames appended
 * to the movi list as '00dc' chunks, idx1 (kept in memory, 16 bytes a frame)
 * written and header sizes patched on close, then fsync + rename. */
#include "avi_writer.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_io.h"

#define AVI_LIMIT (1ull << 30) /* RIFF 1.0 files stay under 1 GiB */

/* Fixed layout of what precedes the first frame. */
enum {
    OFF_RIFF_SIZE = 4,
    OFF_AVIH = 32,           /* avih data */
    OFF_STRH = 108,          /* strh data */
    OFF_MOVI_SIZE = 216,     /* LIST size of movi */
    OFF_MOVI_FCC = 220,      /* 'movi': idx1 offsets count from here */
    HEADER_BYTES = 224,
};

struct cap_avi_writer {
    FILE *fp;
    char path[4096];
    char tmp[4200];
    int width, height;
    uint32_t rate, scale;
    uint64_t size;       /* bytes written so far */
    uint8_t *idx;        /* 16 bytes a frame */
    size_t idx_cap;
    int64_t frames;
    uint32_t max_frame;
    int allow_damaged;
    uint64_t limit;
    int full; /* the limit was reached: recording has stopped for good */
    int failed;
    char error[4096 + 1024];
};

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static void put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void build_header(const cap_avi_writer *w, uint8_t *h, uint64_t movi_bytes,
                         uint64_t riff_bytes) {
    memset(h, 0, HEADER_BYTES);
    uint32_t usec = (uint32_t)llround(1e6 * w->scale / w->rate);
    memcpy(h, "RIFF", 4);
    put32(h + 4, (uint32_t)riff_bytes);
    memcpy(h + 8, "AVI LIST", 8);
    put32(h + 16, 192);
    memcpy(h + 20, "hdrlavih", 8);
    put32(h + 28, 56);
    uint8_t *a = h + OFF_AVIH;
    put32(a + 0, usec);
    put32(a + 4, (uint32_t)((uint64_t)w->max_frame * w->rate / w->scale));
    put32(a + 12, 0x10); /* AVIF_HASINDEX */
    put32(a + 16, (uint32_t)w->frames);
    put32(a + 24, 1); /* streams */
    put32(a + 28, w->max_frame);
    put32(a + 32, (uint32_t)w->width);
    put32(a + 36, (uint32_t)w->height);
    memcpy(h + 88, "LIST", 4);
    put32(h + 92, 116);
    memcpy(h + 96, "strlstrh", 8);
    put32(h + 104, 56);
    uint8_t *s = h + OFF_STRH;
    memcpy(s, "vidsMJPG", 8);
    put32(s + 20, w->scale);
    put32(s + 24, w->rate);
    put32(s + 32, (uint32_t)w->frames);
    put32(s + 36, w->max_frame);
    put32(s + 40, 0xffffffffu); /* quality: default */
    put16(s + 52, (uint16_t)w->width);
    put16(s + 54, (uint16_t)w->height);
    memcpy(h + 164, "strf", 4);
    put32(h + 168, 40);
    uint8_t *b = h + 172; /* BITMAPINFOHEADER */
    put32(b, 40);
    put32(b + 4, (uint32_t)w->width);
    put32(b + 8, (uint32_t)w->height);
    put16(b + 12, 1);
    put16(b + 14, 24);
    memcpy(b + 16, "MJPG", 4);
    put32(b + 20, (uint32_t)w->width * (uint32_t)w->height * 3);
    memcpy(h + 212, "LIST", 4);
    put32(h + OFF_MOVI_SIZE, (uint32_t)movi_bytes);
    memcpy(h + OFF_MOVI_FCC, "movi", 4);
}

static int fail(cap_avi_writer *w, const char *what) {
    snprintf(w->error, sizeof(w->error), "%s: %s: %s", w->path, what, strerror(errno));
    w->failed = 1;
    return -1;
}

cap_avi_writer *cap_avi_writer_new(const char *path, int width, int height, double fps,
                                   cap_status *st, char *err, size_t errlen) {
    cap_status dummy;
    if (!st) st = &dummy;
    if (!path || width <= 0 || height <= 0 || width > 65535 || height > 65535 || !(fps > 0) ||
        fps > 1000) {
        *st = CAP_UNSUPPORTED;
        snprintf(err, errlen, "%s: bad AVI parameters %dx%d at %g fps", path ? path : "(null)",
                 width, height, fps);
        return NULL;
    }
    cap_avi_writer *w = calloc(1, sizeof(*w));
    if (!w) {
        *st = CAP_NOMEM;
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    snprintf(w->path, sizeof(w->path), "%s", path);
    snprintf(w->tmp, sizeof(w->tmp), "%s.tmp-XXXXXX", path);
    w->width = width;
    w->height = height;
    /* Integer fps stay exact (30/1); others as a rate over 1000. */
    if (fabs(fps - llround(fps)) < 1e-9) {
        w->rate = (uint32_t)llround(fps);
        w->scale = 1;
    } else {
        w->rate = (uint32_t)llround(fps * 1000);
        w->scale = 1000;
    }
    int fd = mkstemp(w->tmp);
    if (fd < 0) {
        *st = errno == EACCES ? CAP_PERMISSION : CAP_IO;
        snprintf(err, errlen, "%s: cannot create %s: %s", path, w->tmp, strerror(errno));
        free(w);
        return NULL;
    }
    mode_t um = umask(0);
    umask(um);
    (void)fchmod(fd, 0666 & ~um);
    w->fp = fdopen(fd, "wb");
    uint8_t h[HEADER_BYTES];
    build_header(w, h, 4, HEADER_BYTES - 8);
    if (!w->fp || fwrite(h, 1, HEADER_BYTES, w->fp) != HEADER_BYTES) {
        *st = CAP_IO;
        snprintf(err, errlen, "%s: cannot write %s: %s", path, w->tmp, strerror(errno));
        if (w->fp) fclose(w->fp);
        else close(fd);
        unlink(w->tmp);
        free(w);
        return NULL;
    }
    w->size = HEADER_BYTES;
    w->limit = AVI_LIMIT;
    *st = CAP_OK;
    return w;
}

void cap_avi_writer_set_limit(cap_avi_writer *w, uint64_t bytes) {
    if (w) w->limit = bytes < AVI_LIMIT ? bytes : AVI_LIMIT;
}

void cap_avi_writer_allow_damaged(cap_avi_writer *w, int allow) {
    if (w) w->allow_damaged = allow;
}
int64_t cap_avi_writer_frames(const cap_avi_writer *w) { return w ? w->frames : 0; }
const char *cap_avi_writer_error(const cap_avi_writer *w) { return w ? w->error : "no writer"; }

cap_status cap_avi_writer_add(cap_avi_writer *w, const uint8_t *jpeg, size_t size) {
    if (!w) return CAP_IO;
    if (w->failed || w->full) return CAP_IO; /* error text kept from the first refusal */
    if (!jpeg && size) return CAP_IO;
    if (!w->allow_damaged && !img_jpeg_markers_ok(jpeg, size)) {
        snprintf(w->error, sizeof(w->error), "%s: frame %lld is not a JPEG (bad markers)",
                 w->path, (long long)w->frames);
        return CAP_CORRUPT;
    }
    uint64_t chunk = 8 + (uint64_t)size + (size & 1);
    /* What the file will be after this frame and the final idx1. */
    uint64_t total = w->size + chunk + 8 + 16 * (uint64_t)(w->frames + 1);
    if (total > w->limit) {
        w->full = 1;
        snprintf(w->error, sizeof(w->error),
                 "%s: frame %lld would take the AVI past its size limit (%llu bytes; AVI 1.0 "
                 "stops at 1 GiB); recording stopped (the file keeps the frames before it)",
                 w->path, (long long)w->frames, (unsigned long long)w->limit);
        return CAP_IO;
    }
    if ((size_t)(w->frames + 1) * 16 > w->idx_cap) {
        size_t nc = w->idx_cap ? 2 * w->idx_cap : 16 * 256;
        uint8_t *ni = realloc(w->idx, nc);
        if (!ni) {
            snprintf(w->error, sizeof(w->error), "%s: out of memory for the index", w->path);
            return CAP_NOMEM;
        }
        w->idx = ni;
        w->idx_cap = nc;
    }
    uint8_t ck[8];
    memcpy(ck, "00dc", 4);
    put32(ck + 4, (uint32_t)size);
    static const uint8_t zero = 0;
    if (fwrite(ck, 1, 8, w->fp) != 8 || (size && fwrite(jpeg, 1, size, w->fp) != size) ||
        ((size & 1) && fwrite(&zero, 1, 1, w->fp) != 1)) {
        fail(w, "write failed");
        return CAP_IO;
    }
    uint8_t *e = w->idx + 16 * w->frames;
    memcpy(e, "00dc", 4);
    put32(e + 4, 0x10); /* AVIIF_KEYFRAME: every MJPEG frame is one */
    put32(e + 8, (uint32_t)(w->size - OFF_MOVI_FCC));
    put32(e + 12, (uint32_t)size);
    w->size += chunk;
    w->frames++;
    if (size > w->max_frame) w->max_frame = (uint32_t)size;
    return CAP_OK;
}

void cap_avi_writer_abort(cap_avi_writer *w) {
    if (!w) return;
    if (w->fp) fclose(w->fp);
    unlink(w->tmp);
    free(w->idx);
    free(w);
}

cap_status cap_avi_writer_close(cap_avi_writer *w, char *err, size_t errlen) {
    if (!w) return CAP_IO;
    if (w->failed) {
        snprintf(err, errlen, "%s", w->error);
        cap_avi_writer_abort(w);
        return CAP_IO;
    }
    uint64_t movi_bytes = w->size - OFF_MOVI_FCC;
    uint8_t ck[8];
    memcpy(ck, "idx1", 4);
    put32(ck + 4, (uint32_t)(16 * w->frames));
    uint8_t h[HEADER_BYTES];
    build_header(w, h, movi_bytes, w->size + 8 + 16 * (uint64_t)w->frames - 8);
    int ok = fwrite(ck, 1, 8, w->fp) == 8 &&
             (w->frames == 0 ||
              fwrite(w->idx, 16, (size_t)w->frames, w->fp) == (size_t)w->frames) &&
             fseek(w->fp, 0, SEEK_SET) == 0 && fwrite(h, 1, HEADER_BYTES, w->fp) == HEADER_BYTES &&
             fflush(w->fp) == 0 && fsync(fileno(w->fp)) == 0;
    if (!ok) {
        snprintf(err, errlen, "%s: cannot finish %s: %s", w->path, w->tmp, strerror(errno));
        cap_avi_writer_abort(w);
        return CAP_IO;
    }
    int rc = fclose(w->fp);
    w->fp = NULL;
    if (rc != 0 || rename(w->tmp, w->path) != 0) {
        snprintf(err, errlen, "%s: cannot rename %s into place: %s", w->path, w->tmp,
                 strerror(errno));
        cap_avi_writer_abort(w);
        return CAP_IO;
    }
    free(w->idx);
    free(w);
    return CAP_OK;
}

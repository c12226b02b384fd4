/* avi_reader.c - native MJPEG AVI reader: RIFF/AVI headers (avih, strh,
 * strf), frames from the movi list through idx1 when it is valid, otherwise
 * by walking the chunks (LIST 'rec ', JUNK, odd padding, OpenDML AVIX parts).
 *
 * Streaming: only chunk headers and one frame are in memory at a time; idx1
 * entries are read in small batches as playback reaches them. Every size
 * read from the file is checked against the file length before use. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frame_source_impl.h"
#include "image_io.h"
#include "video_backends.h"

#define AVI_MAX_FRAME (256u << 20) /* no sane MJPEG frame is bigger */
#define AVI_MAX_HDRL (4u << 20)
#define AVI_RESYNC_WINDOW (8u << 20)
#define IDX_BATCH 256

typedef struct {
    int fd;
    uint64_t file_len;
    uint64_t riff_end;   /* end of the first RIFF as declared (may pass file_len) */
    char path[256];
    int width, height;
    double fps;
    char ck_dc[4], ck_db[4]; /* "00dc"/"00db" for the video stream number */

    /* idx1 mode */
    int use_idx1;
    uint64_t idx1_pos, idx1_n, idx1_k; /* entries start, count, next entry */
    uint64_t idx1_base;                /* offsets are relative to this */
    uint8_t idx_buf[IDX_BATCH * 16];
    uint64_t idx_buf_first, idx_buf_n;

    /* walk mode */
    uint64_t pos;        /* next chunk header */
    int truncated_noted;

    int64_t next_index;
    uint8_t *buf;
    size_t cap;
} avi_src;

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int fourcc_is(const uint8_t *p, const char *s) { return memcmp(p, s, 4) == 0; }

/* Chunk ids are printable ASCII; anything else means we lost sync. */
static int fourcc_plausible(const uint8_t *p) {
    for (int i = 0; i < 4; i++)
        if (!(isalnum(p[i]) || p[i] == ' ' || p[i] == '_')) return 0;
    return 1;
}

/* Reads exactly n bytes at off; 0 on success, -1 on short read or error. */
static int read_at(const avi_src *a, uint64_t off, void *dst, size_t n) {
    if (off > a->file_len || n > a->file_len - off) return -1;
    uint8_t *p = dst;
    while (n) {
        ssize_t r = pread(a->fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

int cap_avi_probe(const unsigned char *head, size_t n) {
    return n >= 12 && memcmp(head, "RIFF", 4) == 0 && memcmp(head + 8, "AVI ", 4) == 0;
}

static int is_mjpeg_fourcc(const uint8_t *p) {
    char s[5];
    for (int i = 0; i < 4; i++) s[i] = (char)toupper(p[i]);
    s[4] = 0;
    return strcmp(s, "MJPG") == 0 || strcmp(s, "AVRN") == 0 || strcmp(s, "JPEG") == 0 ||
           strcmp(s, "DMB1") == 0;
}

/* Parses the hdrl list (already in memory). Returns 0, or -1 with err set. */
static int parse_hdrl(avi_src *a, const uint8_t *h, size_t n, int *not_mjpeg, char *err,
                      size_t errlen) {
    double avih_fps = 0;
    int stream = 0, found = 0, codec_ok = 0;
    uint32_t rate = 0, scale = 0;
    size_t p = 0;
    /* Flat walk: strl lists are descended into, so strh/strf pair up by order. */
    while (p + 8 <= n) {
        const uint8_t *ck = h + p;
        uint32_t sz = rd32(ck + 4);
        if (fourcc_is(ck, "LIST")) {
            if (sz < 4 || sz > n - p - 8) break;
            p += 12;
            continue;
        }
        if (sz > n - p - 8) break;
        const uint8_t *d = ck + 8;
        if (fourcc_is(ck, "avih") && sz >= 40) {
            uint32_t usec = rd32(d);
            if (usec) avih_fps = 1e6 / usec;
            a->width = (int)rd32(d + 32);
            a->height = (int)rd32(d + 36);
        } else if (fourcc_is(ck, "strh") && sz >= 36) {
            if (!found && fourcc_is(d, "vids")) {
                found = 1;
                scale = rd32(d + 20);
                rate = rd32(d + 24);
                if (is_mjpeg_fourcc(d + 4)) codec_ok = 1;
            } else if (!found) {
                stream++;
            }
        } else if (fourcc_is(ck, "strf") && sz >= 40 && found == 1) {
            int32_t w = (int32_t)rd32(d + 4), hh = (int32_t)rd32(d + 8);
            if (w > 0) a->width = w;
            if (hh != 0) a->height = hh < 0 ? -hh : hh;
            if (is_mjpeg_fourcc(d + 16)) codec_ok = 1;
            found = 2; /* strf of the video stream seen */
        }
        p += 8 + (size_t)sz + (sz & 1);
    }
    if (!found) {
        snprintf(err, errlen, "%s: AVI has no video stream", a->path);
        return -1;
    }
    if (!codec_ok) {
        *not_mjpeg = 1;
        snprintf(err, errlen, "%s: AVI video is not MJPEG", a->path);
        return -1;
    }
    if (stream > 99) {
        snprintf(err, errlen, "%s: bad AVI stream number", a->path);
        return -1;
    }
    a->fps = (rate && scale) ? (double)rate / scale : avih_fps;
    if (!(a->fps > 0 && a->fps < 10000)) a->fps = 30.0; /* the usual camera rate */
    if (a->width <= 0 || a->height <= 0 || a->width > 65535 || a->height > 65535) {
        snprintf(err, errlen, "%s: AVI header gives a bad frame size %dx%d", a->path, a->width,
                 a->height);
        return -1;
    }
    char num[2] = {(char)('0' + stream / 10), (char)('0' + stream % 10)};
    memcpy(a->ck_dc, num, 2);
    memcpy(a->ck_dc + 2, "dc", 2);
    memcpy(a->ck_db, num, 2);
    memcpy(a->ck_db + 2, "db", 2);
    return 0;
}

static int is_video_ck(const avi_src *a, const uint8_t *id) {
    return memcmp(id, a->ck_dc, 4) == 0 || memcmp(id, a->ck_db, 4) == 0;
}

/* idx1 entry k (16 bytes) through a small read-ahead buffer. */
static const uint8_t *idx1_entry(avi_src *a, uint64_t k) {
    if (k < a->idx_buf_first || k >= a->idx_buf_first + a->idx_buf_n) {
        uint64_t n = a->idx1_n - k;
        if (n > IDX_BATCH) n = IDX_BATCH;
        if (read_at(a, a->idx1_pos + 16 * k, a->idx_buf, (size_t)(16 * n)) != 0) return NULL;
        a->idx_buf_first = k;
        a->idx_buf_n = n;
    }
    return a->idx_buf + 16 * (k - a->idx_buf_first);
}

/* Checks idx1 against the chunks it points at and picks the offset base
 * (relative to 'movi', as the spec says, or absolute, as some writers do). */
static void validate_idx1(avi_src *a, uint64_t movi_fcc) {
    for (uint64_t k = 0; k < a->idx1_n && k < 64; k++) {
        const uint8_t *e = idx1_entry(a, k);
        if (!e) return;
        if (!is_video_ck(a, e)) continue;
        uint64_t off = rd32(e + 8);
        uint64_t bases[2] = {movi_fcc, 0};
        for (int b = 0; b < 2; b++) {
            uint8_t hdr[8];
            if (read_at(a, bases[b] + off, hdr, 8) == 0 && memcmp(hdr, e, 4) == 0 &&
                rd32(hdr + 4) == rd32(e + 12)) {
                a->idx1_base = bases[b];
                a->use_idx1 = 1;
                return;
            }
        }
        return; /* the first video entry does not match: do not trust idx1 */
    }
}

static void avi_close(void *impl) {
    avi_src *a = impl;
    if (!a) return;
    if (a->fd >= 0) close(a->fd);
    free(a->buf);
    free(a);
}

/* Loads size bytes of frame data at off into the buffer. */
static cap_status load_frame(cap_source *src, avi_src *a, uint64_t off, uint32_t size,
                             cap_frame *f) {
    if (size > AVI_MAX_FRAME) {
        cap_source_set_error(src, "%s: frame %lld claims %u bytes", a->path,
                             (long long)a->next_index, size);
        return CAP_CORRUPT;
    }
    if (size > a->cap) {
        uint8_t *nb = realloc(a->buf, size);
        if (!nb) {
            cap_source_set_error(src, "%s: out of memory for a %u-byte frame", a->path, size);
            return CAP_NOMEM;
        }
        a->buf = nb;
        a->cap = size;
    }
    if (read_at(a, off, a->buf, size) != 0) {
        cap_source_set_error(src, "%s: read error at byte %llu: %s", a->path,
                             (unsigned long long)off, strerror(errno ? errno : EIO));
        return CAP_IO;
    }
    f->format = CAP_FMT_MJPEG;
    f->width = a->width;
    f->height = a->height;
    f->stride = 0;
    f->data = a->buf;
    f->size = size;
    if (!img_jpeg_markers_ok(a->buf, size)) {
        cap_source_set_error(src, "%s: frame %lld (byte %llu) is damaged: bad JPEG markers",
                             a->path, (long long)f->index, (unsigned long long)off);
        return CAP_CORRUPT;
    }
    return CAP_OK;
}

static cap_status note_truncated(cap_source *src, avi_src *a, uint64_t at) {
    cap_source_set_error(src,
                         "%s: file is truncated at byte %llu (of %llu declared): %lld frames read",
                         a->path, (unsigned long long)a->file_len, (unsigned long long)at,
                         (long long)a->next_index);
    a->truncated_noted = 1;
    return CAP_EOF;
}

/* Walk mode: the next video chunk at or after a->pos. */
static cap_status walk_next(cap_source *src, avi_src *a, cap_frame *f) {
    int resynced = 0;
    for (;;) {
        uint8_t hdr[12];
        if (a->pos + 8 > a->file_len) {
            if (a->riff_end > a->file_len && !a->truncated_noted)
                return note_truncated(src, a, a->riff_end);
            return CAP_EOF;
        }
        if (read_at(a, a->pos, hdr, 8) != 0) return CAP_EOF;
        uint32_t sz = rd32(hdr + 4);
        if (!fourcc_plausible(hdr)) {
            /* Lost sync (a damaged chunk header): look for the next frame id. */
            uint64_t limit = a->pos + AVI_RESYNC_WINDOW;
            if (limit > a->file_len) limit = a->file_len;
            uint8_t win[4096];
            uint64_t p = a->pos + 1, found = 0;
            while (p + 8 <= limit && !found) {
                size_t n = (size_t)((limit - p) < sizeof(win) ? (limit - p) : sizeof(win));
                if (read_at(a, p, win, n) != 0) break;
                for (size_t i = 0; i + 4 <= n; i++)
                    if (is_video_ck(a, win + i)) {
                        found = p + i;
                        break;
                    }
                if (n < 8) break;
                p += n - 3;
            }
            if (!found) {
                cap_source_set_error(src, "%s: damaged chunk header at byte %llu and no frame "
                                          "after it",
                                     a->path, (unsigned long long)a->pos);
                return CAP_EOF;
            }
            cap_source_set_error(src, "%s: damaged chunk header at byte %llu, skipped %llu bytes",
                                 a->path, (unsigned long long)a->pos,
                                 (unsigned long long)(found - a->pos));
            a->pos = found;
            resynced = 1;
            continue;
        }
        if (fourcc_is(hdr, "RIFF") || fourcc_is(hdr, "LIST")) {
            /* Descend: 'movi', 'rec ' and OpenDML 'AVIX' parts hold frames;
             * other lists (hdrl, INFO) hold none of our chunk ids anyway,
             * except hdrl which we skip whole to avoid its strl contents. */
            if (read_at(a, a->pos + 8, hdr + 8, 4) != 0) return CAP_EOF;
            if (fourcc_is(hdr + 8, "hdrl") || fourcc_is(hdr + 8, "INFO")) {
                a->pos += 8 + (uint64_t)sz + (sz & 1);
            } else {
                a->pos += 12;
            }
            continue;
        }
        uint64_t data = a->pos + 8;
        uint64_t next = data + sz;
        /* Odd sizes are padded to even, but some writers forget: take the
         * padded position only when a plausible chunk header is there. */
        if (sz & 1) {
            uint8_t nh[4];
            if (!(read_at(a, next, nh, 4) == 0 && fourcc_plausible(nh))) next++;
        }
        if (is_video_ck(a, hdr)) {
            f->index = a->next_index;
            f->timestamp_s = (double)a->next_index / a->fps;
            if (data + sz > a->file_len) return note_truncated(src, a, data + sz);
            a->next_index++;
            a->pos = next;
            if (sz == 0) {
                cap_source_set_error(src, "%s: frame %lld is empty", a->path, (long long)f->index);
                return CAP_CORRUPT;
            }
            cap_status st = load_frame(src, a, data, sz, f);
            if (st == CAP_OK && resynced) return CAP_OK; /* the skip was noted above */
            return st;
        }
        if (next > a->file_len) {
            if (!a->truncated_noted) return note_truncated(src, a, next);
            return CAP_EOF;
        }
        a->pos = next; /* JUNK, idx1, ix00, audio: not ours */
    }
}

static cap_status idx1_next(cap_source *src, avi_src *a, cap_frame *f) {
    while (a->idx1_k < a->idx1_n) {
        const uint8_t *e = idx1_entry(a, a->idx1_k);
        if (!e) {
            a->use_idx1 = 0;
            break;
        }
        a->idx1_k++;
        if (!is_video_ck(a, e)) continue;
        f->index = a->next_index;
        f->timestamp_s = (double)a->next_index / a->fps;
        a->next_index++;
        uint64_t off = a->idx1_base + rd32(e + 8);
        uint8_t hdr[8];
        if (read_at(a, off, hdr, 8) != 0 || !is_video_ck(a, hdr)) {
            cap_source_set_error(src, "%s: index entry for frame %lld points at byte %llu, "
                                      "which is not a frame",
                                 a->path, (long long)f->index, (unsigned long long)off);
            return CAP_CORRUPT;
        }
        uint32_t sz = rd32(hdr + 4);
        if (sz != rd32(e + 12)) {
            /* header and index disagree: one is damaged; skip just this frame */
            cap_source_set_error(src, "%s: frame %lld: chunk size %u disagrees with the index (%u)",
                                 a->path, (long long)f->index, sz, rd32(e + 12));
            return CAP_CORRUPT;
        }
        if (off + 8 + sz > a->file_len) return note_truncated(src, a, off + 8 + sz);
        if (sz == 0) {
            cap_source_set_error(src, "%s: frame %lld is empty", a->path, (long long)f->index);
            return CAP_CORRUPT;
        }
        return load_frame(src, a, off + 8, sz, f);
    }
    /* idx1 covers the first RIFF only; OpenDML files go on in AVIX parts. */
    a->use_idx1 = 0;
    a->pos = a->riff_end + (a->riff_end & 1);
    if (a->pos >= a->file_len) return CAP_EOF;
    return walk_next(src, a, f);
}

static cap_status avi_read(cap_source *src, cap_frame *f, int timeout_ms) {
    (void)timeout_ms;
    avi_src *a = src->impl;
    if (a->use_idx1) return idx1_next(src, a, f);
    return walk_next(src, a, f);
}

static const struct cap_source_ops avi_ops = {avi_read, avi_close};

cap_source *cap_avi_open(const char *path, int *not_mjpeg, cap_status *st, char *err,
                         size_t errlen) {
    int dummy = 0;
    if (!not_mjpeg) not_mjpeg = &dummy;
    *not_mjpeg = 0;
    avi_src *a = calloc(1, sizeof(*a));
    if (!a) {
        *st = CAP_NOMEM;
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    snprintf(a->path, sizeof(a->path), "%s", path);
    a->fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (a->fd < 0 || fstat(a->fd, &sb) != 0) {
        *st = errno == EACCES ? CAP_PERMISSION : CAP_IO;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        avi_close(a);
        return NULL;
    }
    a->file_len = (uint64_t)sb.st_size;
    *st = CAP_UNSUPPORTED;
    uint8_t hdr[12];
    if (read_at(a, 0, hdr, 12) != 0 || !cap_avi_probe(hdr, 12)) {
        snprintf(err, errlen, "%s: not an AVI file", path);
        avi_close(a);
        return NULL;
    }
    a->riff_end = 8 + (uint64_t)rd32(hdr + 4);

    /* Top-level chunks of the first RIFF: hdrl, movi, idx1 (JUNK between). */
    uint64_t p = 12, movi_fcc = 0, movi_first = 0;
    int have_hdrl = 0;
    uint64_t end = a->riff_end < a->file_len ? a->riff_end : a->file_len;
    while (p + 8 <= end) {
        uint8_t ck[12];
        if (read_at(a, p, ck, 8) != 0) break;
        uint32_t sz = rd32(ck + 4);
        if (fourcc_is(ck, "LIST")) {
            if (sz < 4 || read_at(a, p + 8, ck + 8, 4) != 0) break;
            if (fourcc_is(ck + 8, "hdrl")) {
                if (sz > AVI_MAX_HDRL || p + 8 + sz > a->file_len) {
                    snprintf(err, errlen, "%s: AVI header list of %u bytes is damaged", path, sz);
                    avi_close(a);
                    return NULL;
                }
                uint8_t *h = malloc(sz);
                if (!h || read_at(a, p + 12, h, sz - 4) != 0) {
                    free(h);
                    *st = CAP_NOMEM;
                    snprintf(err, errlen, "%s: cannot read the AVI header", path);
                    avi_close(a);
                    return NULL;
                }
                int rc = parse_hdrl(a, h, sz - 4, not_mjpeg, err, errlen);
                free(h);
                if (rc != 0) {
                    avi_close(a);
                    return NULL;
                }
                have_hdrl = 1;
            } else if (fourcc_is(ck + 8, "movi") && !movi_fcc) {
                movi_fcc = p + 8;
                movi_first = p + 12;
            }
        } else if (fourcc_is(ck, "idx1")) {
            if (p + 8 + sz <= a->file_len) {
                a->idx1_pos = p + 8;
                a->idx1_n = sz / 16;
            }
        } else if (!fourcc_plausible(ck)) {
            break;
        }
        p += 8 + (uint64_t)sz + (sz & 1);
    }
    if (!have_hdrl) {
        snprintf(err, errlen, "%s: AVI has no header list (hdrl)", path);
        avi_close(a);
        return NULL;
    }
    if (!movi_fcc) {
        snprintf(err, errlen, "%s: AVI has no frame data (movi list)", path);
        avi_close(a);
        return NULL;
    }
    a->pos = movi_first;
    if (a->idx1_n) validate_idx1(a, movi_fcc);

    const char *base = strrchr(path, '/');
    cap_source *src = cap_source_alloc(&avi_ops, a, base ? base + 1 : path);
    if (!src) {
        *st = CAP_NOMEM;
        snprintf(err, errlen, "%s: out of memory", path);
        avi_close(a);
        return NULL;
    }
    src->fps = a->fps;
    /* strh dwLength / avih TotalFrames are often wrong; count idx1 entries instead. */
    src->frame_count = -1;
    if (a->use_idx1 && a->riff_end + 8 >= a->file_len) { /* one RIFF, no AVIX parts */
        int64_t n = 0;
        for (uint64_t k = 0; k < a->idx1_n; k++) {
            const uint8_t *e = idx1_entry(a, k);
            if (!e) break;
            n += is_video_ck(a, e);
        }
        src->frame_count = n;
    }
    *st = CAP_OK;
    return src;
}

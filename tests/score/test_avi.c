/* test_avi.c - the MJPEG AVI writer and the native reader behind
 * cap_file_open: byte-identical round trip, a damaged frame reported and
 * skipped, truncated copies giving every frame before the cut, idx1 used when
 * valid and ignored when not, and a hand-made AVI with JUNK, LIST 'rec ' and
 * unpadded odd-sized chunks. */
#include <errno.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "avi_writer.h"
#include "frame_source.h"
#include "test_helpers.h"

#define W 64
#define H 48
#define N 12

static uint8_t *frames[N];
static size_t sizes[N];
static char dir[300];

static void path_in(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", dir, name); }

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}
static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads a file through cap_file_open; records statuses and which frames came. */
typedef struct {
    int ok, corrupt, eof_reached;
    int64_t index[64];
    int match[64]; /* frame bytes equal to frames[k] for this k, -1 none */
    double ts[64];
    char last_err[512];
    int fails_open;
    cap_status open_st;
} readout;

static void read_all(const char *path, readout *r) {
    memset(r, 0, sizeof(*r));
    char err[512];
    cap_source *s = cap_file_open(path, &r->open_st, err, sizeof(err));
    if (!s) {
        r->fails_open = 1;
        snprintf(r->last_err, sizeof(r->last_err), "%s", err);
        return;
    }
    for (int guard = 0; guard < 200; guard++) {
        cap_frame f;
        cap_status st = cap_source_read(s, &f, 0);
        if (st == CAP_OK && r->ok < 64) {
            r->index[r->ok] = f.index;
            r->ts[r->ok] = f.timestamp_s;
            r->match[r->ok] = -1;
            for (int k = 0; k < N; k++)
                if (f.size == sizes[k] && memcmp(f.data, frames[k], sizes[k]) == 0) r->match[r->ok] = k;
            CHECKF(f.format == CAP_FMT_MJPEG && f.width == W && f.height == H, "frame header %d %dx%d",
                  f.format, f.width, f.height);
            r->ok++;
        } else if (st == CAP_CORRUPT) {
            r->corrupt++;
            snprintf(r->last_err, sizeof(r->last_err), "%s", cap_source_error(s));
        } else if (st == CAP_EOF) {
            r->eof_reached = 1;
            snprintf(r->last_err, sizeof(r->last_err), "%s", cap_source_error(s));
            break;
        } else {
            snprintf(r->last_err, sizeof(r->last_err), "%s", cap_source_error(s));
            break;
        }
    }
    cap_stats stats;
    cap_source_stats(s, &stats);
    CHECKF(stats.delivered == (uint64_t)r->ok && stats.dropped_corrupt == (uint64_t)r->corrupt,
          "stats %llu/%llu", (unsigned long long)stats.delivered,
          (unsigned long long)stats.dropped_corrupt);
    cap_source_free(s);
}

static int write_avi(const char *path, int damaged_at, double fps) {
    char err[512];
    cap_status st;
    cap_avi_writer *w = cap_avi_writer_new(path, W, H, fps, &st, err, sizeof(err));
    CHECKF(w != NULL, "writer: %s", err);
    if (!w) return -1;
    cap_avi_writer_allow_damaged(w, damaged_at >= 0);
    for (int k = 0; k < N; k++) {
        cap_status a;
        if (k == damaged_at) {
            uint8_t junk[301];
            for (size_t i = 0; i < sizeof(junk); i++) junk[i] = (uint8_t)(i * 7 + 1);
            a = cap_avi_writer_add(w, junk, sizeof(junk));
        } else {
            a = cap_avi_writer_add(w, frames[k], sizes[k]);
        }
        CHECKF(a == CAP_OK, "add frame %d: %s", k, cap_avi_writer_error(w));
    }
    CHECKF(cap_avi_writer_frames(w) == N, "frames %lld", (long long)cap_avi_writer_frames(w));
    struct stat sb;
    CHECKF(stat(path, &sb) != 0, "%s exists before close (not atomic)", path);
    st = cap_avi_writer_close(w, err, sizeof(err));
    CHECKF(st == CAP_OK, "close: %s", err);
    return st == CAP_OK ? 0 : -1;
}

static void test_round_trip(void) {
    char p[400];
    path_in(p, sizeof(p), "rt.avi");
    if (write_avi(p, -1, 25.0)) return;
    readout r;
    read_all(p, &r);
    CHECKF(!r.fails_open, "open: %s", r.last_err);
    CHECKF(r.ok == N && r.corrupt == 0 && r.eof_reached, "ok %d corrupt %d", r.ok, r.corrupt);
    for (int k = 0; k < r.ok; k++) {
        CHECKF(r.match[k] == k, "frame %d bytes differ (matches %d)", k, r.match[k]);
        CHECKF(r.index[k] == k, "index %lld", (long long)r.index[k]);
        CHECKF(fabs(r.ts[k] - k / 25.0) < 1e-9, "timestamp %g", r.ts[k]);
    }
    char err[256];
    cap_status st;
    cap_source *s = cap_file_open(p, &st, err, sizeof(err));
    CHECKF(s && fabs(cap_source_fps(s) - 25.0) < 1e-9 && cap_source_frame_count(s) == N,
          "fps/count");
    cap_source_free(s);
    /* no temporary file left behind */
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "ls %s | grep -c tmp- >/dev/null", dir);
    CHECKF(system(cmd) != 0, "a .tmp- file was left in %s", dir);

    /* A non-integer rate survives too. */
    path_in(p, sizeof(p), "ntsc.avi");
    if (write_avi(p, -1, 29.97)) return;
    s = cap_file_open(p, &st, err, sizeof(err));
    CHECKF(s && fabs(cap_source_fps(s) - 29.97) < 1e-6, "fps %g", s ? cap_source_fps(s) : 0);
    cap_source_free(s);
}

static void test_writer_refuses(void) {
    char p[400], err[256];
    cap_status st;
    path_in(p, sizeof(p), "refuse.avi");
    cap_avi_writer *w = cap_avi_writer_new(p, W, H, 30, &st, err, sizeof(err));
    CHECKF(w != NULL, "%s", err);
    if (!w) return;
    uint8_t junk[10] = {1, 2, 3};
    CHECKF(cap_avi_writer_add(w, junk, sizeof(junk)) == CAP_CORRUPT, "junk accepted");
    CHECKF(strstr(cap_avi_writer_error(w), "not a JPEG") != NULL, "%s", cap_avi_writer_error(w));
    cap_avi_writer_abort(w);
    struct stat sb;
    CHECKF(stat(p, &sb) != 0, "aborted writer left %s", p);
    CHECKF(cap_avi_writer_new(p, 0, H, 30, &st, err, sizeof(err)) == NULL, "0 width accepted");
    CHECKF(cap_avi_writer_new("/nonexistent-dir/x.avi", W, H, 30, &st, err, sizeof(err)) == NULL &&
              strstr(err, "/nonexistent-dir/x.avi"),
          "bad dir: %s", err);
}

/* The size limit (1 GiB by default) refuses the frame that would pass it;
 * the file closes valid with every frame before. */
static void test_limit(void) {
    char p[400], err[256];
    cap_status st;
    path_in(p, sizeof(p), "limit.avi");
    cap_avi_writer *w = cap_avi_writer_new(p, W, H, 30, &st, err, sizeof(err));
    CHECKF(w != NULL, "%s", err);
    if (!w) return;
    uint64_t limit = 224 + 8 + 16 * 4; /* header, idx1 of 4 frames */
    for (int k = 0; k < 4; k++) limit += 8 + sizes[k] + (sizes[k] & 1);
    cap_avi_writer_set_limit(w, limit);
    int k = 0;
    while (k < N && cap_avi_writer_add(w, frames[k], sizes[k]) == CAP_OK) k++;
    CHECKF(k == 4, "%d frames fit, want 4", k);
    CHECKF(strstr(cap_avi_writer_error(w), "limit") != NULL, "%s", cap_avi_writer_error(w));
    CHECKF(cap_avi_writer_add(w, frames[0], sizes[0]) != CAP_OK, "a later small frame got in");
    CHECKF(cap_avi_writer_close(w, err, sizeof(err)) == CAP_OK, "%s", err);
    struct stat sb;
    CHECKF(stat(p, &sb) == 0 && (uint64_t)sb.st_size == limit, "size %lld want %llu",
          (long long)sb.st_size, (unsigned long long)limit);
    readout r;
    read_all(p, &r);
    CHECKF(r.ok == 4 && r.corrupt == 0 && r.eof_reached, "limit file: %d frames", r.ok);
}

static void test_corrupt_frame(void) {
    char p[400];
    path_in(p, sizeof(p), "corrupt.avi");
    if (write_avi(p, 5, 30.0)) return;
    readout r;
    read_all(p, &r);
    CHECKF(r.ok == N - 1 && r.corrupt == 1 && r.eof_reached, "ok %d corrupt %d", r.ok, r.corrupt);
    for (int k = 0; k < r.ok; k++) {
        int want = k < 5 ? k : k + 1;
        CHECKF(r.match[k] == want && r.index[k] == want, "frame %d is %d (index %lld)", k,
              r.match[k], (long long)r.index[k]);
    }
}

/* Cuts copies of a good file at several places. */
static void test_truncated(void) {
    char p[400], q[400];
    path_in(p, sizeof(p), "full.avi");
    if (write_avi(p, -1, 30.0)) return;
    size_t n;
    uint8_t *all = test_read_file(p, &n);
    CHECKF(all != NULL, "read back");
    if (!all) return;
    /* offset of frame k's chunk: 224 + sum of padded earlier chunks */
    size_t off[N + 1];
    off[0] = 224;
    for (int k = 0; k < N; k++) off[k + 1] = off[k] + 8 + sizes[k] + (sizes[k] & 1);
    struct {
        size_t cut;
        int want;
    } cuts[] = {
        {off[7] + 8 + sizes[7] / 2, 7}, /* inside frame 7's data */
        {off[7] + 3, 7},                /* inside frame 7's chunk header */
        {off[N], N},                    /* just before idx1 */
        {230, 0},                       /* header only */
    };
    for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
        path_in(q, sizeof(q), "cut.avi");
        CHECKF(test_write_file(q, all, cuts[c].cut) == 0, "write cut");
        readout r;
        read_all(q, &r);
        CHECKF(!r.fails_open, "cut %zu: open: %s", cuts[c].cut, r.last_err);
        CHECKF(r.ok == cuts[c].want && r.corrupt == 0 && r.eof_reached, "cut %zu: %d frames, want %d",
              cuts[c].cut, r.ok, cuts[c].want);
        for (int k = 0; k < r.ok; k++) CHECKF(r.match[k] == k, "cut %zu frame %d", cuts[c].cut, k);
        CHECKF(strstr(r.last_err, "truncated") != NULL, "cut %zu: no truncation note: '%s'",
              cuts[c].cut, r.last_err);
    }
    /* Cut inside the header: a clear error, not a crash. */
    path_in(q, sizeof(q), "cut.avi");
    CHECKF(test_write_file(q, all, 100) == 0, "write cut");
    readout r;
    read_all(q, &r);
    CHECKF(r.fails_open || (r.ok == 0 && r.eof_reached), "header cut: ok %d", r.ok);
    free(all);
}

/* idx1 is trusted when it matches the chunks (an idx1 listing only some
 * frames gives only those) and ignored when it does not. */
static void test_idx1(void) {
    char p[400], q[400];
    path_in(p, sizeof(p), "idx.avi");
    if (write_avi(p, -1, 30.0)) return;
    size_t n;
    uint8_t *all = test_read_file(p, &n);
    if (!all) return;
    size_t idx = n - 16 * N; /* entries */
    CHECKF(memcmp(all + idx - 8, "idx1", 4) == 0, "idx1 where expected");
    /* keep entries 0, 2, 4 ... by rewriting the rest as another stream's ('01wb') */
    uint8_t *b = malloc(n);
    memcpy(b, all, n);
    for (int k = 1; k < N; k += 2) memcpy(b + idx + 16 * k, "01wb", 4);
    path_in(q, sizeof(q), "idx-half.avi");
    test_write_file(q, b, n);
    readout r;
    read_all(q, &r);
    CHECKF(r.ok == N / 2, "half idx1: %d frames", r.ok);
    for (int k = 0; k < r.ok; k++) CHECKF(r.match[k] == 2 * k, "half idx1 frame %d is %d", k, r.match[k]);
    /* absolute offsets (some writers) */
    memcpy(b, all, n);
    for (int k = 0; k < N; k++) put32(b + idx + 16 * k + 8, get32(b + idx + 16 * k + 8) + 220);
    path_in(q, sizeof(q), "idx-abs.avi");
    test_write_file(q, b, n);
    read_all(q, &r);
    CHECKF(r.ok == N && r.corrupt == 0, "absolute idx1: %d frames", r.ok);
    /* an idx1 pointing nowhere: walk the chunks instead */
    memcpy(b, all, n);
    for (int k = 0; k < N; k++) put32(b + idx + 16 * k + 8, 0x00ABCDEF);
    path_in(q, sizeof(q), "idx-bad.avi");
    test_write_file(q, b, n);
    read_all(q, &r);
    CHECKF(r.ok == N && r.corrupt == 0, "bad idx1: %d frames", r.ok);
    for (int k = 0; k < r.ok; k++) CHECKF(r.match[k] == k, "bad idx1 frame %d", k);
    /* a damaged chunk header (size) under a valid idx1: that frame only is lost */
    memcpy(b, all, n);
    size_t f3 = 224;
    for (int k = 0; k < 3; k++) f3 += 8 + sizes[k] + (sizes[k] & 1);
    put32(b + f3 + 4, 0x7ffffff0u);
    path_in(q, sizeof(q), "idx-size.avi");
    test_write_file(q, b, n);
    read_all(q, &r);
    CHECKF(r.ok == N - 1 && r.corrupt == 1, "damaged size: %d frames, %d corrupt", r.ok, r.corrupt);
    for (int k = 0; k < r.ok; k++) CHECKF(r.match[k] == (k < 3 ? k : k + 1), "frame %d", k);
    free(b);
    free(all);
}

/* Hand-made movi: JUNK, a LIST 'rec ' with two frames, an odd-sized frame
 * without its pad byte, a damaged chunk header, then more frames. No idx1. */
static void test_quirks(void) {
    char p[400];
    path_in(p, sizeof(p), "base.avi");
    if (write_avi(p, -1, 30.0)) return;
    size_t n;
    uint8_t *all = test_read_file(p, &n);
    if (!all) return;
    size_t cap = 224 + 64 * 1024;
    uint8_t *b = calloc(1, cap);
    memcpy(b, all, 224);
    size_t o = 224;
#define CHUNK(id, data, len, pad)                                                                 \
    do {                                                                                          \
        memcpy(b + o, id, 4);                                                                     \
        put32(b + o + 4, (uint32_t)(len));                                                        \
        if (len) memcpy(b + o + 8, data, len);                                                    \
        o += 8 + (len) + ((pad) ? ((len) & 1) : 0);                                               \
    } while (0)
    uint8_t zeros[37] = {0};
    CHUNK("JUNK", zeros, 37, 1);
    size_t rec = o;
    memcpy(b + o, "LIST", 4);
    memcpy(b + o + 8, "rec ", 4);
    o += 12;
    CHUNK("00dc", frames[0], sizes[0], 1);
    CHUNK("00dc", frames[1], sizes[1], 1);
    put32(b + rec + 4, (uint32_t)(o - rec - 8));
    /* find an odd-sized frame to store without padding */
    int odd = -1;
    for (int k = 2; k < N; k++)
        if (sizes[k] & 1) {
            odd = k;
            break;
        }
    int order[8], no = 0;
    if (odd >= 0) {
        CHUNK("00dc", frames[odd], sizes[odd], 0);
        order[no++] = odd;
    }
    CHUNK("ix00", zeros, 24, 1);
    CHUNK("00db", frames[2 == odd ? 3 : 2], sizes[2 == odd ? 3 : 2], 1);
    order[no++] = 2 == odd ? 3 : 2;
    /* damaged chunk header: the reader must resync on the next frame id */
    memcpy(b + o, "\x01\x02\xff\xfe\x10\x00\x00\x00", 8);
    o += 8 + 16;
    CHUNK("00dc", frames[N - 1], sizes[N - 1], 1);
    order[no++] = N - 1;
    size_t movi_list = 212;
    put32(b + movi_list + 4, (uint32_t)(o - movi_list - 8));
    put32(b + 4, (uint32_t)(o - 8));
    char q[400];
    path_in(q, sizeof(q), "quirks.avi");
    test_write_file(q, b, o);
    readout r;
    read_all(q, &r);
    CHECKF(!r.fails_open, "open: %s", r.last_err);
    CHECKF(r.ok == 2 + no, "quirks: %d frames, want %d (%s)", r.ok, 2 + no, r.last_err);
    CHECKF(r.ok >= 2 && r.match[0] == 0 && r.match[1] == 1, "rec list frames");
    for (int k = 0; k < no && k + 2 < r.ok; k++)
        CHECKF(r.match[k + 2] == order[k], "frame %d is %d want %d", k + 2, r.match[k + 2], order[k]);
    free(b);
    free(all);
}

static void test_not_video(void) {
    char p[400];
    readout r;
    read_all("/nonexistent/video.avi", &r);
    CHECKF(r.fails_open && strstr(r.last_err, "/nonexistent/video.avi"), "missing: %s", r.last_err);
    path_in(p, sizeof(p), "text.avi");
    test_write_file(p, "hello, this is not a video at all\n", 34);
    read_all(p, &r);
    CHECKF(r.fails_open && strstr(r.last_err, "text.avi"), "text: %s", r.last_err);
    /* an AVI that says it holds H.264: not ours; FFmpeg's or a clear refusal */
    path_in(p, sizeof(p), "h264.avi");
    if (write_avi(p, -1, 30.0)) return;
    size_t n;
    uint8_t *all = test_read_file(p, &n);
    if (!all) return;
    memcpy(all + 108 + 4, "H264", 4);
    memcpy(all + 172 + 16, "H264", 4);
    test_write_file(p, all, n);
    free(all);
    read_all(p, &r);
    CHECKF(r.fails_open || r.ok == 0, "H264 AVI read as MJPEG (%d frames)", r.ok);
#ifndef SMILE_HAVE_FFMPEG
    CHECKF(r.fails_open && r.open_st == CAP_UNSUPPORTED && strstr(r.last_err, "FFmpeg"),
          "no-FFmpeg message: %s", r.last_err);
#endif
}

int main(void) {
    char *d = test_tmpdir();
    if (!d) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(dir, sizeof(dir), "%s", d);
    for (int k = 0; k < N; k++) {
        frames[k] = test_jpeg_frame(k, W, H, &sizes[k]);
        if (!frames[k]) {
            fprintf(stderr, "cannot encode test frames\n");
            return 1;
        }
    }
    test_round_trip();
    test_writer_refuses();
    test_limit();
    test_corrupt_frame();
    test_truncated();
    test_idx1();
    test_quirks();
    test_not_video();
    for (int k = 0; k < N; k++) free(frames[k]);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_done("avi");
}

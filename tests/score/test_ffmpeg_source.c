/* test_ffmpeg_source.c - the FFmpeg backend on the shared H.264 video: every
 * frame (1800) as 640x480 grey with increasing timestamps, and a truncated
 * copy giving the frames before the cut; with colour on, I420 frames whose
 * luma is the grey frame's and whose chroma shows the coloured backgrounds.
 * Skips (77) without the video. */
#include <math.h>
#include <unistd.h>

#include "frame_source.h"
#include "test_helpers.h"

static int count(const char *path, int64_t *n, int64_t *bad, char *err, size_t errlen) {
    cap_status st;
    cap_source *s = cap_file_open(path, &st, err, errlen);
    if (!s) return -1;
    *n = *bad = 0;
    double last_t = -1;
    for (;;) {
        cap_frame f;
        st = cap_source_read(s, &f, 0);
        if (st == CAP_OK) {
            CHECKF(f.format == CAP_FMT_GREY && f.width == 640 && f.height == 480 && f.stride >= 640,
                  "frame %lld: format %d %dx%d", (long long)f.index, f.format, f.width, f.height);
            CHECKF(f.timestamp_s > last_t, "frame %lld: time %g after %g", (long long)f.index,
                  f.timestamp_s, last_t);
            if (*n == 900) CHECKF(fabs(f.timestamp_s - 30.0) < 0.05, "frame 900 at %g s", f.timestamp_s);
            last_t = f.timestamp_s;
            (*n)++;
        } else if (st == CAP_CORRUPT) {
            (*bad)++;
        } else {
            CHECKF(st == CAP_EOF, "ended with %s: %s", cap_status_str(st), cap_source_error(s));
            break;
        }
        if (*n + *bad > 5000) break;
    }
    cap_source_free(s);
    return 0;
}

/* The first 60 frames with and without colour: same luma, real chroma. */
static void check_colour(const char *path) {
    char err[512];
    cap_status st;
    cap_source *grey = cap_file_open(path, &st, err, sizeof(err));
    cap_source *col = cap_file_open(path, &st, err, sizeof(err));
    cap_convert *cv = cap_convert_new();
    uint8_t *y0 = malloc(640 * 480), *rgb = malloc(640 * 480 * 3);
    CHECKF(grey && col && cv && y0 && rgb, "setup: %s", err);
    if (!grey || !col || !cv || !y0 || !rgb) goto out;
    cap_source_set_colour(col, 1);
    long coloured = 0;
    for (int i = 0; i < 60; i++) {
        cap_frame g, c;
        st = cap_source_read(grey, &g, 0);
        CHECKF(st == CAP_OK, "grey frame %d: %s", i, cap_status_str(st));
        if (st != CAP_OK) break;
        for (int y = 0; y < 480; y++) memcpy(y0 + y * 640, g.data + (size_t)y * g.stride, 640);
        st = cap_source_read(col, &c, 0);
        CHECKF(st == CAP_OK && c.format == CAP_FMT_I420 && c.width == 640 && c.height == 480,
              "colour frame %d: %s, format %d", i, cap_status_str(st), st == CAP_OK ? (int)c.format : -1);
        if (st != CAP_OK || c.format != CAP_FMT_I420) break;
        CHECKF(c.index == g.index && c.timestamp_s == g.timestamp_s, "frame %d: index or time differs", i);
        int same = 1;
        for (int y = 0; y < 480 && same; y++) same = !memcmp(y0 + y * 640, c.data + (size_t)y * c.stride, 640);
        CHECKF(same, "frame %d: the I420 luma differs from the grey frame", i);
        CHECKF(cap_convert_rgb(cv, &c, rgb, 640 * 3) == CAP_OK, "frame %d to RGB: %s", i, cap_convert_error(cv));
        for (int p = 0; p < 640 * 480; p += 97) {
            const uint8_t *q = rgb + 3 * p;
            int spread = abs(q[0] - q[1]) + abs(q[1] - q[2]) + abs(q[0] - q[2]);
            coloured += spread > 60;
        }
    }
    /* the backgrounds are plain or blurred colours: most samples are far from grey */
    CHECKF(coloured > 60 * (640 * 480 / 97) / 4, "only %ld coloured samples in 60 frames", coloured);
out:
    cap_source_free(grey);
    cap_source_free(col);
    cap_convert_free(cv);
    free(y0);
    free(rgb);
}

int main(void) {
    const char *vids = getenv("SMILE_VIDEOS");
    char path[1024];
    snprintf(path, sizeof(path), "%s/smiles300_640x480_h264.mp4", vids ? vids : "");
    if (!vids || access(path, R_OK) != 0) {
        fprintf(stderr, "skip: %s not found\n", path);
        return 77;
    }
    char err[512];
    cap_status st;
    cap_source *s = cap_file_open(path, &st, err, sizeof(err));
    CHECKF(s != NULL, "open: %s", err);
    if (s) {
        CHECKF(fabs(cap_source_fps(s) - 30.0) < 0.01, "fps %g", cap_source_fps(s));
        cap_source_free(s);
    }
    int64_t n, bad;
    CHECKF(count(path, &n, &bad, err, sizeof(err)) == 0, "open: %s", err);
    CHECKF(n == 1800 && bad == 0, "%lld frames, %lld damaged", (long long)n, (long long)bad);
    check_colour(path);

    /* A truncated copy: some frames, then EOF; never a crash or a hang. */
    size_t size;
    uint8_t *all = test_read_file(path, &size);
    char *dir = test_tmpdir();
    CHECKF(all && dir, "setup");
    if (all && dir) {
        char cut[400];
        snprintf(cut, sizeof(cut), "%s/cut.mp4", dir);
        test_write_file(cut, all, size / 2);
        int64_t cn = 0, cbad = 0;
        if (count(cut, &cn, &cbad, err, sizeof(err)) == 0)
            CHECKF(cn > 100 && cn < 1800, "truncated copy gave %lld frames", (long long)cn);
        else
            CHECKF(strstr(err, "cut.mp4") != NULL, "truncated copy refused without a name: %s", err);
        unlink(cut);
        rmdir(dir);
    }
    free(all);
    return test_done("ffmpeg-source");
}

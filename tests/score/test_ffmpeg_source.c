/* test_ffmpeg_source.c - the FFmpeg backend on the shared H.264 video: every
 * frame (1800) as 640x480 grey with increasing timestamps, and a truncated
 * copy giving the frames before the cut. Skips (77) without the video. */
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
            CHECK(f.format == CAP_FMT_GREY && f.width == 640 && f.height == 480 && f.stride >= 640,
                  "frame %lld: format %d %dx%d", (long long)f.index, f.format, f.width, f.height);
            CHECK(f.timestamp_s > last_t, "frame %lld: time %g after %g", (long long)f.index,
                  f.timestamp_s, last_t);
            if (*n == 900) CHECK(fabs(f.timestamp_s - 30.0) < 0.05, "frame 900 at %g s", f.timestamp_s);
            last_t = f.timestamp_s;
            (*n)++;
        } else if (st == CAP_CORRUPT) {
            (*bad)++;
        } else {
            CHECK(st == CAP_EOF, "ended with %s: %s", cap_status_str(st), cap_source_error(s));
            break;
        }
        if (*n + *bad > 5000) break;
    }
    cap_source_free(s);
    return 0;
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
    CHECK(s != NULL, "open: %s", err);
    if (s) {
        CHECK(fabs(cap_source_fps(s) - 30.0) < 0.01, "fps %g", cap_source_fps(s));
        cap_source_free(s);
    }
    int64_t n, bad;
    CHECK(count(path, &n, &bad, err, sizeof(err)) == 0, "open: %s", err);
    CHECK(n == 1800 && bad == 0, "%lld frames, %lld damaged", (long long)n, (long long)bad);

    /* A truncated copy: some frames, then EOF; never a crash or a hang. */
    size_t size;
    uint8_t *all = test_read_file(path, &size);
    char *dir = test_tmpdir();
    CHECK(all && dir, "setup");
    if (all && dir) {
        char cut[400];
        snprintf(cut, sizeof(cut), "%s/cut.mp4", dir);
        test_write_file(cut, all, size / 2);
        int64_t cn = 0, cbad = 0;
        if (count(cut, &cn, &cbad, err, sizeof(err)) == 0)
            CHECK(cn > 100 && cn < 1800, "truncated copy gave %lld frames", (long long)cn);
        else
            CHECK(strstr(err, "cut.mp4") != NULL, "truncated copy refused without a name: %s", err);
        unlink(cut);
        rmdir(dir);
    }
    free(all);
    if (g_failures) fprintf(stderr, "%d checks failed\n", g_failures);
    return g_failures ? 1 : 0;
}

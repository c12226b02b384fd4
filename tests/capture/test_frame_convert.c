/* test_frame_convert.c - cap_convert_* on every pixel format, against values
 * computed independently here, plus damaged input (truncated JPEG, short raw
 * buffers, a JPEG larger than its stream says) that must fail cleanly. */
#include "capture_test_util.h"
#include "frame_source.h"
#include "image_io.h"

#include <math.h>
#include <string.h>

enum { W = 64, H = 48 };

static int near(int a, int b, int tol) { return abs(a - b) <= tol; }

static void test_mjpeg(cap_convert *cv) {
    static uint8_t rgb[W * H * 3], grey[W * H], out[W * H * 3];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *p = rgb + (y * W + x) * 3;
            p[0] = (uint8_t)(x * 4); p[1] = (uint8_t)(y * 5); p[2] = 128;
        }
    uint8_t *jpg;
    size_t sz;
    CHECK(img_jpeg_encode(rgb, W, H, W * 3, 3, 95, &jpg, &sz) == IMG_OK);
    cap_frame f = {CAP_FMT_MJPEG, W, H, 0, jpg, sz, 0.0, 7};
    int w, h;
    CHECK(cap_convert_grey(cv, &f, 1, grey, W, &w, &h) == CAP_OK && w == W && h == H);
    /* Luma of the middle pixel: BT.601 of the source colour, within JPEG loss. */
    const uint8_t *p = rgb + (24 * W + 32) * 3;
    int y601 = (int)lround(0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]);
    CHECK(near(grey[24 * W + 32], y601, 6));
    CHECK(cap_convert_rgb(cv, &f, out, W * 3) == CAP_OK);
    for (int c = 0; c < 3; c++) CHECK(near(out[(24 * W + 32) * 3 + c], p[c], 10));
    /* DCT scaling: half size, same brightness. */
    static uint8_t half[(W / 2) * (H / 2)];
    CHECK(cap_convert_grey(cv, &f, 2, half, W / 2, &w, &h) == CAP_OK && w == W / 2 && h == H / 2);
    CHECK(near(half[12 * (W / 2) + 16], y601, 8));
    CHECK(cap_convert_grey(cv, &f, 3, half, W, &w, &h) == CAP_UNSUPPORTED);
    CHECK(cap_convert_grey(cv, &f, 1, grey, W - 1, &w, &h) != CAP_OK); /* stride too small */

    /* Truncated: half the bytes, no EOI. Must be CAP_CORRUPT, never a crash. */
    cap_frame t = f;
    t.size = sz / 2;
    CHECK(cap_convert_grey(cv, &t, 1, grey, W, &w, &h) == CAP_CORRUPT);
    CHECK(strstr(cap_convert_error(cv), "truncated") && strstr(cap_convert_error(cv), "frame 7"));
    CHECK(cap_convert_rgb(cv, &t, out, W * 3) == CAP_CORRUPT);
    /* Markers intact but the middle damaged. */
    uint8_t *bad = malloc(sz);
    memcpy(bad, jpg, sz);
    memset(bad + 2, 0x00, sz / 2);
    cap_frame d = f;
    d.data = bad;
    CHECK(cap_convert_grey(cv, &d, 1, grey, W, &w, &h) == CAP_CORRUPT);
    /* The decoder recovers: the next good frame decodes (TurboJPEG 2.1
     * leaves its handle broken after a bad header; the converter resets it). */
    CHECK(cap_convert_grey(cv, &f, 1, grey, W, &w, &h) == CAP_OK);
    /* A JPEG bigger than the stream says would overrun the caller's buffer. */
    cap_frame big = f;
    big.width = W / 2;
    CHECK(cap_convert_grey(cv, &big, 1, grey, W, &w, &h) == CAP_CORRUPT);
    CHECK(strstr(cap_convert_error(cv), "64x48"));
    free(bad);
    free(jpg);
}

static void test_yuyv(cap_convert *cv) {
    static uint8_t yuyv[W * H * 2], grey[W * H], out[W * H * 3];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x += 2) {
            uint8_t *q = yuyv + y * W * 2 + x * 2;
            q[0] = (uint8_t)(16 + x * 3); q[1] = 128; q[2] = (uint8_t)(17 + x * 3); q[3] = 128;
        }
    /* One pixel pair with colour: pure red in BT.601 limited range. */
    uint8_t *red = yuyv + 10 * W * 2 + 20 * 2;
    red[0] = 81; red[1] = 90; red[2] = 81; red[3] = 240;
    cap_frame f = {CAP_FMT_YUYV, W, H, W * 2, yuyv, sizeof(yuyv), 0.0, 0};
    int w, h;
    CHECK(cap_convert_grey(cv, &f, 1, grey, W, &w, &h) == CAP_OK && w == W && h == H);
    CHECK(grey[5 * W + 10] == 16 + 10 * 3 && grey[5 * W + 11] == 17 + 10 * 3);
    CHECK(grey[10 * W + 20] == 81);
    /* Box average at 1/2: the mean of the 2x2 block. */
    static uint8_t half[(W / 2) * (H / 2)];
    CHECK(cap_convert_grey(cv, &f, 2, half, W / 2, &w, &h) == CAP_OK && w == W / 2 && h == H / 2);
    CHECK(half[2 * (W / 2) + 5] == (16 + 30 + 17 + 30 + 16 + 30 + 17 + 30 + 2) / 4);
    CHECK(cap_convert_rgb(cv, &f, out, W * 3) == CAP_OK);
    CHECK(out[(5 * W + 0) * 3 + 0] == 0 && out[(5 * W + 0) * 3 + 1] == 0); /* Y=16: black */
    const uint8_t *r = out + (10 * W + 20) * 3;
    CHECK(r[0] >= 250 && r[1] <= 5 && r[2] <= 5);
    /* Short buffer: truncated, not an overread. */
    cap_frame s = f;
    s.size = sizeof(yuyv) - 1;
    CHECK(cap_convert_grey(cv, &s, 1, grey, W, &w, &h) == CAP_CORRUPT);
    CHECK(cap_convert_rgb(cv, &s, out, W * 3) == CAP_CORRUPT);
    s = f;
    s.stride = W; /* narrower than 2 bytes a pixel */
    CHECK(cap_convert_grey(cv, &s, 1, grey, W, &w, &h) == CAP_UNSUPPORTED);
}

static void test_grey_i420(cap_convert *cv) {
    static uint8_t g[(W + 8) * H], grey[W * H], out[W * H * 3];
    for (int i = 0; i < (W + 8) * H; i++) g[i] = (uint8_t)(i * 7);
    cap_frame f = {CAP_FMT_GREY, W, H, W + 8, g, sizeof(g), 0.0, 0};
    int w, h;
    CHECK(cap_convert_grey(cv, &f, 1, grey, W, &w, &h) == CAP_OK);
    CHECK(grey[3 * W + 5] == g[3 * (W + 8) + 5]);
    CHECK(cap_convert_rgb(cv, &f, out, W * 3) == CAP_OK);
    CHECK(out[(3 * W + 5) * 3 + 2] == g[3 * (W + 8) + 5]);

    /* I420: Y plane then U, V at half size; neutral chroma = grey levels. */
    static uint8_t yuv[W * H * 3 / 2];
    for (int i = 0; i < W * H; i++) yuv[i] = (uint8_t)(16 + (i % 200));
    memset(yuv + W * H, 128, W * H / 2);
    cap_frame q = {CAP_FMT_I420, W, H, W, yuv, sizeof(yuv), 0.0, 0};
    CHECK(cap_convert_grey(cv, &q, 1, grey, W, &w, &h) == CAP_OK);
    CHECK(memcmp(grey, yuv, W * H) == 0);
    CHECK(cap_convert_rgb(cv, &q, out, W * 3) == CAP_OK);
    int yv = yuv[100];
    int expect = (int)lround((yv - 16) * 255.0 / 219.0);
    CHECK(near(out[100 * 3], expect, 1) && out[100 * 3] == out[100 * 3 + 1]);
    q.size = W * H; /* chroma missing */
    CHECK(cap_convert_rgb(cv, &q, out, W * 3) == CAP_CORRUPT);
    q.size = sizeof(yuv);
    q.width = 0;
    CHECK(cap_convert_grey(cv, &q, 1, grey, W, &w, &h) == CAP_UNSUPPORTED);
}

int main(void) {
    cap_convert *cv = cap_convert_new();
    CHECK(cv);
    test_mjpeg(cv);
    test_yuyv(cv);
    test_grey_i420(cv);
    CHECK(cap_convert_grey(cv, NULL, 1, NULL, 0, NULL, NULL) != CAP_OK);
    cap_convert_free(cv);
    /* Status helpers. */
    CHECK(strcmp(cap_status_str(CAP_DISCONNECTED), "camera disconnected") == 0);
    CHECK(strstr(cap_status_str(CAP_BUSY), "another program"));
    CHECK(cap_status_retryable(CAP_AGAIN) && cap_status_retryable(CAP_CORRUPT));
    CHECK(!cap_status_retryable(CAP_EOF) && !cap_status_retryable(CAP_DISCONNECTED));
    puts("frame-convert: ok");
    return 0;
}

/* test_v4l2_camera.c - the V4L2 camera source against the fake camera
 * (fake_v4l2/, preloaded by meson): enumeration, modes, streaming, freshest
 * frame, corrupt frames, timeouts, unplug/replug, EIO, EBUSY, EACCES and a
 * missing camera. One subtest per run: argv[1] names it. */
#include "capture_test_util.h"
#include "image_io.h"
#include "v4l2_camera.h"

#include <linux/videodev2.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static fake_cam fc;

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static cap_source *open_default(void) {
    cap_status st;
    char err[512];
    cap_source *src = cap_camera_open(NULL, &st, err, sizeof(err));
    if (!src) fprintf(stderr, "open failed: %s (%s)\n", err, cap_status_str(st));
    CHECK(src && st == CAP_OK);
    return src;
}

/* Reads until a frame arrives (at most 2 s), checking the status. */
static cap_status read_ok(cap_source *src, cap_frame *f) {
    cap_status st = CAP_AGAIN;
    for (int i = 0; i < 20 && st == CAP_AGAIN; i++) st = cap_source_read(src, f, 100);
    if (st != CAP_OK) fprintf(stderr, "read: %s: %s\n", cap_status_str(st), cap_source_error(src));
    return st;
}

static void write_jpeg_dir(const char *dir, int n, int w, int h) {
    uint8_t *px = malloc((size_t)w * h);
    CHECK(px);
    for (int k = 0; k < n; k++) {
        memset(px, 40 + 20 * k, (size_t)w * h); /* frame k is flat grey 40 + 20k */
        uint8_t *jpg;
        size_t sz;
        CHECK(img_jpeg_encode(px, w, h, w, 1, 90, &jpg, &sz) == IMG_OK);
        char p[400];
        snprintf(p, sizeof(p), "%s/frame%02d.jpg", dir, k);
        FILE *f = fopen(p, "wb");
        CHECK(f && fwrite(jpg, 1, sz, f) == sz && fclose(f) == 0);
        free(jpg);
    }
    free(px);
}

static double grey_mean(const uint8_t *p, int w, int h) {
    double s = 0;
    for (int i = 0; i < w * h; i++) s += p[i];
    return s / (w * h);
}

/* ---------------------------------------------------------------- tests */

static int t_enumerate(void) {
    char meta[300], junk[300];
    snprintf(meta, sizeof(meta), "%s/video1", fc.dir);
    setenv("FAKE_V4L2_META_DEVICE", meta, 1);
    setenv("FAKE_V4L2_CARD", "Test Cam A", 1);
    setenv("FAKE_V4L2_BUS", "usb-0000:00:14.0-3", 1);
    /* Not video nodes: must be ignored, not opened. */
    snprintf(junk, sizeof(junk), "%s/videox", fc.dir);
    fclose(fopen(junk, "w"));
    snprintf(junk, sizeof(junk), "%s/media0", fc.dir);
    fclose(fopen(junk, "w"));

    cap_v4l2_device devs[8];
    int n = cap_v4l2_list_devices(fc.dir, devs, 8);
    CHECK(n == 1); /* video1 is a metadata node */
    CHECK(strcmp(devs[0].card, "Test Cam A") == 0);
    CHECK(strcmp(devs[0].bus_info, "usb-0000:00:14.0-3") == 0);
    CHECK(strcmp(devs[0].path, fc.device) == 0);
    CHECK(strcmp(devs[0].driver, "fakev4l2") == 0);
    CHECK(devs[0].status == CAP_OK);
    /* The directory comes from SMILE_V4L2_DIR when not given. */
    CHECK(strcmp(cap_v4l2_dir(NULL), fc.dir) == 0);
    CHECK(cap_v4l2_list_devices(NULL, devs, 8) == 1);
    CHECK(cap_v4l2_list_devices("/nonexistent-dir-for-test", devs, 8) == -1);

    /* Hotplug: the stamp changes on unplug and again on replug. */
    uint64_t s1 = cap_v4l2_dir_stamp(fc.dir);
    CHECK(s1 != 0);
    CHECK(cap_v4l2_dir_stamp(fc.dir) == s1);
    CHECK(fake_cam_control(&fc, "present=0\n") == 0);
    uint64_t s2 = cap_v4l2_dir_stamp(fc.dir);
    CHECK(s2 != s1);
    CHECK(cap_v4l2_list_devices(fc.dir, devs, 8) == 0);
    CHECK(fake_cam_control(&fc, "present=1\n") == 0);
    CHECK(cap_v4l2_dir_stamp(fc.dir) != s2);
    CHECK(cap_v4l2_list_devices(fc.dir, devs, 8) == 1);
    CHECK(cap_v4l2_dir_stamp("/nonexistent-dir-for-test") == 0);

    /* A node we may not open is listed with the reason. */
    CHECK(fake_cam_control(&fc, "open_error=eacces\n") == 0);
    CHECK(cap_v4l2_list_devices(fc.dir, devs, 8) == 1);
    CHECK(devs[0].status == CAP_PERMISSION && devs[0].card[0] == 0);
    /* The metadata node cannot be opened as a camera. */
    CHECK(fake_cam_control(&fc, "present=1\n") == 0);
    cap_camera_config cfg = {.device = meta};
    cap_status st;
    char err[512];
    CHECK(cap_camera_open(&cfg, &st, err, sizeof(err)) == NULL && st == CAP_UNSUPPORTED);
    CHECK(strstr(err, "not a capture node"));
    unsetenv("FAKE_V4L2_META_DEVICE");
    return 0;
}

static int has_mode(const cap_v4l2_mode *m, int n, uint32_t fc4, int w, int h, int fps) {
    for (int i = 0; i < n; i++)
        if (m[i].fourcc == fc4 && m[i].width == w && m[i].height == h &&
            fabs(cap_v4l2_mode_fps(&m[i]) - fps) < 1e-6)
            return 1;
    return 0;
}

static int t_modes(void) {
    setenv("FAKE_V4L2_FORMATS", "MJPG,YUYV", 1);
    setenv("FAKE_V4L2_SIZES", "640x480,320x240,1280x720", 1);
    setenv("FAKE_V4L2_FPS", "30,15", 1);
    cap_v4l2_mode *m;
    int n;
    char err[256];
    CHECK(cap_v4l2_list_modes(fc.device, &m, &n, err, sizeof(err)) == CAP_OK);
    CHECK(n == 12);
    int sizes[3][2] = {{640, 480}, {320, 240}, {1280, 720}};
    for (int s = 0; s < 3; s++)
        for (int r = 15; r <= 30; r += 15) {
            CHECK(has_mode(m, n, V4L2_PIX_FMT_MJPEG, sizes[s][0], sizes[s][1], r));
            CHECK(has_mode(m, n, V4L2_PIX_FMT_YUYV, sizes[s][0], sizes[s][1], r));
        }
    CHECK(m[0].fourcc == V4L2_PIX_FMT_MJPEG && m[0].format == CAP_FMT_MJPEG);
    CHECK(strcmp(m[0].description, "Motion-JPEG") == 0);
    CHECK(m[n - 1].format == CAP_FMT_YUYV);
    free(m);

    /* Stepwise sizes are sampled at the usual sizes inside the range. */
    setenv("FAKE_V4L2_SIZES", "stepwise:160x120-1280x720/16x8", 1);
    setenv("FAKE_V4L2_FORMATS", "MJPG", 1);
    CHECK(cap_v4l2_list_modes(fc.device, &m, &n, err, sizeof(err)) == CAP_OK);
    CHECK(has_mode(m, n, V4L2_PIX_FMT_MJPEG, 640, 480, 30));
    CHECK(has_mode(m, n, V4L2_PIX_FMT_MJPEG, 160, 120, 15));
    CHECK(has_mode(m, n, V4L2_PIX_FMT_MJPEG, 1280, 720, 30));
    CHECK(!has_mode(m, n, V4L2_PIX_FMT_MJPEG, 1920, 1080, 30));
    if (n != 9 * 2) for (int i = 0; i < n; i++) fprintf(stderr, "%dx%d@%g\n", m[i].width, m[i].height, cap_v4l2_mode_fps(&m[i]));
    CHECK(n == 8 * 2); /* 1024x768 and up do not fit in 720 rows */
    free(m);

    /* A continuous interval range is sampled at the usual rates. */
    setenv("FAKE_V4L2_SIZES", "640x480", 1);
    setenv("FAKE_V4L2_FPS", "continuous:5-30", 1);
    CHECK(cap_v4l2_list_modes(fc.device, &m, &n, err, sizeof(err)) == CAP_OK);
    CHECK(n == 7); /* 30 25 24 20 15 10 5 */
    CHECK(has_mode(m, n, V4L2_PIX_FMT_MJPEG, 640, 480, 24) && !has_mode(m, n, V4L2_PIX_FMT_MJPEG, 640, 480, 60));
    free(m);
    cap_camera_config cfg = {.fps = 20};
    cap_status st;
    cap_source *src = cap_camera_open(&cfg, &st, err, sizeof(err));
    CHECK(src && fabs(cap_source_fps(src) - 20) < 1e-6);
    cap_source_free(src);

    /* A camera with no format we read is refused with a reason. */
    setenv("FAKE_V4L2_FORMATS", "H264", 1);
    CHECK(cap_v4l2_list_modes(fc.device, &m, &n, err, sizeof(err)) == CAP_UNSUPPORTED);
    CHECK(strstr(err, "no format"));
    CHECK(cap_v4l2_list_modes("/nonexistent/video9", &m, &n, err, sizeof(err)) == CAP_NO_DEVICE);

    /* Picking: format first (MJPEG over YUYV), then size, then rate. */
    cap_v4l2_mode pm[3] = {
        {V4L2_PIX_FMT_YUYV, CAP_FMT_YUYV, 640, 480, 1, 30, "YUYV"},
        {V4L2_PIX_FMT_MJPEG, CAP_FMT_MJPEG, 1280, 720, 1, 30, "MJPEG"},
        {V4L2_PIX_FMT_MJPEG, CAP_FMT_MJPEG, 1280, 720, 1, 15, "MJPEG"},
    };
    CHECK(cap_v4l2_pick_mode(pm, 3, 0, 0, 0, 0) == 1);
    CHECK(cap_v4l2_pick_mode(pm, 3, 0, 1280, 720, 15) == 2);
    CHECK(cap_v4l2_pick_mode(pm, 3, V4L2_PIX_FMT_YUYV, 0, 0, 0) == 0);
    CHECK(cap_v4l2_pick_mode(pm, 0, 0, 0, 0, 0) == -1);
    return 0;
}

static int t_default_mode(void) {
    setenv("FAKE_V4L2_FORMATS", "YUYV,MJPG", 1); /* MJPEG preferred even when listed second */
    setenv("FAKE_V4L2_SIZES", "1280x720,640x480,320x240", 1);
    setenv("FAKE_V4L2_FPS", "15,30", 1);
    setenv("FAKE_V4L2_CARD", "Default Cam", 1);
    cap_source *src = open_default();
    cap_v4l2_mode m;
    CHECK(cap_camera_is_camera(src));
    CHECK(cap_camera_mode(src, &m) == CAP_OK);
    CHECK(m.fourcc == V4L2_PIX_FMT_MJPEG && m.width == 640 && m.height == 480);
    CHECK(fabs(cap_v4l2_mode_fps(&m) - 30) < 1e-6);
    CHECK(fabs(cap_source_fps(src) - 30) < 1e-6);
    CHECK(strcmp(cap_source_name(src), "Default Cam") == 0);
    CHECK(strcmp(cap_camera_path(src), fc.device) == 0);
    CHECK(cap_source_frame_count(src) == -1);
    cap_frame f;
    CHECK(read_ok(src, &f) == CAP_OK);
    CHECK(f.format == CAP_FMT_MJPEG && f.width == 640 && f.height == 480);
    CHECK(img_jpeg_markers_ok(f.data, f.size));
    cap_source_free(src);

    /* Opening by card name finds the same node. */
    cap_camera_config cfg = {.device = "Default Cam"};
    cap_status st;
    char err[512];
    src = cap_camera_open(&cfg, &st, err, sizeof(err));
    CHECK(src && strcmp(cap_camera_path(src), fc.device) == 0);
    cap_source_free(src);
    return 0;
}

static int t_yuyv_fallback(void) {
    setenv("FAKE_V4L2_FORMATS", "YUYV", 1);
    cap_source *src = open_default();
    cap_v4l2_mode m;
    CHECK(cap_camera_mode(src, &m) == CAP_OK);
    CHECK(m.fourcc == V4L2_PIX_FMT_YUYV && m.width == 640 && m.height == 480);
    cap_frame f;
    CHECK(read_ok(src, &f) == CAP_OK);
    CHECK(f.format == CAP_FMT_YUYV && f.stride == 1280 && f.size >= (size_t)1280 * 480);
    cap_convert *cv = cap_convert_new();
    static uint8_t grey[640 * 480];
    int w, h;
    CHECK(cap_convert_grey(cv, &f, 1, grey, 640, &w, &h) == CAP_OK && w == 640 && h == 480);
    /* The Y plane is the grey image: spot-check against the raw bytes. */
    CHECK(grey[0] == f.data[0] && grey[479 * 640 + 639] == f.data[479 * 1280 + 639 * 2]);
    cap_convert_free(cv);
    cap_source_free(src);
    return 0;
}

static int t_choose_mode(void) {
    setenv("FAKE_V4L2_FORMATS", "MJPG,YUYV", 1);
    setenv("FAKE_V4L2_SIZES", "640x480,320x240", 1);
    setenv("FAKE_V4L2_FPS", "30,15", 1);
    cap_camera_config cfg = {.device = fc.device, .fourcc = V4L2_PIX_FMT_YUYV, .width = 320,
                             .height = 240, .fps = 15, .n_buffers = 3};
    cap_status st;
    char err[512];
    cap_source *src = cap_camera_open(&cfg, &st, err, sizeof(err));
    CHECK(src);
    cap_v4l2_mode m;
    CHECK(cap_camera_mode(src, &m) == CAP_OK);
    CHECK(m.fourcc == V4L2_PIX_FMT_YUYV && m.width == 320 && m.height == 240);
    CHECK(fabs(cap_source_fps(src) - 15) < 1e-6);
    cap_frame f;
    CHECK(read_ok(src, &f) == CAP_OK && f.width == 320 && f.height == 240 && f.stride == 640);
    cap_source_free(src);

    /* A grey-only camera works too; its frames are the grey image. */
    setenv("FAKE_V4L2_FORMATS", "GREY", 1);
    src = cap_camera_open(NULL, &st, err, sizeof(err));
    CHECK(src && cap_camera_mode(src, &m) == CAP_OK && m.format == CAP_FMT_GREY);
    CHECK(read_ok(src, &f) == CAP_OK && f.format == CAP_FMT_GREY && f.stride == 640);
    cap_convert *cv = cap_convert_new();
    static uint8_t grey[640 * 480];
    int w, h;
    CHECK(cap_convert_grey(cv, &f, 2, grey, 320, &w, &h) == CAP_OK && w == 320 && h == 240);
    CHECK(grey[0] == (f.data[0] + f.data[1] + f.data[640] + f.data[641] + 2) / 4);
    cap_convert_free(cv);
    cap_source_free(src);
    return 0;
}

static int t_frames_grey(void) {
    CHECK(fake_cam_control(&fc, "present=1\nrate=max\n") == 0);
    write_jpeg_dir(fc.ctldir, 8, 640, 480);
    setenv("FAKE_V4L2_SOURCE", fc.ctldir, 1);
    cap_source *src = open_default();
    cap_convert *cv = cap_convert_new();
    static uint8_t grey[640 * 480], small[320 * 240];
    double last_ts = -1;
    int64_t last_index = -1;
    for (int i = 0; i < 24; i++) {
        cap_frame f;
        CHECK(read_ok(src, &f) == CAP_OK);
        int w, h;
        CHECK(cap_convert_grey(cv, &f, 1, grey, 640, &w, &h) == CAP_OK && w == 640 && h == 480);
        /* Frame k of the source is flat grey 40 + 20k; index counts from 0. */
        double want = 40 + 20 * (double)(f.index % 8);
        CHECK(fabs(grey_mean(grey, w, h) - want) < 2.0);
        CHECK(f.index > last_index && f.timestamp_s >= last_ts);
        last_index = f.index;
        last_ts = f.timestamp_s;
        CHECK(cap_convert_grey(cv, &f, 2, small, 320, &w, &h) == CAP_OK && w == 320 && h == 240);
        CHECK(fabs(grey_mean(small, w, h) - want) < 2.0);
    }
    cap_stats s;
    cap_source_stats(src, &s);
    CHECK(s.delivered == 24 && s.dropped_corrupt == 0);
    cap_convert_free(cv);
    cap_source_free(src);
    return 0;
}

static int t_avi_source(void) {
    const char *vd = getenv("SMILE_VIDEOS");
    char avi[512];
    snprintf(avi, sizeof(avi), "%s/smiles300_640x480_mjpeg.avi", vd ? vd : "");
    if (!vd || access(avi, R_OK) != 0) {
        fprintf(stderr, "skip: %s not found\n", avi);
        return 77;
    }
    setenv("FAKE_V4L2_SOURCE", avi, 1);
    CHECK(fake_cam_control(&fc, "rate=max\n") == 0);
    cap_source *src = open_default();
    cap_convert *cv = cap_convert_new();
    static uint8_t grey[640 * 480];
    double prev = -1;
    int changed = 0;
    for (int i = 0; i < 30; i++) {
        cap_frame f;
        CHECK(read_ok(src, &f) == CAP_OK);
        int w, h;
        CHECK(cap_convert_grey(cv, &f, 1, grey, 640, &w, &h) == CAP_OK);
        double m = grey_mean(grey, w, h);
        CHECK(m > 5 && m < 250); /* a real picture, not blank */
        if (prev >= 0 && fabs(m - prev) > 1e-9) changed++;
        prev = m;
    }
    CHECK(changed > 0); /* successive frames of the video differ */
    cap_convert_free(cv);
    cap_source_free(src);
    return 0;
}

static int t_drain_freshest(void) {
    setenv("FAKE_V4L2_FPS", "50", 1);
    cap_source *src = open_default();
    cap_frame f;
    CHECK(read_ok(src, &f) == CAP_OK);
    int64_t first = f.index;
    sleep_ms(300); /* ~15 frames come due; only the 3 queued buffers catch any */
    CHECK(read_ok(src, &f) == CAP_OK);
    cap_stats s;
    cap_source_stats(src, &s);
    CHECK(s.skipped_stale >= 2);      /* the two older full buffers went back */
    CHECK(f.index >= first + 3);      /* the newest of the three */
    CHECK(read_ok(src, &f) == CAP_OK); /* and the next one is live */
    CHECK(f.index >= first + 10);     /* frames lost while nobody read are counted */
    CHECK(cap_now_s() - f.timestamp_s < 0.5);
    cap_source_free(src);
    return 0;
}

static int t_corrupt(void) {
    CHECK(fake_cam_control(&fc, "rate=max\ncorrupt_every=1\n") == 0);
    cap_source *src = open_default();
    cap_frame f;
    CHECK(cap_source_read(src, &f, 500) == CAP_CORRUPT);
    CHECK(strstr(cap_source_error(src), "truncated"));
    CHECK(cap_status_retryable(CAP_CORRUPT));
    /* Every second frame truncated: exactly half are dropped and counted. */
    CHECK(fake_cam_control(&fc, "rate=max\ncorrupt_every=2\n") == 0);
    int ok = 0, bad = 0;
    for (int i = 0; i < 20; i++) {
        cap_status st = cap_source_read(src, &f, 500);
        CHECK(st == CAP_OK || st == CAP_CORRUPT);
        if (st == CAP_OK) {
            ok++;
            CHECK(img_jpeg_markers_ok(f.data, f.size));
        } else {
            bad++;
        }
    }
    CHECK(ok == 10 && bad == 10);
    cap_stats s;
    cap_source_stats(src, &s);
    CHECK(s.dropped_corrupt == 11 && s.delivered == 10);
    CHECK(fake_cam_control(&fc, "rate=max\n") == 0);
    CHECK(cap_source_read(src, &f, 500) == CAP_OK);
    cap_source_free(src);

    /* A short YUYV frame is dropped the same way. */
    setenv("FAKE_V4L2_FORMATS", "YUYV", 1);
    CHECK(fake_cam_control(&fc, "rate=max\ncorrupt_every=1\n") == 0);
    src = open_default();
    CHECK(cap_source_read(src, &f, 500) == CAP_CORRUPT);
    CHECK(strstr(cap_source_error(src), "short"));
    cap_source_free(src);
    return 0;
}

static int t_timeout(void) {
    cap_source *src = open_default();
    cap_frame f;
    CHECK(read_ok(src, &f) == CAP_OK);
    CHECK(fake_cam_control(&fc, "stall=1\n") == 0);
    double t0 = cap_now_s();
    CHECK(cap_source_read(src, &f, 150) == CAP_AGAIN);
    double dt = cap_now_s() - t0;
    CHECK(dt >= 0.14 && dt < 2.0);
    CHECK(strstr(cap_source_error(src), "within 150 ms"));
    CHECK(cap_status_retryable(CAP_AGAIN));
    cap_stats s;
    cap_source_stats(src, &s);
    CHECK(s.timeouts == 1);
    t0 = cap_now_s();
    CHECK(cap_source_read(src, &f, 0) == CAP_AGAIN); /* 0: just look */
    CHECK(cap_now_s() - t0 < 0.1);
    CHECK(fake_cam_control(&fc, "stall=0\n") == 0);
    CHECK(read_ok(src, &f) == CAP_OK);
    CHECK(cap_source_read(src, &f, -1) == CAP_OK); /* no limit: waits for the next frame */
    cap_source_free(src);
    return 0;
}

static int t_unplug_replug(void) {
    cap_source *src = open_default();
    cap_frame f;
    CHECK(read_ok(src, &f) == CAP_OK);
    int64_t before = f.index;
    CHECK(fake_cam_control(&fc, "present=0\n") == 0);
    CHECK(cap_source_read(src, &f, 500) == CAP_DISCONNECTED);
    CHECK(strstr(cap_source_error(src), "camera disconnected"));
    CHECK(!cap_status_retryable(CAP_DISCONNECTED));
    CHECK(cap_source_read(src, &f, 10) == CAP_DISCONNECTED); /* stays so, without blocking */
    CHECK(access(fc.device, F_OK) != 0);                    /* the node is gone */
    cap_backoff b;
    cap_backoff_reset(&b);
    CHECK(cap_camera_reconnect(src, &b, 300) != CAP_OK); /* still unplugged */
    CHECK(strstr(cap_source_error(src), "reconnect failed"));
    /* Another camera on the old node is not mistaken for ours. */
    setenv("FAKE_V4L2_CARD", "Someone Else's Camera", 1);
    CHECK(fake_cam_control(&fc, "present=1\n") == 0);
    CHECK(cap_camera_reopen(src) == CAP_NO_DEVICE);
    CHECK(strstr(cap_source_error(src), "Fake V4L2 Camera"));
    CHECK(cap_source_read(src, &f, 10) == CAP_DISCONNECTED);
    unsetenv("FAKE_V4L2_CARD");
    CHECK(fake_cam_control(&fc, "present=0\n") == 0);
    /* Back, under another node name: found again by card name. */
    char newpath[300], text[400];
    snprintf(newpath, sizeof(newpath), "%s/video3", fc.dir);
    snprintf(text, sizeof(text), "present=1\npath=%s\n", newpath);
    CHECK(fake_cam_control(&fc, text) == 0);
    cap_status st = CAP_AGAIN;
    for (int i = 0; i < 10 && st != CAP_OK; i++) st = cap_camera_reconnect(src, &b, 500);
    CHECK(st == CAP_OK);
    CHECK(strcmp(cap_camera_path(src), newpath) == 0);
    CHECK(b.attempts == 0 && fabs(b.delay_s - 0.25) < 1e-9); /* reset on success */
    CHECK(read_ok(src, &f) == CAP_OK);
    CHECK(f.index > before); /* numbering continues across the reconnect */
    cap_v4l2_mode m;
    CHECK(cap_camera_mode(src, &m) == CAP_OK && m.width == 640 && m.fourcc == V4L2_PIX_FMT_MJPEG);
    cap_source_free(src);
    return 0;
}

static int t_eio(void) {
    cap_source *src = open_default();
    cap_frame f;
    CHECK(read_ok(src, &f) == CAP_OK);
    CHECK(fake_cam_control(&fc, "error=eio\n") == 0);
    CHECK(cap_source_read(src, &f, 500) == CAP_DISCONNECTED);
    CHECK(strstr(cap_source_error(src), "camera disconnected"));
    CHECK(fake_cam_control(&fc, "error=none\n") == 0);
    CHECK(cap_camera_reopen(src) == CAP_OK);
    CHECK(read_ok(src, &f) == CAP_OK);
    /* ENODEV without the node going away is the same story. */
    CHECK(fake_cam_control(&fc, "error=enodev\n") == 0);
    CHECK(cap_source_read(src, &f, 500) == CAP_DISCONNECTED);
    CHECK(fake_cam_control(&fc, "\n") == 0);
    CHECK(cap_camera_reopen(src) == CAP_OK);
    cap_source_free(src);
    return 0;
}

static int t_busy(void) {
    cap_status st;
    char err[512];
    CHECK(fake_cam_control(&fc, "open_error=ebusy\n") == 0);
    cap_camera_config cfg = {.device = fc.device};
    CHECK(cap_camera_open(&cfg, &st, err, sizeof(err)) == NULL);
    CHECK(st == CAP_BUSY && strstr(err, "another program is using the camera"));
    /* The usual case: open works, setting the format is refused. */
    CHECK(fake_cam_control(&fc, "busy=1\n") == 0);
    CHECK(cap_camera_open(&cfg, &st, err, sizeof(err)) == NULL);
    CHECK(st == CAP_BUSY && strstr(err, "another program is using the camera"));
    CHECK(fake_cam_control(&fc, "\n") == 0);
    cap_source *src = cap_camera_open(&cfg, &st, err, sizeof(err));
    CHECK(src && st == CAP_OK);
    cap_source_free(src);
    return 0;
}

static int t_permission(void) {
    cap_status st;
    char err[512];
    CHECK(fake_cam_control(&fc, "open_error=eacces\n") == 0);
    cap_camera_config cfg = {.device = fc.device};
    CHECK(cap_camera_open(&cfg, &st, err, sizeof(err)) == NULL);
    CHECK(st == CAP_PERMISSION && strstr(err, "'video' group") && strstr(err, "usermod -aG video"));
    /* Without a device named, the one we found but may not open is explained too. */
    CHECK(cap_camera_open(NULL, &st, err, sizeof(err)) == NULL);
    CHECK(st == CAP_PERMISSION && strstr(err, "'video' group"));
    return 0;
}

static int t_no_device(void) {
    cap_status st;
    char err[512];
    CHECK(fake_cam_control(&fc, "present=0\n") == 0);
    CHECK(cap_camera_open(NULL, &st, err, sizeof(err)) == NULL);
    CHECK(st == CAP_NO_DEVICE && strstr(err, "no camera found"));
    cap_camera_config cfg = {.device = fc.device};
    CHECK(cap_camera_open(&cfg, &st, err, sizeof(err)) == NULL && st == CAP_NO_DEVICE);
    CHECK(fake_cam_control(&fc, "present=1\n") == 0);
    cfg.device = "No Such Camera";
    CHECK(cap_camera_open(&cfg, &st, err, sizeof(err)) == NULL);
    CHECK(st == CAP_NO_DEVICE && strstr(err, "No Such Camera"));
    /* A file that is not a V4L2 device at all. */
    char other[300];
    snprintf(other, sizeof(other), "%s/control", fc.ctldir);
    cfg.device = other;
    CHECK(cap_camera_open(&cfg, &st, err, sizeof(err)) == NULL && st == CAP_UNSUPPORTED);
    return 0;
}

static int t_reconnect_backoff(void) {
    cap_backoff b;
    cap_backoff_reset(&b);
    double want[] = {0.25, 0.5, 1, 2, 2, 2};
    for (int i = 0; i < 6; i++) CHECK(fabs(cap_backoff_next_delay(&b) - want[i]) < 1e-9);
    CHECK(b.attempts == 6);
    /* The schedule in action: unplugged for ~0.6 s, attempts at +0.25, +0.75, ... */
    cap_source *src = open_default();
    cap_frame f;
    CHECK(read_ok(src, &f) == CAP_OK);
    CHECK(fake_cam_control(&fc, "present=0\n") == 0);
    CHECK(cap_source_read(src, &f, 200) == CAP_DISCONNECTED);
    cap_backoff_reset(&b);
    double t0 = cap_now_s();
    CHECK(cap_camera_reconnect(src, &b, 600) != CAP_OK);
    CHECK(b.attempts == 2); /* at 0.25 s and 0.75 s would be 3; 0.6 s allows 1 made + 1 scheduled */
    CHECK(fake_cam_control(&fc, "present=1\n") == 0);
    CHECK(cap_camera_reconnect(src, &b, 3000) == CAP_OK);
    double dt = cap_now_s() - t0;
    CHECK(dt >= 0.7 && dt < 3.0); /* the second attempt waits its 0.5 s */
    CHECK(read_ok(src, &f) == CAP_OK);
    cap_source_free(src);
    return 0;
}

static const struct { const char *name; int (*fn)(void); } tests[] = {
    {"enumerate", t_enumerate},         {"modes", t_modes},
    {"default-mode", t_default_mode},   {"yuyv-fallback", t_yuyv_fallback},
    {"choose-mode", t_choose_mode},     {"frames-grey", t_frames_grey},
    {"avi-source", t_avi_source},       {"drain-freshest", t_drain_freshest},
    {"corrupt", t_corrupt},             {"timeout", t_timeout},
    {"unplug-replug", t_unplug_replug}, {"eio", t_eio},
    {"busy", t_busy},                   {"permission", t_permission},
    {"no-device", t_no_device},         {"reconnect-backoff", t_reconnect_backoff},
};

/* A failed CHECK exits; the temp dirs still go. */
static void cleanup_at_exit(void) { fake_cam_cleanup(&fc); }

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s TEST\n", argv[0]);
        return 2;
    }
    if (!fake_cam_loaded()) {
        fprintf(stderr, "the fake camera is not preloaded (LD_PRELOAD=.../libfakev4l2.so)\n");
        return 1;
    }
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        if (strcmp(argv[1], tests[i].name)) continue;
        atexit(cleanup_at_exit);
        CHECK(fake_cam_setup(&fc) == 0);
        int r = tests[i].fn();
        if (r == 0) printf("%s: ok\n", argv[1]);
        return r;
    }
    fprintf(stderr, "no test named %s\n", argv[1]);
    return 2;
}

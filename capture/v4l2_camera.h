/* v4l2_camera.h - V4L2 cameras: find them, list their modes as data, and open
 * one as a cap_source (mmap streaming, freshest frame, reconnect helpers).
 *
 * The device directory is /dev unless a dir argument or env SMILE_V4L2_DIR
 * says otherwise (tests and the fake camera use a temp dir). Nothing here
 * needs root or GTK.
 *
 * A worker loop (sketch):
 *     cap_source *cam = cap_camera_open(NULL, &st, err, sizeof err);
 *     cap_backoff b; cap_backoff_reset(&b);
 *     while (!quit) {
 *         st = cap_source_read(cam, &f, 200);
 *         if (st == CAP_OK) { cap_convert_grey(cv, &f, 1, grey, w, &gw, &gh); ... }
 *         else if (st == CAP_DISCONNECTED) { show(cap_source_error(cam));
 *                                            cap_camera_reconnect(cam, &b, 250); }
 *         else if (!cap_status_retryable(st)) { show(cap_source_error(cam)); break; }
 *     }
 * Hotplug while no camera is open: poll cap_v4l2_dir_stamp() each second (or
 * watch cap_v4l2_dir() with a GFileMonitor) and rescan with
 * cap_v4l2_list_devices() when it changes. */
#ifndef V4L2_CAMERA_H
#define V4L2_CAMERA_H

#include "frame_source.h"

#include <stddef.h>
#include <stdint.h>

/* The directory to scan: dir if non-NULL and non-empty, else $SMILE_V4L2_DIR,
 * else "/dev". */
const char *cap_v4l2_dir(const char *dir);

typedef struct {
    char path[256];     /* "/dev/video0" */
    char card[64];      /* "HD Webcam C270": what the user sees */
    char bus_info[64];  /* "usb-0000:00:14.0-1": tells two same-name cameras apart */
    char driver[32];
    cap_status status;  /* CAP_OK; or CAP_PERMISSION / CAP_BUSY when the node
                           exists but cannot be opened (card is then empty) */
} cap_v4l2_device;

/* Lists the nodes named video<N> under dir that can capture video (honouring
 * device_caps, so UVC metadata nodes are left out), sorted by N. Writes at
 * most max entries; returns how many were found (may exceed max), or -1 when
 * the directory cannot be read. Costs one open + QUERYCAP per node. */
int cap_v4l2_list_devices(const char *dir, cap_v4l2_device *out, int max);

/* A cheap fingerprint of the video<N> nodes in dir (names, inode, rdev):
 * readdir + stat only, no open. Poll it every second and call
 * cap_v4l2_list_devices when it changes, to notice hotplug. 0 when the
 * directory is missing or holds no video nodes. */
uint64_t cap_v4l2_dir_stamp(const char *dir);

/* One capture mode: a format, a frame size and a frame interval. */
typedef struct {
    uint32_t fourcc;                      /* V4L2 pixel format, e.g. V4L2_PIX_FMT_MJPEG */
    cap_pixfmt format;                    /* how its frames come out of cap_source_read */
    int width, height;
    uint32_t interval_num, interval_den;  /* seconds per frame (1/30); 0/0 if unknown */
    char description[32];                 /* the driver's format name */
} cap_v4l2_mode;

/* Every mode of the device at path whose format we can convert (MJPEG/JPEG,
 * YUYV, GREY, YUV420), in the driver's order. Stepwise/continuous sizes and
 * intervals are sampled at the usual sizes (160x120 ... 1920x1080) and rates
 * (5 ... 60 fps). *modes is malloc'd (free() it). */
cap_status cap_v4l2_list_modes(const char *path, cap_v4l2_mode **modes, int *n_modes,
                               char *errbuf, size_t errlen);

/* The mode closest to the wish: format (fourcc 0 = MJPEG, else YUYV, else
 * any), then size (0x0 = 640x480), then frame rate (0 = 30). -1 if n == 0. */
int cap_v4l2_pick_mode(const cap_v4l2_mode *modes, int n, uint32_t fourcc, int width, int height,
                       double fps);

/* fps of a mode (interval_den / interval_num), 0 if unknown. */
double cap_v4l2_mode_fps(const cap_v4l2_mode *m);

typedef struct {
    const char *device; /* a path, a card name, or NULL/"" for the first camera */
    const char *dir;    /* where to look for card names; NULL: cap_v4l2_dir(NULL) */
    uint32_t fourcc;    /* 0: MJPEG if offered, else YUYV, else anything we convert */
    int width, height;  /* 0: 640x480 (or the closest offered) */
    double fps;         /* 0: 30 */
    int n_buffers;      /* 0: 4 (3..8 used) */
} cap_camera_config;

/* Opens a camera and starts streaming. On failure returns NULL, *st gets the
 * reason (CAP_NO_DEVICE, CAP_PERMISSION, CAP_BUSY, CAP_UNSUPPORTED, ...) and
 * errbuf a sentence for the user. cfg may be NULL for all defaults.
 * cap_source_read then waits (poll) up to timeout_ms (< 0: no limit; 0: just
 * look), drains every ready
 * buffer and returns the newest (older ones count as skipped_stale); MJPEG
 * frames without SOI/EOI are dropped as CAP_CORRUPT. ENODEV/EIO give
 * CAP_DISCONNECTED, after which reads keep returning it until
 * cap_camera_reopen succeeds. */
cap_source *cap_camera_open(const cap_camera_config *cfg, cap_status *st, char *errbuf,
                            size_t errlen);

/* Non-zero if src came from cap_camera_open. */
int cap_camera_is_camera(const cap_source *src);
/* The mode actually negotiated with the driver. */
cap_status cap_camera_mode(const cap_source *src, cap_v4l2_mode *out);
/* The node the camera is open on now (may change after a reopen). */
const char *cap_camera_path(const cap_source *src);

/* One attempt to reopen a (disconnected) camera with the same mode: looks for
 * the same card name and bus, then the same card name (a camera without a
 * card name: the same path). A different camera on the old path is not taken.
 * CAP_OK when streaming again; otherwise the source stays disconnected and
 * cap_source_error() says why. */
cap_status cap_camera_reopen(cap_source *src);

/* Backoff for reconnecting: 0.25 s, 0.5 s, 1 s, 2 s, 2 s ... */
typedef struct {
    double delay_s;   /* the wait before the next attempt */
    double next_at_s; /* CLOCK_MONOTONIC time of the next attempt */
    int attempts;
} cap_backoff;
void cap_backoff_reset(cap_backoff *b);
/* Returns the current delay and doubles it for next time (capped at 2 s). */
double cap_backoff_next_delay(cap_backoff *b);

/* Tries cap_camera_reopen on the backoff schedule for at most wait_ms,
 * sleeping in between; call it again (with the same b) until CAP_OK. Returns
 * CAP_OK when streaming again, else the last attempt's status (CAP_AGAIN if
 * no attempt fell due in wait_ms). Resets b on success. */
cap_status cap_camera_reconnect(cap_source *src, cap_backoff *b, int wait_ms);

/* Monotonic clock in seconds (the clock V4L2 timestamps use). */
double cap_now_s(void);

#endif /* V4L2_CAMERA_H */

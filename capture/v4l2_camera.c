/* v4l2_camera.c - a V4L2 camera as a cap_source: mmap streaming with a few
 * buffers, non-blocking fd + poll, and reads that drain the queue so the
 * caller always gets the freshest frame (low latency beats completeness for a
 * live overlay). Unplug turns into CAP_DISCONNECTED and the fd is closed at
 * once; cap_camera_reopen finds the camera again by card name. */
#include "frame_source_impl.h"
#include "image_io.h"
#include "v4l2_private.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define CAM_MAX_BUFS 8

typedef struct {
    void *start;
    size_t length;
} cam_buf;

typedef struct {
    cap_source *src;
    int fd;
    char path[256], card[64], bus[64];
    char want_device[256], dir[256];
    cap_camera_config cfg; /* strings point into want_device/dir */
    cap_v4l2_mode mode;     /* negotiated */
    int stride;
    size_t min_bytes; /* a complete raw frame; 0 for MJPEG */
    cam_buf bufs[CAM_MAX_BUFS];
    int n_bufs;
    int held; /* buffer index the caller is reading, or -1 */
    int streaming;
    int disconnected;
    int have_seq0;
    uint32_t seq0;
    int64_t index_base, last_index;
} cam;

double cap_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void cam_stop(cam *c) {
    if (c->fd < 0) return;
    if (c->streaming) {
        int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        cap_xioctl(c->fd, VIDIOC_STREAMOFF, &type);
        c->streaming = 0;
    }
    for (int i = 0; i < c->n_bufs; i++)
        if (c->bufs[i].start && c->bufs[i].start != MAP_FAILED)
            munmap(c->bufs[i].start, c->bufs[i].length);
    memset(c->bufs, 0, sizeof(c->bufs));
    if (c->n_bufs) {
        struct v4l2_requestbuffers rb;
        memset(&rb, 0, sizeof(rb));
        rb.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        rb.memory = V4L2_MEMORY_MMAP;
        cap_xioctl(c->fd, VIDIOC_REQBUFS, &rb); /* count 0 frees; may fail on a dead device */
    }
    c->n_bufs = 0;
    c->held = -1;
    close(c->fd);
    c->fd = -1;
}

/* A failed ioctl's errno during setup or streaming. */
static cap_status ioctl_status(int err, const char *what, const char *path, char *buf, size_t len) {
    switch (err) {
    case ENODEV:
    case EIO:
    case ENXIO:
        snprintf(buf, len, "camera disconnected (%s: %s failed: %s)", path, what, strerror(err));
        return CAP_DISCONNECTED;
    case EBUSY:
        snprintf(buf, len, "camera %s: another program is using the camera (%s: busy)", path,
                 what);
        return CAP_BUSY;
    case EACCES:
    case EPERM: return cap_v4l2_open_error(err, path, buf, len);
    case ENOMEM:
        snprintf(buf, len, "camera %s: out of memory (%s)", path, what);
        return CAP_NOMEM;
    default:
        snprintf(buf, len, "camera %s: %s failed: %s", path, what, strerror(err));
        return CAP_IO;
    }
}

static void copy_field(char *dst, size_t len, const uint8_t *src, size_t srclen) {
    size_t n = strnlen((const char *)src, srclen);
    if (n >= len) n = len - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

/* Opens path, negotiates the configured mode and starts streaming. */
static cap_status cam_start(cam *c, const char *path, char *err, size_t errlen) {
    cap_status st;
    snprintf(c->path, sizeof(c->path), "%s", path);
    c->fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (c->fd < 0) return cap_v4l2_open_error(errno, path, err, errlen);

    struct v4l2_capability vc;
    memset(&vc, 0, sizeof(vc));
    if (cap_xioctl(c->fd, VIDIOC_QUERYCAP, &vc) < 0) {
        int e = errno;
        st = e == ENOTTY || e == EINVAL ? CAP_UNSUPPORTED : ioctl_status(e, "QUERYCAP", path, err, errlen);
        if (st == CAP_UNSUPPORTED) snprintf(err, errlen, "%s is not a V4L2 device", path);
        goto fail;
    }
    uint32_t caps = (vc.capabilities & V4L2_CAP_DEVICE_CAPS) ? vc.device_caps : vc.capabilities;
    if (!(caps & V4L2_CAP_VIDEO_CAPTURE) || !(caps & V4L2_CAP_STREAMING)) {
        snprintf(err, errlen, "%s cannot stream video (it is not a capture node)", path);
        st = CAP_UNSUPPORTED;
        goto fail;
    }
    copy_field(c->card, sizeof(c->card), vc.card, sizeof(vc.card));
    copy_field(c->bus, sizeof(c->bus), vc.bus_info, sizeof(vc.bus_info));

    cap_v4l2_mode *modes;
    int n_modes;
    if ((st = cap_v4l2_fd_modes(c->fd, path, &modes, &n_modes, err, errlen)) != CAP_OK) goto fail;
    int pick = cap_v4l2_pick_mode(modes, n_modes, c->cfg.fourcc, c->cfg.width, c->cfg.height,
                                  c->cfg.fps);
    cap_v4l2_mode want = modes[pick];
    free(modes);

    struct v4l2_format fmt;
    memset(&fmt, 0, sizeof(fmt));
    fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    fmt.fmt.pix.pixelformat = want.fourcc;
    fmt.fmt.pix.width = (uint32_t)want.width;
    fmt.fmt.pix.height = (uint32_t)want.height;
    fmt.fmt.pix.field = V4L2_FIELD_NONE;
    if (cap_xioctl(c->fd, VIDIOC_S_FMT, &fmt) < 0) {
        st = ioctl_status(errno, "S_FMT", path, err, errlen);
        goto fail;
    }
    int pf = cap_v4l2_pixfmt(fmt.fmt.pix.pixelformat);
    if (pf < 0 || fmt.fmt.pix.width == 0 || fmt.fmt.pix.height == 0 ||
        fmt.fmt.pix.width > 16384 || fmt.fmt.pix.height > 16384) {
        snprintf(err, errlen, "camera %s switched to a format we cannot read (%.4s %ux%u)", path,
                 (const char *)&fmt.fmt.pix.pixelformat, fmt.fmt.pix.width, fmt.fmt.pix.height);
        st = CAP_UNSUPPORTED;
        goto fail;
    }
    c->mode = want;
    c->mode.fourcc = fmt.fmt.pix.pixelformat;
    c->mode.format = (cap_pixfmt)pf;
    c->mode.width = (int)fmt.fmt.pix.width;
    c->mode.height = (int)fmt.fmt.pix.height;
    int bpp = pf == CAP_FMT_YUYV ? 2 : 1;
    c->stride = pf == CAP_FMT_MJPEG ? 0
              : fmt.fmt.pix.bytesperline >= (uint32_t)(bpp * c->mode.width) ? (int)fmt.fmt.pix.bytesperline
                                                                             : bpp * c->mode.width;
    c->min_bytes = pf == CAP_FMT_MJPEG ? 0
                 : pf == CAP_FMT_I420  ? (size_t)c->stride * c->mode.height +
                                            2 * (size_t)(c->stride / 2) * ((c->mode.height + 1) / 2)
                                       : (size_t)c->stride * c->mode.height;

    /* Frame rate: ask, then read back what the driver granted. */
    struct v4l2_streamparm parm;
    memset(&parm, 0, sizeof(parm));
    parm.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (cap_xioctl(c->fd, VIDIOC_G_PARM, &parm) == 0 &&
        (parm.parm.capture.capability & V4L2_CAP_TIMEPERFRAME) && want.interval_num) {
        parm.parm.capture.timeperframe.numerator = want.interval_num;
        parm.parm.capture.timeperframe.denominator = want.interval_den;
        if (cap_xioctl(c->fd, VIDIOC_S_PARM, &parm) < 0 && (errno == ENODEV || errno == EBUSY)) {
            st = ioctl_status(errno, "S_PARM", path, err, errlen);
            goto fail;
        }
        memset(&parm, 0, sizeof(parm));
        parm.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        if (cap_xioctl(c->fd, VIDIOC_G_PARM, &parm) == 0 &&
            parm.parm.capture.timeperframe.numerator && parm.parm.capture.timeperframe.denominator) {
            c->mode.interval_num = parm.parm.capture.timeperframe.numerator;
            c->mode.interval_den = parm.parm.capture.timeperframe.denominator;
        }
    }

    struct v4l2_requestbuffers rb;
    memset(&rb, 0, sizeof(rb));
    rb.count = (uint32_t)c->cfg.n_buffers;
    rb.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    rb.memory = V4L2_MEMORY_MMAP;
    if (cap_xioctl(c->fd, VIDIOC_REQBUFS, &rb) < 0) {
        st = ioctl_status(errno, "REQBUFS", path, err, errlen);
        goto fail;
    }
    if (rb.count < 2) {
        snprintf(err, errlen, "camera %s granted only %u buffers", path, rb.count);
        st = CAP_NOMEM;
        goto fail;
    }
    c->n_bufs = rb.count > CAM_MAX_BUFS ? CAM_MAX_BUFS : (int)rb.count;
    for (int i = 0; i < c->n_bufs; i++) {
        struct v4l2_buffer b;
        memset(&b, 0, sizeof(b));
        b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        b.memory = V4L2_MEMORY_MMAP;
        b.index = (uint32_t)i;
        if (cap_xioctl(c->fd, VIDIOC_QUERYBUF, &b) < 0) {
            st = ioctl_status(errno, "QUERYBUF", path, err, errlen);
            goto fail;
        }
        void *p = mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, b.m.offset);
        if (p == MAP_FAILED) {
            st = ioctl_status(errno, "mmap", path, err, errlen);
            goto fail;
        }
        c->bufs[i].start = p;
        c->bufs[i].length = b.length;
        if (cap_xioctl(c->fd, VIDIOC_QBUF, &b) < 0) {
            st = ioctl_status(errno, "QBUF", path, err, errlen);
            goto fail;
        }
    }
    int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (cap_xioctl(c->fd, VIDIOC_STREAMON, &type) < 0) {
        st = ioctl_status(errno, "STREAMON", path, err, errlen);
        goto fail;
    }
    c->streaming = 1;
    c->held = -1;
    c->disconnected = 0;
    c->have_seq0 = 0;
    return CAP_OK;
fail:
    cam_stop(c);
    return st;
}

static void cam_disconnect(cam *c, cap_status st, const char *msg) {
    (void)st;
    cap_source_set_error(c->src, "%s", msg);
    cam_stop(c);
    c->disconnected = 1;
}

static cap_status cam_read(cap_source *src, cap_frame *frame, int timeout_ms) {
    cam *c = src->impl;
    char msg[512];
    if (c->disconnected || c->fd < 0) {
        if (!src->error[0]) cap_source_set_error(src, "camera disconnected (%s)", c->path);
        return CAP_DISCONNECTED;
    }
    struct v4l2_buffer b;
    if (c->held >= 0) { /* give the caller's previous buffer back to the driver */
        memset(&b, 0, sizeof(b));
        b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        b.memory = V4L2_MEMORY_MMAP;
        b.index = (uint32_t)c->held;
        c->held = -1;
        if (cap_xioctl(c->fd, VIDIOC_QBUF, &b) < 0) {
            cap_status st = ioctl_status(errno, "QBUF", c->path, msg, sizeof(msg));
            if (st == CAP_DISCONNECTED) { cam_disconnect(c, st, msg); return st; }
            cap_source_set_error(src, "%s", msg);
            return st;
        }
    }
    /* timeout_ms < 0 waits for as long as it takes. */
    double deadline = timeout_ms < 0 ? 1e300 : cap_now_s() + timeout_ms * 1e-3;
    for (;;) {
        double left = deadline - cap_now_s();
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int r = poll(&pfd, 1, timeout_ms < 0 ? -1 : left > 0 ? (int)(left * 1e3 + 0.999) : 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            cap_source_set_error(src, "camera %s: poll failed: %s", c->path, strerror(errno));
            return CAP_IO;
        }
        if (r == 0) {
            cap_source_set_error(src, "no frame from camera %s within %d ms", c->path, timeout_ms);
            return CAP_AGAIN;
        }
        /* Drain: keep the newest buffer, hand the older ones straight back. */
        struct v4l2_buffer newest;
        int have = 0, dq_err = 0;
        for (;;) {
            memset(&b, 0, sizeof(b));
            b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
            b.memory = V4L2_MEMORY_MMAP;
            if (cap_xioctl(c->fd, VIDIOC_DQBUF, &b) < 0) {
                if (errno != EAGAIN) dq_err = errno;
                break;
            }
            if (b.index >= (uint32_t)c->n_bufs) { dq_err = EINVAL; break; }
            if (have) {
                if (cap_xioctl(c->fd, VIDIOC_QBUF, &newest) < 0) {
                    dq_err = errno;
                    newest = b; /* requeued below unless the camera is gone */
                    break;
                }
                src->stats.skipped_stale++;
            }
            newest = b;
            have = 1;
        }
        if (dq_err) {
            cap_status st = ioctl_status(dq_err, "DQBUF", c->path, msg, sizeof(msg));
            if (st == CAP_DISCONNECTED) { cam_disconnect(c, st, msg); return st; }
            if (have) cap_xioctl(c->fd, VIDIOC_QBUF, &newest);
            cap_source_set_error(src, "%s", msg);
            return st;
        }
        if (!have) {
            if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)) {
                snprintf(msg, sizeof(msg), "camera disconnected (%s stopped streaming)", c->path);
                cam_disconnect(c, CAP_DISCONNECTED, msg);
                return CAP_DISCONNECTED;
            }
            if (cap_now_s() >= deadline) {
                cap_source_set_error(src, "no frame from camera %s within %d ms", c->path,
                                     timeout_ms);
                return CAP_AGAIN;
            }
            continue; /* woken without a frame */
        }
        if (!c->have_seq0) { c->seq0 = newest.sequence; c->have_seq0 = 1; }
        int64_t index = c->index_base + (int64_t)(uint32_t)(newest.sequence - c->seq0);
        c->last_index = index;
        const uint8_t *data = c->bufs[newest.index].start;
        size_t used = newest.bytesused <= c->bufs[newest.index].length ? newest.bytesused
                                                                        : c->bufs[newest.index].length;
        const char *bad = NULL;
        if (newest.flags & V4L2_BUF_FLAG_ERROR) bad = "the driver flagged it as damaged";
        else if (c->mode.format == CAP_FMT_MJPEG && !img_jpeg_markers_ok(data, used))
            bad = "truncated JPEG (no SOI/EOI marker)";
        else if (used < c->min_bytes) bad = "short raw frame";
        if (bad) { /* drop it quietly; the next one is probably fine */
            cap_xioctl(c->fd, VIDIOC_QBUF, &newest);
            cap_source_set_error(src, "camera %s: frame %lld dropped: %s (%zu bytes)", c->path,
                                 (long long)index, bad, used);
            return CAP_CORRUPT;
        }
        c->held = (int)newest.index;
        frame->format = c->mode.format;
        frame->width = c->mode.width;
        frame->height = c->mode.height;
        frame->stride = c->stride;
        frame->data = data;
        frame->size = used;
        frame->timestamp_s = newest.timestamp.tv_sec || newest.timestamp.tv_usec
                                 ? (double)newest.timestamp.tv_sec + newest.timestamp.tv_usec * 1e-6
                                 : cap_now_s();
        frame->index = index;
        return CAP_OK;
    }
}

static void cam_close(void *impl) {
    cam *c = impl;
    if (!c) return;
    cam_stop(c);
    free(c);
}

static const struct cap_source_ops cam_ops = {cam_read, cam_close};

/* Resolves cfg.device (path, card name or first camera) to a node path. */
static cap_status find_device(const cam *c, const char *want_card, const char *want_bus,
                              const char *want_path, char *path, size_t pathlen, char *err,
                              size_t errlen) {
    const char *dir = cap_v4l2_dir(c->dir[0] ? c->dir : NULL);
    cap_v4l2_device devs[32];
    int n = cap_v4l2_list_devices(dir, devs, 32);
    if (n > 32) n = 32;
    if (n < 0) {
        if (want_path && want_path[0]) { snprintf(path, pathlen, "%s", want_path); return CAP_OK; }
        snprintf(err, errlen, "no camera found: cannot read %s (%s)", dir, strerror(errno));
        return CAP_NO_DEVICE;
    }
    /* Same card on the same bus, then same card anywhere, then same path. */
    for (int pass = 0; pass < 2 && want_card && want_card[0]; pass++)
        for (int i = 0; i < n; i++)
            if (devs[i].status == CAP_OK && strcmp(devs[i].card, want_card) == 0 &&
                (pass == 1 || !want_bus || strcmp(devs[i].bus_info, want_bus) == 0)) {
                snprintf(path, pathlen, "%s", devs[i].path);
                return CAP_OK;
            }
    /* The old path only for a camera without a name: another camera may
     * have taken it, and silently switching cameras would be wrong. */
    if (want_path && want_path[0] && !(want_card && want_card[0])) {
        snprintf(path, pathlen, "%s", want_path);
        return CAP_OK;
    }
    if (!want_card || !want_card[0]) { /* any camera: the first that opens */
        for (int i = 0; i < n; i++)
            if (devs[i].status == CAP_OK) { snprintf(path, pathlen, "%s", devs[i].path); return CAP_OK; }
        for (int i = 0; i < n; i++)
            if (devs[i].status != CAP_OK) /* say why the one we found is unusable */
                return cap_v4l2_open_error(devs[i].status == CAP_PERMISSION ? EACCES : EBUSY,
                                           devs[i].path, err, errlen);
        snprintf(err, errlen, "no camera found in %s (is it plugged in?)", dir);
        return CAP_NO_DEVICE;
    }
    snprintf(err, errlen, "no camera named '%s' in %s", want_card, dir);
    return CAP_NO_DEVICE;
}

cap_source *cap_camera_open(const cap_camera_config *cfg, cap_status *st_out, char *errbuf,
                            size_t errlen) {
    char dummy[512];
    if (!errbuf || !errlen) { errbuf = dummy; errlen = sizeof(dummy); }
    errbuf[0] = 0;
    cap_status st;
    cam *c = calloc(1, sizeof(*c));
    if (!c) { st = CAP_NOMEM; snprintf(errbuf, errlen, "out of memory"); goto out; }
    c->fd = -1;
    c->held = -1;
    if (cfg) c->cfg = *cfg;
    snprintf(c->want_device, sizeof(c->want_device), "%s", cfg && cfg->device ? cfg->device : "");
    snprintf(c->dir, sizeof(c->dir), "%s", cfg && cfg->dir ? cfg->dir : "");
    c->cfg.device = c->want_device;
    c->cfg.dir = c->dir;
    if (c->cfg.n_buffers <= 0) c->cfg.n_buffers = 4;
    if (c->cfg.n_buffers < 3) c->cfg.n_buffers = 3;
    if (c->cfg.n_buffers > CAM_MAX_BUFS) c->cfg.n_buffers = CAM_MAX_BUFS;

    char path[256];
    if (strchr(c->want_device, '/'))
        snprintf(path, sizeof(path), "%s", c->want_device);
    else if ((st = find_device(c, c->want_device, NULL, NULL, path, sizeof(path), errbuf, errlen)) != CAP_OK)
        goto out;
    if ((st = cam_start(c, path, errbuf, errlen)) != CAP_OK) goto out;
    c->src = cap_source_alloc(&cam_ops, c, c->card[0] ? c->card : c->path);
    if (!c->src) { st = CAP_NOMEM; snprintf(errbuf, errlen, "out of memory"); goto out; }
    c->src->fps = cap_v4l2_mode_fps(&c->mode);
    c->src->frame_count = -1;
    if (st_out) *st_out = CAP_OK;
    return c->src;
out:
    if (c) cam_close(c);
    if (st_out) *st_out = st;
    return NULL;
}

int cap_camera_is_camera(const cap_source *src) { return src && src->ops == &cam_ops; }

cap_status cap_camera_mode(const cap_source *src, cap_v4l2_mode *out) {
    if (!cap_camera_is_camera(src) || !out) return CAP_UNSUPPORTED;
    *out = ((const cam *)src->impl)->mode;
    return CAP_OK;
}

const char *cap_camera_path(const cap_source *src) {
    return cap_camera_is_camera(src) ? ((const cam *)src->impl)->path : "";
}

cap_status cap_camera_reopen(cap_source *src) {
    if (!cap_camera_is_camera(src)) return CAP_UNSUPPORTED;
    cam *c = src->impl;
    char err[512] = "", path[256];
    char card[64], bus[64], old_path[256];
    snprintf(card, sizeof(card), "%s", c->card);
    snprintf(bus, sizeof(bus), "%s", c->bus);
    snprintf(old_path, sizeof(old_path), "%s", c->path);
    cam_stop(c);
    c->disconnected = 1;
    /* Same mode as before, so the pipeline downstream sees the same frames. */
    c->cfg.fourcc = c->mode.fourcc;
    c->cfg.width = c->mode.width;
    c->cfg.height = c->mode.height;
    if (c->mode.interval_num) c->cfg.fps = cap_v4l2_mode_fps(&c->mode);
    cap_status st = find_device(c, card, bus, old_path, path, sizeof(path), err, sizeof(err));
    if (st == CAP_OK) st = cam_start(c, path, err, sizeof(err));
    if (st != CAP_OK) {
        snprintf(c->path, sizeof(c->path), "%s", old_path);
        snprintf(c->card, sizeof(c->card), "%s", card);
        snprintf(c->bus, sizeof(c->bus), "%s", bus);
        c->disconnected = 1;
        cap_source_set_error(src, "camera disconnected; reconnect failed: %s", err);
        return st;
    }
    c->index_base = c->last_index + 1;
    src->fps = cap_v4l2_mode_fps(&c->mode);
    cap_source_set_error(src, "%s", "");
    return CAP_OK;
}

void cap_backoff_reset(cap_backoff *b) {
    if (!b) return;
    b->delay_s = 0.25;
    b->next_at_s = 0;
    b->attempts = 0;
}

double cap_backoff_next_delay(cap_backoff *b) {
    if (b->delay_s <= 0) b->delay_s = 0.25;
    double d = b->delay_s;
    b->delay_s = d * 2 > 2.0 ? 2.0 : d * 2;
    b->attempts++;
    return d;
}

static void sleep_s(double s) {
    if (s <= 0) return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

cap_status cap_camera_reconnect(cap_source *src, cap_backoff *b, int wait_ms) {
    if (!cap_camera_is_camera(src) || !b) return CAP_UNSUPPORTED;
    double now = cap_now_s(), end = now + (wait_ms > 0 ? wait_ms : 0) * 1e-3;
    if (b->next_at_s <= 0) b->next_at_s = now + cap_backoff_next_delay(b);
    cap_status last = CAP_AGAIN;
    for (;;) {
        now = cap_now_s();
        if (now >= b->next_at_s) {
            last = cap_camera_reopen(src);
            if (last == CAP_OK) { cap_backoff_reset(b); return CAP_OK; }
            b->next_at_s = cap_now_s() + cap_backoff_next_delay(b);
        }
        if (b->next_at_s > end) { sleep_s(end - cap_now_s()); return last; }
        sleep_s(b->next_at_s - cap_now_s());
    }
}

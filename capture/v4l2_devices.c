/* v4l2_devices.c - finding V4L2 capture nodes and listing their modes as
 * plain data (the app turns them into menus). */
#include "v4l2_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

const char *cap_v4l2_dir(const char *dir) {
    if (dir && dir[0]) return dir;
    const char *env = getenv("SMILE_V4L2_DIR");
    return env && env[0] ? env : "/dev";
}

int cap_xioctl(int fd, unsigned long req, void *arg) {
    int r;
    do r = ioctl(fd, req, arg);
    while (r < 0 && errno == EINTR);
    return r;
}

cap_status cap_v4l2_open_error(int err, const char *path, char *buf, size_t len) {
    switch (err) {
    case EACCES:
    case EPERM:
        snprintf(buf, len,
                 "cannot open camera %s: permission denied; add yourself to the 'video' group: "
                 "sudo usermod -aG video $USER, then log in again",
                 path);
        return CAP_PERMISSION;
    case EBUSY:
        snprintf(buf, len, "camera %s: another program is using the camera; close it and retry",
                 path);
        return CAP_BUSY;
    case ENOENT:
    case ENXIO:
    case ENODEV:
        snprintf(buf, len, "no camera at %s (%s)", path, strerror(err));
        return CAP_NO_DEVICE;
    case ENOMEM:
        snprintf(buf, len, "camera %s: out of memory", path);
        return CAP_NOMEM;
    default:
        snprintf(buf, len, "cannot open camera %s: %s", path, strerror(err));
        return CAP_IO;
    }
}

int cap_v4l2_pixfmt(uint32_t fourcc) {
    switch (fourcc) {
    case V4L2_PIX_FMT_MJPEG:
    case V4L2_PIX_FMT_JPEG: return CAP_FMT_MJPEG;
    case V4L2_PIX_FMT_YUYV: return CAP_FMT_YUYV;
    case V4L2_PIX_FMT_GREY: return CAP_FMT_GREY;
    case V4L2_PIX_FMT_YUV420: return CAP_FMT_I420;
    default: return -1;
    }
}

/* video<N> -> N, else -1. */
static int video_number(const char *name) {
    if (strncmp(name, "video", 5) != 0 || !name[5]) return -1;
    int n = 0;
    for (const char *p = name + 5; *p; p++) {
        if (*p < '0' || *p > '9' || n > 100000) return -1;
        n = n * 10 + (*p - '0');
    }
    return n;
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Sorted numbers of the video<N> entries in dir; -1 if unreadable. */
static int scan_numbers(const char *dir, int *nums, int max) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int k = video_number(e->d_name);
        if (k >= 0 && n < max) nums[n++] = k;
    }
    closedir(d);
    qsort(nums, (size_t)n, sizeof(int), cmp_int);
    return n;
}

static void copy_str(char *dst, size_t len, const uint8_t *src, size_t srclen) {
    size_t n = strnlen((const char *)src, srclen);
    if (n >= len) n = len - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

int cap_v4l2_list_devices(const char *dir, cap_v4l2_device *out, int max) {
    dir = cap_v4l2_dir(dir);
    int nums[256];
    int n = scan_numbers(dir, nums, 256);
    if (n < 0) return -1;
    int found = 0;
    for (int i = 0; i < n; i++) {
        cap_v4l2_device dev;
        memset(&dev, 0, sizeof(dev));
        snprintf(dev.path, sizeof(dev.path), "%s/video%d", dir, nums[i]);
        int fd = open(dev.path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) {
            char msg[64];
            int err = errno;
            dev.status = cap_v4l2_open_error(err, dev.path, msg, sizeof(msg));
            /* A node we may not open could be a camera: list it so the app can
             * say why. A vanished one is simply not there. */
            if (dev.status != CAP_PERMISSION && dev.status != CAP_BUSY) continue;
        } else {
            struct v4l2_capability cap;
            memset(&cap, 0, sizeof(cap));
            int r = cap_xioctl(fd, VIDIOC_QUERYCAP, &cap);
            close(fd);
            if (r < 0) continue;
            uint32_t caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps
                                                                      : cap.capabilities;
            if (!(caps & V4L2_CAP_VIDEO_CAPTURE)) continue;
            copy_str(dev.card, sizeof(dev.card), cap.card, sizeof(cap.card));
            copy_str(dev.bus_info, sizeof(dev.bus_info), cap.bus_info, sizeof(cap.bus_info));
            copy_str(dev.driver, sizeof(dev.driver), cap.driver, sizeof(cap.driver));
            dev.status = CAP_OK;
        }
        if (out && found < max) out[found] = dev;
        found++;
    }
    return found;
}

uint64_t cap_v4l2_dir_stamp(const char *dir) {
    dir = cap_v4l2_dir(dir);
    DIR *d = opendir(dir);
    if (!d) return 0;
    /* Order-independent: sum of per-entry FNV hashes. */
    uint64_t stamp = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (video_number(e->d_name) < 0) continue;
        struct stat sb;
        uint64_t h = 1469598103934665603ull;
        for (const char *p = e->d_name; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
        if (fstatat(dirfd(d), e->d_name, &sb, 0) == 0) {
            h = (h ^ (uint64_t)sb.st_ino) * 1099511628211ull;
            h = (h ^ (uint64_t)sb.st_rdev) * 1099511628211ull;
        }
        stamp += h | 1;
    }
    closedir(d);
    return stamp;
}

/* ---------------------------------------------------------------- modes */

typedef struct {
    cap_v4l2_mode *v;
    int n, cap;
    int full;
} mode_list;

static int push_mode(mode_list *l, const cap_v4l2_mode *m) {
    if (l->n >= 2048) return 0; /* a sane driver never gets here */
    if (l->n == l->cap) {
        int nc = l->cap ? 2 * l->cap : 32;
        cap_v4l2_mode *nv = realloc(l->v, (size_t)nc * sizeof(*nv));
        if (!nv) { l->full = 1; return -1; }
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = *m;
    return 0;
}

static const int common_sizes[][2] = {{160, 120}, {176, 144}, {320, 240}, {352, 288},
                                      {640, 360}, {640, 480}, {800, 600}, {1024, 768},
                                      {1280, 720}, {1280, 960}, {1920, 1080}};
static const int common_fps[] = {60, 30, 25, 24, 20, 15, 10, 5};

static int add_intervals(int fd, mode_list *l, cap_v4l2_mode m) {
    struct v4l2_frmivalenum fi;
    int added = 0;
    for (uint32_t k = 0; k < 64; k++) {
        memset(&fi, 0, sizeof(fi));
        fi.index = k;
        fi.pixel_format = m.fourcc;
        fi.width = (uint32_t)m.width;
        fi.height = (uint32_t)m.height;
        if (cap_xioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, &fi) < 0) break;
        if (fi.type == V4L2_FRMIVAL_TYPE_DISCRETE) {
            if (!fi.discrete.numerator || !fi.discrete.denominator) continue;
            m.interval_num = fi.discrete.numerator;
            m.interval_den = fi.discrete.denominator;
            if (push_mode(l, &m) < 0) return -1;
            added++;
        } else { /* stepwise or continuous: sample the usual rates in range */
            double lo = (double)fi.stepwise.min.numerator / fi.stepwise.min.denominator;
            double hi = (double)fi.stepwise.max.numerator / fi.stepwise.max.denominator;
            for (size_t i = 0; i < sizeof(common_fps) / sizeof(common_fps[0]); i++) {
                double t = 1.0 / common_fps[i];
                if (t < lo - 1e-9 || t > hi + 1e-9) continue;
                m.interval_num = 1;
                m.interval_den = (uint32_t)common_fps[i];
                if (push_mode(l, &m) < 0) return -1;
                added++;
            }
            break;
        }
    }
    if (!added) { /* driver cannot tell: one mode with an unknown rate */
        m.interval_num = m.interval_den = 0;
        if (push_mode(l, &m) < 0) return -1;
    }
    return 0;
}

cap_status cap_v4l2_fd_modes(int fd, const char *path, cap_v4l2_mode **modes, int *n_modes,
                             char *errbuf, size_t errlen) {
    mode_list l = {0};
    *modes = NULL;
    *n_modes = 0;
    for (uint32_t fi = 0; fi < 64; fi++) {
        struct v4l2_fmtdesc fd_desc;
        memset(&fd_desc, 0, sizeof(fd_desc));
        fd_desc.index = fi;
        fd_desc.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        if (cap_xioctl(fd, VIDIOC_ENUM_FMT, &fd_desc) < 0) {
            if (errno == ENODEV || errno == EIO) {
                free(l.v);
                snprintf(errbuf, errlen, "camera %s disconnected while listing formats", path);
                return CAP_DISCONNECTED;
            }
            break;
        }
        int pf = cap_v4l2_pixfmt(fd_desc.pixelformat);
        if (pf < 0) continue;
        cap_v4l2_mode m;
        memset(&m, 0, sizeof(m));
        m.fourcc = fd_desc.pixelformat;
        m.format = (cap_pixfmt)pf;
        copy_str(m.description, sizeof(m.description), fd_desc.description,
                 sizeof(fd_desc.description));
        for (uint32_t si = 0; si < 256; si++) {
            struct v4l2_frmsizeenum fs;
            memset(&fs, 0, sizeof(fs));
            fs.index = si;
            fs.pixel_format = m.fourcc;
            if (cap_xioctl(fd, VIDIOC_ENUM_FRAMESIZES, &fs) < 0) break;
            if (fs.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
                m.width = (int)fs.discrete.width;
                m.height = (int)fs.discrete.height;
                if (add_intervals(fd, &l, m) < 0) goto nomem;
            } else {
                const struct v4l2_frmsize_stepwise *sw = &fs.stepwise;
                uint32_t sx = sw->step_width ? sw->step_width : 1;
                uint32_t sy = sw->step_height ? sw->step_height : 1;
                for (size_t i = 0; i < sizeof(common_sizes) / sizeof(common_sizes[0]); i++) {
                    uint32_t w = (uint32_t)common_sizes[i][0], h = (uint32_t)common_sizes[i][1];
                    if (w < sw->min_width || w > sw->max_width || h < sw->min_height ||
                        h > sw->max_height || (w - sw->min_width) % sx || (h - sw->min_height) % sy)
                        continue;
                    m.width = (int)w;
                    m.height = (int)h;
                    if (add_intervals(fd, &l, m) < 0) goto nomem;
                }
                break;
            }
        }
    }
    if (l.full) goto nomem;
    if (l.n == 0) {
        free(l.v);
        snprintf(errbuf, errlen,
                 "camera %s offers no format we can read (need MJPEG, YUYV, GREY or YUV420)", path);
        return CAP_UNSUPPORTED;
    }
    *modes = l.v;
    *n_modes = l.n;
    return CAP_OK;
nomem:
    free(l.v);
    snprintf(errbuf, errlen, "camera %s: out of memory listing modes", path);
    return CAP_NOMEM;
}

cap_status cap_v4l2_list_modes(const char *path, cap_v4l2_mode **modes, int *n_modes,
                               char *errbuf, size_t errlen) {
    char dummy[8];
    if (!errbuf || !errlen) { errbuf = dummy; errlen = sizeof(dummy); }
    if (!modes || !n_modes || !path) {
        snprintf(errbuf, errlen, "cap_v4l2_list_modes: NULL argument");
        return CAP_IO;
    }
    *modes = NULL;
    *n_modes = 0;
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return cap_v4l2_open_error(errno, path, errbuf, errlen);
    cap_status st = cap_v4l2_fd_modes(fd, path, modes, n_modes, errbuf, errlen);
    close(fd);
    return st;
}

double cap_v4l2_mode_fps(const cap_v4l2_mode *m) {
    if (!m || !m->interval_num || !m->interval_den) return 0.0;
    return (double)m->interval_den / m->interval_num;
}

static int format_rank(uint32_t fourcc, uint32_t want) {
    if (want && fourcc == want) return 0;
    int base = want ? 1 : 0;
    switch (fourcc) {
    case V4L2_PIX_FMT_MJPEG: return base + 0;
    case V4L2_PIX_FMT_JPEG: return base + 1;
    case V4L2_PIX_FMT_YUYV: return base + 2;
    case V4L2_PIX_FMT_GREY: return base + 3;
    default: return base + 4;
    }
}

int cap_v4l2_pick_mode(const cap_v4l2_mode *modes, int n, uint32_t fourcc, int width, int height,
                       double fps) {
    if (!modes || n <= 0) return -1;
    if (width <= 0 || height <= 0) { width = 640; height = 480; }
    if (fps <= 0) fps = 30;
    int best = -1;
    double best_score = 0;
    for (int i = 0; i < n; i++) {
        const cap_v4l2_mode *m = &modes[i];
        /* Lexicographic: format, then size (log area ratio + aspect), then
         * rate; a rate we cannot know ranks after any known one. */
        double size = fabs(log((double)m->width * m->height / ((double)width * height))) +
                      fabs(log(((double)m->width / m->height) / ((double)width / height)));
        double f = cap_v4l2_mode_fps(m);
        double rate = f > 0 ? fabs(log(f / fps)) : 10.0;
        double score = format_rank(m->fourcc, fourcc) * 1e6 + size * 1e3 + rate;
        if (best < 0 || score < best_score - 1e-9) { best = i; best_score = score; }
    }
    return best;
}

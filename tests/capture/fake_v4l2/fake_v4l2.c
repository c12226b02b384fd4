/* fake_v4l2.c - a V4L2 camera in an LD_PRELOAD library, so the real capture
 * code runs unmodified against a device we control: it intercepts open,
 * close, ioctl, mmap, munmap, poll and read on the node paths it owns and
 * emulates a UVC-like driver (formats, sizes, intervals, mmap streaming,
 * sequence numbers and monotonic timestamps) serving MJPEG or YUYV frames
 * from an AVI, a folder of JPEGs, one JPEG or a generated pattern. Faults
 * (unplug, EIO, stalls, truncated frames, EBUSY, EACCES) are switched on and
 * off through a control file the test rewrites mid-run. README.md next to
 * this file documents the interface. */
#undef _FILE_OFFSET_BITS /* we define open and open64 (mmap, mmap64) ourselves */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <turbojpeg.h>
#include <unistd.h>

#define MAX_FDS 32
#define MAX_BUFS 8
#define MAX_LIST 16
#define MAX_POOL 64

/* ------------------------------------------------------------ real calls */
static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real_close)(int);
static int (*real_ioctl)(int, unsigned long, ...);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static void *(*real_mmap64)(void *, size_t, int, int, int, off64_t);
static int (*real_munmap)(void *, size_t);
static int (*real_poll)(struct pollfd *, nfds_t, int);
static ssize_t (*real_read)(int, void *, size_t);
static DIR *(*real_opendir)(const char *);

#define SYM(var, name) do { void *p_ = dlsym(RTLD_NEXT, name); memcpy(&(var), &p_, sizeof(p_)); } while (0)

static void resolve(void) {
    if (real_open) return;
    SYM(real_open64, "open64");
    SYM(real_openat, "openat");
    SYM(real_openat64, "openat64");
    SYM(real_close, "close");
    SYM(real_ioctl, "ioctl");
    SYM(real_mmap, "mmap");
    SYM(real_mmap64, "mmap64");
    SYM(real_munmap, "munmap");
    SYM(real_poll, "poll");
    SYM(real_read, "read");
    SYM(real_opendir, "opendir");
    SYM(real_open, "open");
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static double fabs_d(double x) { return x < 0 ? -x : x; }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_s(double s) {
    if (s <= 0) return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------ configuration */
typedef struct {
    uint32_t fourcc[4];
    int n_fmt;
    int sizes[MAX_LIST][2];
    int n_sizes;
    int stepwise; /* sizes[0] = min, sizes[1] = max, sizes[2] = step */
    int fps[MAX_LIST];
    int n_fps;
    int fps_continuous; /* fps[0]..fps[1] is a continuous range */
    char card[32], bus[32], source[PATH_MAX];
} dev_config;

/* The control file's state (see README.md). */
typedef struct {
    int present, error, stall, corrupt_every, open_error, busy;
    double rate; /* <0: the negotiated fps; 0: a frame whenever one is asked for */
    char path[PATH_MAX];
} control;

static char dev_path[PATH_MAX], meta_path[PATH_MAX]; /* from the environment */
static char cur_path[PATH_MAX];                       /* where the capture node is now */
static control ctl = {.present = 1, .rate = -1};
static int node_present = -1; /* what we last made true on disk */

static void config_read(dev_config *c) {
    memset(c, 0, sizeof(*c));
    const char *s = getenv("FAKE_V4L2_CARD");
    snprintf(c->card, sizeof(c->card), "%s", s && *s ? s : "Fake V4L2 Camera");
    s = getenv("FAKE_V4L2_BUS");
    snprintf(c->bus, sizeof(c->bus), "%s", s && *s ? s : "usb-fake-1.1");
    s = getenv("FAKE_V4L2_SOURCE");
    snprintf(c->source, sizeof(c->source), "%s", s ? s : "");
    s = getenv("FAKE_V4L2_FORMATS");
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", s && *s ? s : "MJPG,YUYV");
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && c->n_fmt < 4; t = strtok_r(NULL, ",", &save))
        if (strlen(t) == 4) c->fourcc[c->n_fmt++] = v4l2_fourcc(t[0], t[1], t[2], t[3]);
    s = getenv("FAKE_V4L2_SIZES");
    snprintf(buf, sizeof(buf), "%s", s && *s ? s : "640x480,320x240,1280x720");
    if (strncmp(buf, "stepwise:", 9) == 0) { /* stepwise:MINWxMINH-MAXWxMAXH/STEPWxSTEPH */
        int v[6];
        if (sscanf(buf + 9, "%dx%d-%dx%d/%dx%d", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) == 6) {
            c->stepwise = 1;
            c->n_sizes = 3;
            for (int i = 0; i < 3; i++) { c->sizes[i][0] = v[2 * i]; c->sizes[i][1] = v[2 * i + 1]; }
        }
    } else {
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && c->n_sizes < MAX_LIST; t = strtok_r(NULL, ",", &save))
            if (sscanf(t, "%dx%d", &c->sizes[c->n_sizes][0], &c->sizes[c->n_sizes][1]) == 2 &&
                c->sizes[c->n_sizes][0] > 0 && c->sizes[c->n_sizes][1] > 0)
                c->n_sizes++;
    }
    s = getenv("FAKE_V4L2_FPS");
    snprintf(buf, sizeof(buf), "%s", s && *s ? s : "30,15");
    if (sscanf(buf, "continuous:%d-%d", &c->fps[0], &c->fps[1]) == 2 && c->fps[0] > 0 &&
        c->fps[1] >= c->fps[0]) {
        c->fps_continuous = 1;
        c->n_fps = 2;
        buf[0] = 0;
    }
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && c->n_fps < MAX_LIST; t = strtok_r(NULL, ",", &save))
        if (atoi(t) > 0) c->fps[c->n_fps++] = atoi(t);
    if (!c->n_fmt) c->fourcc[c->n_fmt++] = V4L2_PIX_FMT_MJPEG;
    if (!c->n_sizes) { c->sizes[0][0] = 640; c->sizes[0][1] = 480; c->n_sizes = 1; }
    if (!c->n_fps) c->fps[c->n_fps++] = 30;
}

static int errno_of(const char *v) {
    if (!strcmp(v, "eio")) return EIO;
    if (!strcmp(v, "enodev")) return ENODEV;
    if (!strcmp(v, "eacces")) return EACCES;
    if (!strcmp(v, "ebusy")) return EBUSY;
    if (!strcmp(v, "enoent")) return ENOENT;
    return 0;
}

/* ------------------------------------------------------------ buffers */
/* Buffer memory lives until both the driver side released it and the
 * application unmapped it, like a real driver's. */
typedef struct {
    uint8_t *mem;
    size_t len;
    int mapped, owned;
} pool_ent;
static pool_ent pool[MAX_POOL];

static int pool_alloc(size_t len) {
    for (int i = 0; i < MAX_POOL; i++)
        if (!pool[i].mem) {
            void *p = real_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED) return -1;
            pool[i] = (pool_ent){p, len, 0, 1};
            return i;
        }
    return -1;
}

static void pool_maybe_free(int i) {
    if (pool[i].mem && !pool[i].owned && pool[i].mapped <= 0) {
        real_munmap(pool[i].mem, pool[i].len);
        memset(&pool[i], 0, sizeof(pool[i]));
    }
}

typedef struct {
    int pool;
    int state; /* 0 with the application, 1 queued, 2 done (filled, waiting for DQBUF) */
    uint64_t order;
    uint32_t bytesused, sequence, flags;
    struct timeval ts;
} fbuf;

typedef struct {
    uint8_t *data;
    size_t size;
} blob;

typedef struct {
    int fd, used, meta, dead, nonblock;
    dev_config cfg;
    uint32_t fourcc;
    int width, height, fps;
    fbuf bufs[MAX_BUFS];
    int n_bufs, streaming;
    double t0;
    uint64_t produced, order;
    blob *frames; /* prepared for the current format and size */
    int n_frames;
    int frames_borrowed; /* frames[i].data points into the source list */
} ffd;

static ffd fds[MAX_FDS];

static ffd *find_fd(int fd) {
    if (fd < 0) return NULL;
    for (int i = 0; i < MAX_FDS; i++)
        if (fds[i].used && fds[i].fd == fd) return &fds[i];
    return NULL;
}

/* ------------------------------------------------------------ sources */
static blob src_list[1024];
static int n_src = -1;
static char src_loaded[PATH_MAX];

static int read_file(const char *path, blob *out) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    out->data = n > 0 ? malloc((size_t)n) : NULL;
    out->size = out->data && fread(out->data, 1, (size_t)n, f) == (size_t)n ? (size_t)n : 0;
    fclose(f);
    if (!out->size) { free(out->data); out->data = NULL; return -1; }
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

/* MJPEG frames of an AVI: walks the chunks after 'movi', taking ??dc/??db
 * chunks that hold a JPEG. */
static void load_avi(const blob *f) {
    const uint8_t *p = f->data, *end = f->data + f->size;
    const uint8_t *movi = memmem(p, f->size, "movi", 4);
    if (!movi) return;
    p = movi + 4;
    while (p + 8 <= end && n_src < 1024) {
        uint32_t sz = rd32(p + 4);
        if (!memcmp(p, "LIST", 4)) { p += 12; continue; }
        if (!memcmp(p, "idx1", 4)) break;
        if (sz > (size_t)(end - p - 8)) break;
        if ((p[2] == 'd' && (p[3] == 'c' || p[3] == 'b')) && sz > 4 && p[8] == 0xFF && p[9] == 0xD8) {
            blob b = {malloc(sz), sz};
            if (!b.data) break;
            memcpy(b.data, p + 8, sz);
            src_list[n_src++] = b;
        }
        p += 8 + sz + (sz & 1);
    }
}

static void load_source(const char *source) {
    if (n_src >= 0 && !strcmp(source, src_loaded)) return;
    for (int i = 0; i < n_src; i++) free(src_list[i].data);
    n_src = 0;
    snprintf(src_loaded, sizeof(src_loaded), "%s", source);
    if (!source[0]) return;
    struct stat sb;
    if (stat(source, &sb) != 0) return;
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = real_opendir(source);
        if (!d) return;
        char *names[1024];
        int n = 0;
        struct dirent *e;
        while ((e = readdir(d)) && n < 1024) {
            const char *dot = strrchr(e->d_name, '.');
            if (dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg")))
                names[n++] = strdup(e->d_name);
        }
        closedir(d);
        qsort(names, (size_t)n, sizeof(char *), cmp_str);
        for (int i = 0; i < n; i++) {
            char p[PATH_MAX * 2];
            snprintf(p, sizeof(p), "%s/%s", source, names[i]);
            if (names[i] && read_file(p, &src_list[n_src]) == 0) n_src++;
            free(names[i]);
        }
        return;
    }
    blob f;
    if (read_file(source, &f) != 0) return;
    if (f.size > 12 && !memcmp(f.data, "RIFF", 4) && !memcmp(f.data + 8, "AVI ", 4)) {
        load_avi(&f);
        free(f.data);
    } else {
        src_list[n_src++] = f;
    }
}

/* RGB of source frame k at w x h (nearest neighbour), or a moving pattern
 * when there is no source: a gradient with a bright square that moves with k,
 * so consecutive frames differ. */
static int frame_rgb(int k, int w, int h, uint8_t *rgb) {
    if (n_src > 0) {
        const blob *b = &src_list[k % n_src];
        tjhandle tj = tjInitDecompress();
        int sw, sh, ss, cs;
        int ok = tj && tjDecompressHeader3(tj, b->data, (unsigned long)b->size, &sw, &sh, &ss, &cs) == 0;
        uint8_t *tmp = ok ? malloc((size_t)sw * sh * 3) : NULL;
        ok = tmp && tjDecompress2(tj, b->data, (unsigned long)b->size, tmp, sw, sw * 3, sh, TJPF_RGB, 0) == 0;
        if (ok)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    memcpy(rgb + ((size_t)y * w + x) * 3,
                           tmp + ((size_t)(y * sh / h) * sw + (size_t)(x * sw / w)) * 3, 3);
        free(tmp);
        if (tj) tjDestroy(tj);
        if (ok) return 0;
    }
    int bx = (k * 7) % (w > 32 ? w - 32 : 1), by = (k * 5) % (h > 32 ? h - 32 : 1);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            int in = x >= bx && x < bx + 32 && y >= by && y < by + 32;
            p[0] = in ? 250 : (uint8_t)(x * 200 / w + 20);
            p[1] = in ? 250 : (uint8_t)(y * 200 / h + 20);
            p[2] = in ? 250 : (uint8_t)((x + y + 8 * k) & 0x7f);
        }
    return 0;
}

static void rgb_to_yuyv(const uint8_t *rgb, int w, int h, uint8_t *out) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x += 2) {
            const uint8_t *a = rgb + ((size_t)y * w + x) * 3, *b = x + 1 < w ? a + 3 : a;
            int ya = (66 * a[0] + 129 * a[1] + 25 * a[2] + 128) / 256 + 16;
            int yb = (66 * b[0] + 129 * b[1] + 25 * b[2] + 128) / 256 + 16;
            int r = (a[0] + b[0]) / 2, g = (a[1] + b[1]) / 2, bl = (a[2] + b[2]) / 2;
            int u = (-38 * r - 74 * g + 112 * bl + 128) / 256 + 128;
            int v = (112 * r - 94 * g - 18 * bl + 128) / 256 + 128;
            uint8_t *o = out + (size_t)y * w * 2 + (size_t)x * 2;
            o[0] = (uint8_t)ya; o[1] = (uint8_t)u;
            if (x + 1 < w) { o[2] = (uint8_t)yb; o[3] = (uint8_t)v; }
        }
}

static void frames_free(ffd *f) {
    if (f->frames && !f->frames_borrowed)
        for (int i = 0; i < f->n_frames; i++) free(f->frames[i].data);
    free(f->frames);
    f->frames = NULL;
    f->n_frames = 0;
}

/* Frames for the negotiated format: MJPEG sources of the right size are
 * served as they are; anything else is converted once (up to 16 frames,
 * served in a loop). */
static void frames_prepare(ffd *f) {
    frames_free(f);
    load_source(f->cfg.source);
    int same = n_src > 0 && f->fourcc == V4L2_PIX_FMT_MJPEG;
    if (same) {
        tjhandle tj = tjInitDecompress();
        for (int i = 0; i < n_src && same; i++) {
            int w, h, ss, cs;
            same = tj && tjDecompressHeader3(tj, src_list[i].data, (unsigned long)src_list[i].size,
                                             &w, &h, &ss, &cs) == 0 && w == f->width && h == f->height;
        }
        if (tj) tjDestroy(tj);
    }
    if (same) {
        f->frames = malloc(sizeof(blob) * (size_t)n_src);
        if (!f->frames) return;
        memcpy(f->frames, src_list, sizeof(blob) * (size_t)n_src);
        f->n_frames = n_src;
        f->frames_borrowed = 1;
        return;
    }
    int n = n_src > 0 ? (n_src < 16 ? n_src : 16) : 8;
    f->frames = calloc((size_t)n, sizeof(blob));
    uint8_t *rgb = malloc((size_t)f->width * f->height * 3);
    f->frames_borrowed = 0;
    if (!f->frames || !rgb) { free(rgb); free(f->frames); f->frames = NULL; return; }
    tjhandle tj = tjInitCompress();
    for (int k = 0; k < n; k++) {
        frame_rgb(k, f->width, f->height, rgb);
        blob *b = &f->frames[f->n_frames];
        if (f->fourcc == V4L2_PIX_FMT_YUYV) {
            b->size = (size_t)f->width * f->height * 2;
            b->data = malloc(b->size);
            if (b->data) rgb_to_yuyv(rgb, f->width, f->height, b->data);
        } else if (f->fourcc == V4L2_PIX_FMT_GREY) {
            b->size = (size_t)f->width * f->height;
            b->data = malloc(b->size);
            for (size_t i = 0; b->data && i < b->size; i++)
                b->data[i] = (uint8_t)((77 * rgb[3 * i] + 150 * rgb[3 * i + 1] + 29 * rgb[3 * i + 2]) >> 8);
        } else {
            unsigned char *jpg = NULL;
            unsigned long sz = 0;
            if (tj && tjCompress2(tj, rgb, f->width, f->width * 3, f->height, TJPF_RGB, &jpg, &sz,
                                  TJSAMP_422, 85, 0) == 0) {
                b->data = malloc(sz);
                if (b->data) memcpy(b->data, jpg, sz);
                b->size = sz;
            }
            tjFree(jpg);
        }
        if (b->data) f->n_frames++;
    }
    if (tj) tjDestroy(tj);
    free(rgb);
}

/* ------------------------------------------------------------ state sync */
static void touch_node(const char *path) {
    int fd = real_open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) real_close(fd);
}

static void read_control(void) {
    const char *cp = getenv("FAKE_V4L2_CONTROL");
    control c = {.present = 1, .rate = -1};
    if (cp && *cp) {
        int fd = real_open(cp, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            char buf[4096];
            ssize_t n = real_read(fd, buf, sizeof(buf) - 1);
            real_close(fd);
            buf[n > 0 ? n : 0] = 0;
            for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *eq = strchr(line, '=');
                if (!eq) continue;
                *eq = 0;
                const char *k = line, *v = eq + 1;
                if (!strcmp(k, "present")) c.present = atoi(v);
                else if (!strcmp(k, "error")) c.error = errno_of(v);
                else if (!strcmp(k, "stall")) c.stall = atoi(v);
                else if (!strcmp(k, "corrupt_every")) c.corrupt_every = atoi(v);
                else if (!strcmp(k, "open_error")) c.open_error = errno_of(v);
                else if (!strcmp(k, "busy")) c.busy = atoi(v);
                else if (!strcmp(k, "rate")) c.rate = !strcmp(v, "max") ? 0 : atof(v);
                else if (!strcmp(k, "path")) snprintf(c.path, sizeof(c.path), "%s", v);
            }
        }
    }
    ctl = c;
}

/* Brings our state in line with the environment and the control file: the
 * capture node exists on disk exactly while the camera is plugged in. Called
 * (locked) at the top of every intercepted call. */
static void sync_state(void) {
    resolve();
    const char *e = getenv("FAKE_V4L2_DEVICE");
    if (!e) e = "";
    if (strcmp(e, dev_path)) { snprintf(dev_path, sizeof(dev_path), "%s", e); node_present = -1; }
    const char *m = getenv("FAKE_V4L2_META_DEVICE");
    if (m && *m && strcmp(m, meta_path)) {
        snprintf(meta_path, sizeof(meta_path), "%s", m);
        touch_node(meta_path);
    }
    read_control();
    if (!dev_path[0]) return;
    const char *want = ctl.path[0] ? ctl.path : dev_path;
    if (ctl.present && (node_present != 1 || strcmp(want, cur_path))) {
        if (node_present == 1 && strcmp(want, cur_path)) unlink(cur_path);
        snprintf(cur_path, sizeof(cur_path), "%s", want);
        touch_node(cur_path);
        node_present = 1;
    } else if (!ctl.present && node_present != 0) {
        if (cur_path[0]) unlink(cur_path);
        for (int i = 0; i < MAX_FDS; i++)
            if (fds[i].used && !fds[i].meta) fds[i].dead = 1; /* unplugged under the app */
        node_present = 0;
        snprintf(cur_path, sizeof(cur_path), "%s", want);
    }
}

/* Which node a path names: 0 capture, 1 metadata, -1 not ours. */
static int path_kind(const char *path) {
    if (!path) return -1;
    if (cur_path[0] && !strcmp(path, cur_path)) return 0;
    if (meta_path[0] && !strcmp(path, meta_path)) return 1;
    return -1;
}

/* ------------------------------------------------------------ driver */
static double stream_rate(const ffd *f) { return ctl.rate >= 0 ? ctl.rate : f->fps; }

static void fill_one(ffd *f, double ts) {
    uint32_t seq = (uint32_t)f->produced++;
    int pick = -1;
    for (int i = 0; i < f->n_bufs; i++)
        if (f->bufs[i].state == 1 && (pick < 0 || f->bufs[i].order < f->bufs[pick].order)) pick = i;
    if (pick < 0 || !f->n_frames) return; /* no buffer queued: the frame is lost, as on hardware */
    fbuf *b = &f->bufs[pick];
    const blob *src = &f->frames[seq % (uint32_t)f->n_frames];
    size_t n = src->size < pool[b->pool].len ? src->size : pool[b->pool].len;
    if (ctl.corrupt_every > 0 && (seq + 1) % (uint32_t)ctl.corrupt_every == 0) n /= 2; /* truncated */
    memcpy(pool[b->pool].mem, src->data, n);
    b->bytesused = (uint32_t)n;
    b->sequence = seq;
    b->ts.tv_sec = (time_t)ts;
    b->ts.tv_usec = (suseconds_t)((ts - (double)(time_t)ts) * 1e6);
    b->flags = V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC;
    b->state = 2;
    b->order = ++f->order;
}

static int count_state(const ffd *f, int st) {
    int n = 0;
    for (int i = 0; i < f->n_bufs; i++) n += f->bufs[i].state == st;
    return n;
}

/* Produces the frames that are due by now (on demand at rate 0). */
static void advance(ffd *f, int want_one) {
    if (!f->streaming) return;
    double now = now_s(), rate = stream_rate(f);
    if (ctl.stall) { f->t0 = now - f->produced / (rate > 0 ? rate : 1); return; }
    if (rate <= 0) {
        if (want_one && !count_state(f, 2)) fill_one(f, now);
        return;
    }
    uint64_t due = (uint64_t)((now - f->t0) * rate) + 1;
    if (due > f->produced + 64) f->produced = due - 64; /* long sleep: do not replay it all */
    while (f->produced < due) fill_one(f, f->t0 + (double)f->produced / rate);
}

/* Seconds until the next frame is due (0 when one is ready or on demand). */
static double next_due(const ffd *f) {
    double rate = stream_rate(f);
    if (rate <= 0) return 0;
    return f->t0 + (double)f->produced / rate - now_s();
}

static int fail_errno(const ffd *f) {
    if (f->dead) return ENODEV;
    return ctl.error;
}

static void release_bufs(ffd *f) {
    for (int i = 0; i < f->n_bufs; i++) {
        pool[f->bufs[i].pool].owned = 0;
        pool_maybe_free(f->bufs[i].pool);
    }
    f->n_bufs = 0;
}

static int fmt_offered(const ffd *f, uint32_t fourcc) {
    for (int i = 0; i < f->cfg.n_fmt; i++)
        if (f->cfg.fourcc[i] == fourcc) return 1;
    return 0;
}

/* Nearest offered size (by area), like drivers adjust S_FMT. */
static void nearest_size(const ffd *f, int *w, int *h) {
    const dev_config *c = &f->cfg;
    if (c->stepwise) {
        int sx = c->sizes[2][0] > 0 ? c->sizes[2][0] : 1, sy = c->sizes[2][1] > 0 ? c->sizes[2][1] : 1;
        int x = *w < c->sizes[0][0] ? c->sizes[0][0] : *w > c->sizes[1][0] ? c->sizes[1][0] : *w;
        int y = *h < c->sizes[0][1] ? c->sizes[0][1] : *h > c->sizes[1][1] ? c->sizes[1][1] : *h;
        *w = c->sizes[0][0] + (x - c->sizes[0][0]) / sx * sx;
        *h = c->sizes[0][1] + (y - c->sizes[0][1]) / sy * sy;
        return;
    }
    int best = 0;
    long bd = -1;
    for (int i = 0; i < c->n_sizes; i++) {
        long d = labs((long)c->sizes[i][0] * c->sizes[i][1] - (long)*w * *h) +
                 labs((long)c->sizes[i][0] - *w);
        if (bd < 0 || d < bd) { bd = d; best = i; }
    }
    *w = c->sizes[best][0];
    *h = c->sizes[best][1];
}

static void fill_pix(const ffd *f, struct v4l2_pix_format *p) {
    p->pixelformat = f->fourcc;
    p->width = (uint32_t)f->width;
    p->height = (uint32_t)f->height;
    p->field = V4L2_FIELD_NONE;
    p->bytesperline = f->fourcc == V4L2_PIX_FMT_YUYV ? (uint32_t)f->width * 2
                    : f->fourcc == V4L2_PIX_FMT_GREY ? (uint32_t)f->width : 0;
    p->sizeimage = (uint32_t)f->width * (uint32_t)f->height * 2;
    p->colorspace = V4L2_COLORSPACE_SRGB;
}

static int do_ioctl(ffd *f, unsigned long req, void *arg) {
    int err = fail_errno(f);
    if (f->dead) return ENODEV;
    switch (req) {
    case VIDIOC_QUERYCAP: {
        struct v4l2_capability *c = arg;
        memset(c, 0, sizeof(*c));
        snprintf((char *)c->driver, sizeof(c->driver), "fakev4l2");
        snprintf((char *)c->card, sizeof(c->card), "%s", f->cfg.card);
        snprintf((char *)c->bus_info, sizeof(c->bus_info), "%s", f->cfg.bus);
        c->version = 0x060100;
        c->capabilities = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_META_CAPTURE | V4L2_CAP_STREAMING |
                          V4L2_CAP_DEVICE_CAPS;
        c->device_caps = f->meta ? V4L2_CAP_META_CAPTURE | V4L2_CAP_STREAMING
                                 : V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING;
        return 0;
    }
    default: break;
    }
    if (f->meta) return EINVAL; /* a metadata node has no video formats */
    switch (req) {
    case VIDIOC_ENUM_FMT: {
        struct v4l2_fmtdesc *d = arg;
        if (d->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || d->index >= (uint32_t)f->cfg.n_fmt) return EINVAL;
        uint32_t fc = f->cfg.fourcc[d->index], idx = d->index;
        memset(d, 0, sizeof(*d));
        d->index = idx;
        d->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        d->pixelformat = fc;
        d->flags = fc == V4L2_PIX_FMT_MJPEG ? V4L2_FMT_FLAG_COMPRESSED : 0;
        snprintf((char *)d->description, sizeof(d->description), "%s",
                 fc == V4L2_PIX_FMT_MJPEG ? "Motion-JPEG" : fc == V4L2_PIX_FMT_YUYV ? "YUYV 4:2:2" : "Greyscale");
        return 0;
    }
    case VIDIOC_ENUM_FRAMESIZES: {
        struct v4l2_frmsizeenum *s = arg;
        if (!fmt_offered(f, s->pixel_format)) return EINVAL;
        if (f->cfg.stepwise) {
            if (s->index) return EINVAL;
            s->type = V4L2_FRMSIZE_TYPE_STEPWISE;
            s->stepwise.min_width = (uint32_t)f->cfg.sizes[0][0];
            s->stepwise.min_height = (uint32_t)f->cfg.sizes[0][1];
            s->stepwise.max_width = (uint32_t)f->cfg.sizes[1][0];
            s->stepwise.max_height = (uint32_t)f->cfg.sizes[1][1];
            s->stepwise.step_width = (uint32_t)f->cfg.sizes[2][0];
            s->stepwise.step_height = (uint32_t)f->cfg.sizes[2][1];
            return 0;
        }
        if (s->index >= (uint32_t)f->cfg.n_sizes) return EINVAL;
        s->type = V4L2_FRMSIZE_TYPE_DISCRETE;
        s->discrete.width = (uint32_t)f->cfg.sizes[s->index][0];
        s->discrete.height = (uint32_t)f->cfg.sizes[s->index][1];
        return 0;
    }
    case VIDIOC_ENUM_FRAMEINTERVALS: {
        struct v4l2_frmivalenum *v = arg;
        int w = (int)v->width, h = (int)v->height;
        nearest_size(f, &w, &h);
        if (!fmt_offered(f, v->pixel_format) || w != (int)v->width || h != (int)v->height ||
            v->index >= (uint32_t)(f->cfg.fps_continuous ? 1 : f->cfg.n_fps))
            return EINVAL;
        if (f->cfg.fps_continuous) { /* intervals from 1/max to 1/min seconds */
            v->type = V4L2_FRMIVAL_TYPE_CONTINUOUS;
            v->stepwise.min.numerator = 1;
            v->stepwise.min.denominator = (uint32_t)f->cfg.fps[1];
            v->stepwise.max.numerator = 1;
            v->stepwise.max.denominator = (uint32_t)f->cfg.fps[0];
            v->stepwise.step.numerator = 1;
            v->stepwise.step.denominator = 1;
            return 0;
        }
        v->type = V4L2_FRMIVAL_TYPE_DISCRETE;
        v->discrete.numerator = 1;
        v->discrete.denominator = (uint32_t)f->cfg.fps[v->index];
        return 0;
    }
    case VIDIOC_G_FMT:
    case VIDIOC_S_FMT:
    case VIDIOC_TRY_FMT: {
        struct v4l2_format *fm = arg;
        if (fm->type != V4L2_BUF_TYPE_VIDEO_CAPTURE) return EINVAL;
        if (req == VIDIOC_G_FMT) { fill_pix(f, &fm->fmt.pix); return 0; }
        if (req == VIDIOC_S_FMT && (ctl.busy || f->n_bufs)) return EBUSY;
        ffd t = *f;
        t.fourcc = fmt_offered(f, fm->fmt.pix.pixelformat) ? fm->fmt.pix.pixelformat : f->cfg.fourcc[0];
        t.width = (int)fm->fmt.pix.width;
        t.height = (int)fm->fmt.pix.height;
        nearest_size(f, &t.width, &t.height);
        memset(&fm->fmt.pix, 0, sizeof(fm->fmt.pix));
        fill_pix(&t, &fm->fmt.pix);
        if (req == VIDIOC_S_FMT) { f->fourcc = t.fourcc; f->width = t.width; f->height = t.height; }
        return 0;
    }
    case VIDIOC_G_PARM:
    case VIDIOC_S_PARM: {
        struct v4l2_streamparm *p = arg;
        if (p->type != V4L2_BUF_TYPE_VIDEO_CAPTURE) return EINVAL;
        if (req == VIDIOC_S_PARM && p->parm.capture.timeperframe.numerator) {
            double want = (double)p->parm.capture.timeperframe.denominator / p->parm.capture.timeperframe.numerator;
            int best = f->cfg.fps[0];
            if (f->cfg.fps_continuous) {
                best = (int)(want + 0.5);
                best = best < f->cfg.fps[0] ? f->cfg.fps[0] : best > f->cfg.fps[1] ? f->cfg.fps[1] : best;
            } else {
                for (int i = 0; i < f->cfg.n_fps; i++)
                    if (fabs_d(f->cfg.fps[i] - want) < fabs_d(best - want)) best = f->cfg.fps[i];
            }
            f->fps = best;
        }
        memset(&p->parm, 0, sizeof(p->parm));
        p->parm.capture.capability = V4L2_CAP_TIMEPERFRAME;
        p->parm.capture.timeperframe.numerator = 1;
        p->parm.capture.timeperframe.denominator = (uint32_t)f->fps;
        p->parm.capture.readbuffers = 0;
        return 0;
    }
    case VIDIOC_REQBUFS: {
        struct v4l2_requestbuffers *r = arg;
        if (r->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || r->memory != V4L2_MEMORY_MMAP) return EINVAL;
        if (f->streaming) return EBUSY;
        if (ctl.busy && r->count) return EBUSY;
        release_bufs(f);
        if (!r->count) return 0;
        uint32_t n = r->count < 2 ? 2 : r->count > MAX_BUFS ? MAX_BUFS : r->count;
        size_t len = ((size_t)f->width * f->height * 2 + 4095) & ~(size_t)4095;
        for (uint32_t i = 0; i < n; i++) {
            int p = pool_alloc(len);
            if (p < 0) { release_bufs(f); return ENOMEM; }
            memset(&f->bufs[i], 0, sizeof(fbuf));
            f->bufs[i].pool = p;
            f->n_bufs = (int)i + 1;
        }
        r->count = n;
        return 0;
    }
    case VIDIOC_QUERYBUF:
    case VIDIOC_QBUF:
    case VIDIOC_DQBUF: {
        struct v4l2_buffer *b = arg;
        if (b->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || b->memory != V4L2_MEMORY_MMAP) return EINVAL;
        if (req == VIDIOC_DQBUF) {
            if (err) return err;
            if (!f->streaming) return EINVAL;
            for (;;) {
                /* At rate 0 a frame is made per poll (or blocking wait), so a
                 * drain loop of non-blocking DQBUFs ends. */
                advance(f, !f->nonblock);
                if (count_state(f, 2)) break;
                if (!count_state(f, 1)) return EINVAL; /* nothing queued: would wait forever */
                if (f->nonblock) return EAGAIN;
                double d = next_due(f);
                pthread_mutex_unlock(&lock);
                sleep_s(d > 0.01 || d <= 0 ? 0.01 : d);
                pthread_mutex_lock(&lock);
                read_control();
                if ((err = fail_errno(f)) != 0) return err;
            }
            int pick = -1;
            for (int i = 0; i < f->n_bufs; i++)
                if (f->bufs[i].state == 2 && (pick < 0 || f->bufs[i].order < f->bufs[pick].order)) pick = i;
            b->index = (uint32_t)pick;
            f->bufs[pick].state = 0;
        } else if (b->index >= (uint32_t)f->n_bufs) {
            return EINVAL;
        } else if (req == VIDIOC_QBUF) {
            if (err) return err;
            if (f->bufs[b->index].state != 0) return EINVAL;
            f->bufs[b->index].state = 1;
            f->bufs[b->index].order = ++f->order;
        }
        const fbuf *fb = &f->bufs[b->index];
        b->length = (uint32_t)pool[fb->pool].len;
        b->m.offset = b->index * 0x100000u;
        b->bytesused = fb->state == 1 ? 0 : fb->bytesused;
        b->sequence = fb->sequence;
        b->timestamp = fb->ts;
        b->field = V4L2_FIELD_NONE;
        b->flags = fb->flags | V4L2_BUF_FLAG_MAPPED | (fb->state == 1 ? V4L2_BUF_FLAG_QUEUED : 0) |
                   (fb->state == 2 ? V4L2_BUF_FLAG_DONE : 0);
        return 0;
    }
    case VIDIOC_STREAMON:
    case VIDIOC_STREAMOFF: {
        if (*(int *)arg != V4L2_BUF_TYPE_VIDEO_CAPTURE) return EINVAL;
        if (req == VIDIOC_STREAMON) {
            if (err) return err;
            if (!f->n_bufs) return EINVAL;
            if (f->streaming) return 0;
            frames_prepare(f);
            if (!f->n_frames) return ENOMEM;
            f->streaming = 1;
            f->t0 = now_s();
            f->produced = 0;
        } else {
            f->streaming = 0;
            for (int i = 0; i < f->n_bufs; i++) f->bufs[i].state = 0;
        }
        return 0;
    }
    default: return ENOTTY;
    }
}

/* ------------------------------------------------------------ interposers */
static int fake_open(const char *path, int flags) {
    int kind = path_kind(path);
    if (kind < 0) return -2;
    if (kind == 0 && (!ctl.present || node_present != 1)) { errno = ENOENT; return -1; }
    if (kind == 0 && ctl.open_error) { errno = ctl.open_error; return -1; }
    int slot = -1;
    for (int i = 0; i < MAX_FDS; i++)
        if (!fds[i].used) { slot = i; break; }
    if (slot < 0) { errno = EMFILE; return -1; }
    int fd = real_open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ffd *f = &fds[slot];
    memset(f, 0, sizeof(*f));
    f->fd = fd;
    f->used = 1;
    f->meta = kind == 1;
    f->nonblock = (flags & O_NONBLOCK) != 0;
    config_read(&f->cfg);
    f->fourcc = f->cfg.fourcc[0];
    f->width = f->cfg.stepwise ? f->cfg.sizes[0][0] : f->cfg.sizes[0][0];
    f->height = f->cfg.sizes[0][1];
    f->fps = f->cfg.fps_continuous ? f->cfg.fps[1] : f->cfg.fps[0];
    return fd;
}

static int open_common(const char *path, int flags, mode_t mode, int which) {
    pthread_mutex_lock(&lock);
    sync_state();
    int r = fake_open(path, flags);
    pthread_mutex_unlock(&lock);
    if (r != -2) return r;
    if (which == 1) return real_open64(path, flags, mode);
    return real_open(path, flags, mode);
}

#define MODE_ARG(flags) \
    mode_t mode = 0; \
    if (((flags) & O_CREAT) || ((flags) & O_TMPFILE) == O_TMPFILE) { va_list ap; va_start(ap, flags); mode = (mode_t)va_arg(ap, int); va_end(ap); }

int open(const char *path, int flags, ...) { MODE_ARG(flags); return open_common(path, flags, mode, 0); }
int open64(const char *path, int flags, ...) { MODE_ARG(flags); return open_common(path, flags, mode, 1); }
int __open_2(const char *path, int flags) { return open_common(path, flags, 0, 0); }
int __open64_2(const char *path, int flags) { return open_common(path, flags, 0, 1); }

static int openat_common(int dirfd, const char *path, int flags, mode_t mode, int which) {
    if (path && (path[0] == '/' || dirfd == AT_FDCWD)) {
        char full[PATH_MAX * 2];
        if (path[0] != '/') {
            char cwd[PATH_MAX];
            if (getcwd(cwd, sizeof(cwd))) snprintf(full, sizeof(full), "%s/%s", cwd, path);
            else snprintf(full, sizeof(full), "%s", path);
        } else {
            snprintf(full, sizeof(full), "%s", path);
        }
        pthread_mutex_lock(&lock);
        sync_state();
        int r = fake_open(full, flags);
        pthread_mutex_unlock(&lock);
        if (r != -2) return r;
    }
    resolve();
    if (which == 1) return real_openat64(dirfd, path, flags, mode);
    return real_openat(dirfd, path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...) { MODE_ARG(flags); return openat_common(dirfd, path, flags, mode, 0); }
int openat64(int dirfd, const char *path, int flags, ...) { MODE_ARG(flags); return openat_common(dirfd, path, flags, mode, 1); }

DIR *opendir(const char *name) {
    pthread_mutex_lock(&lock);
    sync_state(); /* so a directory scan sees plug/unplug written to the control file */
    pthread_mutex_unlock(&lock);
    return real_opendir(name);
}

int close(int fd) {
    resolve();
    pthread_mutex_lock(&lock);
    ffd *f = find_fd(fd);
    if (f) {
        release_bufs(f);
        frames_free(f);
        f->used = 0;
    }
    pthread_mutex_unlock(&lock);
    return real_close(fd);
}

int ioctl(int fd, unsigned long req, ...) {
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    resolve();
    pthread_mutex_lock(&lock);
    ffd *f = find_fd(fd);
    if (!f) {
        pthread_mutex_unlock(&lock);
        return real_ioctl(fd, req, arg);
    }
    sync_state();
    int err = do_ioctl(f, req, arg);
    pthread_mutex_unlock(&lock);
    if (err) { errno = err; return -1; }
    return 0;
}

static void *fake_mmap(size_t len, int fd, long long off, int *handled) {
    pthread_mutex_lock(&lock);
    ffd *f = find_fd(fd);
    *handled = f != NULL;
    void *r = MAP_FAILED;
    if (f) {
        sync_state();
        long long idx = off / 0x100000;
        if (f->dead) errno = ENODEV;
        else if (off % 0x100000 || idx < 0 || idx >= f->n_bufs || len > pool[f->bufs[idx].pool].len) errno = EINVAL;
        else { r = pool[f->bufs[idx].pool].mem; pool[f->bufs[idx].pool].mapped++; }
    }
    pthread_mutex_unlock(&lock);
    return r;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    resolve();
    int handled = 0;
    if (fd >= 0 && !(flags & MAP_ANONYMOUS)) {
        void *r = fake_mmap(len, fd, off, &handled);
        if (handled) return r;
    }
    return real_mmap(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off) {
    resolve();
    int handled = 0;
    if (fd >= 0 && !(flags & MAP_ANONYMOUS)) {
        void *r = fake_mmap(len, fd, off, &handled);
        if (handled) return r;
    }
    return real_mmap64(addr, len, prot, flags, fd, off);
}

int munmap(void *addr, size_t len) {
    resolve();
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_POOL; i++)
        if (pool[i].mem && pool[i].mem == addr) {
            pool[i].mapped--;
            pool_maybe_free(i);
            pthread_mutex_unlock(&lock);
            return 0;
        }
    pthread_mutex_unlock(&lock);
    return real_munmap(addr, len);
}

/* Readiness of one of our fds (locked). */
static short fake_revents(ffd *f, short events) {
    if (f->dead) return POLLERR | POLLHUP;
    if (f->meta) return POLLERR;
    if (fail_errno(f) || !f->streaming) return POLLERR;
    if (ctl.stall) return 0;
    advance(f, 1);
    return count_state(f, 2) ? (short)(events & (POLLIN | POLLRDNORM)) : 0;
}

int poll(struct pollfd *pfds, nfds_t n, int timeout) {
    resolve();
    uint64_t ours = 0; /* the first 64 entries are checked; nobody polls more cameras */
    pthread_mutex_lock(&lock);
    for (nfds_t i = 0; i < n && i < 64; i++)
        if (find_fd(pfds[i].fd)) ours |= 1ull << i;
    pthread_mutex_unlock(&lock);
    if (!ours) return real_poll(pfds, n, timeout);
    double end = timeout < 0 ? 1e300 : now_s() + timeout * 1e-3;
    for (;;) {
        int ready = 0;
        double wait = 0.01;
        pthread_mutex_lock(&lock);
        sync_state();
        for (nfds_t i = 0; i < n && i < 64; i++) {
            ffd *f = (ours >> i) & 1 ? find_fd(pfds[i].fd) : NULL;
            if (!f) continue;
            pfds[i].revents = fake_revents(f, pfds[i].events);
            if (pfds[i].revents) ready++;
            else if (f->streaming) {
                double d = next_due(f);
                if (d < wait) wait = d > 0.0005 ? d : 0.0005;
            }
        }
        pthread_mutex_unlock(&lock);
        for (nfds_t i = 0; i < n; i++) { /* the rest, without waiting */
            if (i < 64 && ((ours >> i) & 1)) continue;
            struct pollfd one = pfds[i];
            one.revents = 0;
            if (real_poll(&one, 1, 0) > 0) ready++;
            pfds[i].revents = one.revents;
        }
        double left = end - now_s();
        if (ready || left <= 0) return ready;
        sleep_s(wait < left ? wait : left);
    }
}

ssize_t read(int fd, void *buf, size_t n) {
    resolve();
    pthread_mutex_lock(&lock);
    ffd *f = find_fd(fd);
    pthread_mutex_unlock(&lock);
    if (f) { errno = EINVAL; return -1; } /* streaming-only device, like most UVC drivers */
    return real_read(fd, buf, n);
}

__attribute__((constructor)) static void fake_init(void) {
    pthread_mutex_lock(&lock);
    sync_state();
    pthread_mutex_unlock(&lock);
}

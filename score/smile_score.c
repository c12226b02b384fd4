/* smile_score.c - smile-score: batch smile scoring of videos and photos.
 *
 * Pipeline: one reader thread opens the inputs in order and cuts each video
 * into segments of SEG_FRAMES frames; worker threads (--threads) each take
 * a segment, decode its frames to grey and run their own face pipeline over
 * it (tracking is sequential inside a segment); the main thread writes the
 * results in input order as they complete. A segment first replays the
 * WARM_FRAMES frames before it (not written) so its tracks and smoothed
 * scores are settled at its first frame, and its track ids are stitched to
 * the previous segment's by box overlap on that shared frame. The cut does
 * not depend on --threads, so the output does not either.
 *
 * Memory is bounded: frames waiting for a worker are limited in bytes, live
 * segments in number; results are written as they are produced. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "avi_writer.h"
#include "face_pipeline.h"
#include "frame_source.h"
#include "image_io.h"
#include "nn.h"
#include "score_annotate.h"
#include "score_events.h"
#include "score_output.h"
#include "score_plot.h"

#define SEG_FRAMES_DEFAULT 300 /* 10 s at 30 fps: 2 workers share 1800 frames evenly */
#define WARM_FRAMES 30      /* replayed before a segment: tracks and EMA settle */
#define MAX_FACES 32
#define FRAME_BUDGET (96u << 20) /* bytes of frames waiting for workers */

enum { EXIT_OK = 0, EXIT_DAMAGED = 1, EXIT_USAGE = 2, EXIT_INTERRUPTED = 130 };

/* Segment length; env SMILE_SCORE_SEGMENT_FRAMES overrides it so tests can
 * cross segment borders with short videos. */
static int SEG_FRAMES = SEG_FRAMES_DEFAULT;

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

/* ------------------------------------------------------------ options */

typedef struct {
    const char *csv, *json, *model, *annotate, *plot;
    int summary, threads, min_face;
    float threshold;
} sc_opts;

/* ------------------------------------------------------------ inputs */

typedef struct {
    char *path;
    int still;          /* decided when opened */
    /* filled by the reader, read by the writer after the input's last segment */
    int failed;         /* could not be opened or decoded at all */
    int damaged;        /* corrupt frames, truncation, read errors */
    int64_t corrupt;
    int64_t frames_hint; /* frame count from the header, -1 unknown */
    double fps;
    int orientation;     /* how the file says to turn its frames (Exif style, 1 = as stored) */
    /* writer state */
    sev_summary sum;
    sev_detector det;
    sev_event *events;
    size_t n_events, cap_events;
    int next_id;
    sp_series *plot;
    cap_avi_writer *annot;
    int annot_failed;
} sc_input;

/* ------------------------------------------------------------ frames and segments */

typedef struct {
    atomic_int refs;
    size_t size;
    uint8_t data[];
} sc_buf;

typedef struct {
    sc_buf *buf;
    cap_pixfmt fmt; /* MJPEG, GREY (compact, stride = width), or I420 (compact,
                     * even width, kept only for --annotate) */
    int w, h;
    int64_t index;
    double t;
} sc_frame;

typedef struct {
    int64_t index;
    double t;
    int nf;
    face_result f[MAX_FACES];
    uint8_t *annot; /* annotated JPEG, --annotate only */
    size_t annot_size;
} sc_result;

typedef struct sc_seg {
    struct sc_seg *next;
    sc_input *in;
    int seq;    /* segment number within the input */
    int last;   /* the input's last segment */
    int warm;   /* leading frames that only warm up the pipeline */
    /* frames: produced by the reader, consumed by one worker */
    sc_frame *frames;
    int n_frames, cap_frames, consumed;
    int produced_all;
    int taken;
    /* results: produced by the worker, written by the main thread */
    sc_result *res;
    int n_res, written;
    int done;
    int has_stitch;
    sc_result stitch; /* the last warm-up frame's results, for id stitching */
} sc_seg;

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sc_seg *head, *tail;
    int live_segs, max_live_segs;
    size_t frame_bytes;
    int reader_done;
    double reader_cpu_s; /* for SMILE_SCORE_STATS: how the work split across threads */
    /* config */
    const sc_opts *opt;
    const nn_net *net;
    face_config fcfg;
    sc_input *inputs;
    int n_inputs;
    /* progress */
    int progress_tty;
    double progress_last;
    pthread_mutex_t err_mu;
    int progress_shown;
} sc_ctx;

/* A bounded wait, so a SIGINT/SIGTERM (which cannot signal a condition
 * variable) is noticed within 0.2 s by whoever waits; that waiter wakes the rest. */
static void wait_a_bit(sc_ctx *c) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 200000000;
    if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
    pthread_cond_timedwait(&c->cv, &c->mu, &ts);
    if (g_stop) pthread_cond_broadcast(&c->cv);
}

static double thread_cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Messages go to stderr; a progress line, if shown, is cleared first. */
static void report(sc_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(sc_ctx *c, const char *fmt, ...) {
    pthread_mutex_lock(&c->err_mu);
    if (c->progress_shown) {
        fputs("\r\033[K", stderr);
        c->progress_shown = 0;
    }
    fputs("smile-score: ", stderr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    pthread_mutex_unlock(&c->err_mu);
}

static sc_buf *buf_new(sc_ctx *c, size_t size) {
    sc_buf *b = malloc(sizeof(sc_buf) + size);
    if (!b) return NULL;
    atomic_init(&b->refs, 1);
    b->size = size;
    pthread_mutex_lock(&c->mu);
    c->frame_bytes += size;
    pthread_mutex_unlock(&c->mu);
    return b;
}

static sc_buf *buf_ref(sc_buf *b) {
    atomic_fetch_add(&b->refs, 1);
    return b;
}

static void buf_unref(sc_ctx *c, sc_buf *b) {
    if (!b || atomic_fetch_sub(&b->refs, 1) != 1) return;
    pthread_mutex_lock(&c->mu);
    c->frame_bytes -= b->size;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    free(b);
}

static void seg_free(sc_ctx *c, sc_seg *s) {
    if (!s) return;
    for (int i = s->consumed; i < s->n_frames; i++) buf_unref(c, s->frames[i].buf);
    free(s->frames);
    for (int i = 0; i < s->n_res; i++) free(s->res[i].annot);
    free(s->res);
    free(s);
}

/* Appends a new segment (blocks while too many are live). Locked by caller. */
static sc_seg *seg_push(sc_ctx *c, sc_input *in, int seq, int cap_frames) {
    while (c->live_segs >= c->max_live_segs && !g_stop) wait_a_bit(c);
    sc_seg *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->frames = malloc((size_t)cap_frames * sizeof(*s->frames));
    s->res = malloc((size_t)cap_frames * sizeof(*s->res));
    if (!s->frames || !s->res) {
        free(s->frames);
        free(s->res);
        free(s);
        return NULL;
    }
    s->cap_frames = cap_frames;
    s->in = in;
    s->seq = seq;
    if (c->tail) c->tail->next = s;
    else c->head = s;
    c->tail = s;
    c->live_segs++;
    pthread_cond_broadcast(&c->cv);
    return s;
}

/* ------------------------------------------------------------ reader */

/* What a file holds, by its first bytes: a photo that imageio decodes (JPEG,
 * PNG, HEIF/AVIF: orientation, full colour handling), a picture that only
 * FFmpeg decodes (WebP, BMP, TIFF, GIF), or anything else (a video, or
 * garbage for FFmpeg to refuse). */
enum { PIC_NONE, PIC_IMAGEIO, PIC_FFMPEG };
static int picture_kind(const char *path) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return PIC_NONE;
    unsigned char h[64] = {0}; /* a HEIF's ftyp box lists its brands */
    size_t n = fread(h, 1, sizeof(h), fp);
    fclose(fp);
    if (n >= 3 && h[0] == 0xFF && h[1] == 0xD8 && h[2] == 0xFF) return PIC_IMAGEIO;
    if (n >= 8 && memcmp(h, "\x89PNG\r\n\x1a\n", 8) == 0) return PIC_IMAGEIO;
#ifdef SMILE_HAVE_HEIF
    if (img_is_heif(h, n)) return PIC_IMAGEIO;
#endif
    if (n >= 12 && memcmp(h, "RIFF", 4) == 0 && memcmp(h + 8, "WEBP", 4) == 0) return PIC_FFMPEG;
    if (n >= 6 && (memcmp(h, "GIF87a", 6) == 0 || memcmp(h, "GIF89a", 6) == 0)) return PIC_FFMPEG;
    if (n >= 4 && (memcmp(h, "II*\0", 4) == 0 || memcmp(h, "MM\0*", 4) == 0)) return PIC_FFMPEG;
    if (n >= 2 && h[0] == 'B' && h[1] == 'M') return PIC_FFMPEG;
    return PIC_NONE;
}

/* Adds a frame to a segment (locked by caller); wakes the worker. */
static void seg_add_frame(sc_ctx *c, sc_seg *s, const sc_frame *f) {
    s->frames[s->n_frames++] = *f;
    pthread_cond_broadcast(&c->cv);
}

static void seg_close(sc_ctx *c, sc_seg *s, int last) {
    s->produced_all = 1;
    s->last = last;
    pthread_cond_broadcast(&c->cv);
}

static void read_still(sc_ctx *c, sc_input *in) {
    img_image im;
    char err[512];
    in->still = 1;
    in->frames_hint = 1;
    img_status st = img_load(in->path, 1, &im, err, sizeof(err));
    sc_buf *b = NULL;
    if (st != IMG_OK) {
        report(c, "%s", err);
        in->failed = 1;
    } else {
        in->orientation = im.orientation;
        b = buf_new(c, (size_t)im.width * im.height);
        if (!b) {
            report(c, "%s: out of memory", in->path);
            in->failed = 1;
        } else {
            for (int y = 0; y < im.height; y++)
                memcpy(b->data + (size_t)y * im.width, im.pixels + (size_t)y * im.stride,
                       (size_t)im.width);
        }
    }
    pthread_mutex_lock(&c->mu);
    sc_seg *s = seg_push(c, in, 0, 1);
    if (s && b) {
        sc_frame f = {b, CAP_FMT_GREY, im.width, im.height, 0, 0.0};
        seg_add_frame(c, s, &f);
        b = NULL;
    }
    if (s) seg_close(c, s, 1);
    pthread_mutex_unlock(&c->mu);
    if (b) buf_unref(c, b);
    if (st == IMG_OK) img_image_free(&im);
}

/* Copies a source frame into a refcounted buffer: MJPEG bytes, compact grey,
 * or with colour (for --annotate) compact I420 when the width is even. */
static sc_buf *copy_frame(sc_ctx *c, const cap_frame *f, int colour, cap_pixfmt *fmt) {
    sc_buf *b;
    if (colour && f->format == CAP_FMT_I420 && f->width % 2 == 0 && f->stride % 2 == 0) {
        size_t cw = (size_t)f->width / 2, ch = (size_t)(f->height + 1) / 2, cs = (size_t)f->stride / 2;
        size_t ysz = (size_t)f->stride * (size_t)f->height;
        if (f->height <= 0 || f->stride < f->width || cap_i420_size(f->stride, f->height) > f->size)
            return NULL;
        b = buf_new(c, cap_i420_size(f->width, f->height));
        if (!b) return NULL;
        uint8_t *o = b->data;
        for (int y = 0; y < f->height; y++, o += f->width)
            memcpy(o, f->data + (size_t)y * f->stride, (size_t)f->width);
        for (int p = 0; p < 2; p++) {
            const uint8_t *plane = f->data + ysz + (size_t)p * cs * ch;
            for (size_t y = 0; y < ch; y++, o += cw) memcpy(o, plane + y * cs, cw);
        }
        *fmt = CAP_FMT_I420;
        return b;
    }
    switch (f->format) {
    case CAP_FMT_MJPEG:
        b = buf_new(c, f->size);
        if (b) memcpy(b->data, f->data, f->size);
        *fmt = CAP_FMT_MJPEG;
        return b;
    case CAP_FMT_GREY:
    case CAP_FMT_I420:
    case CAP_FMT_YUYV: {
        int step = f->format == CAP_FMT_YUYV ? 2 : 1;
        if ((size_t)f->stride * (size_t)(f->height - 1) + (size_t)f->width * step > f->size)
            return NULL;
        b = buf_new(c, (size_t)f->width * f->height);
        if (!b) return NULL;
        for (int y = 0; y < f->height; y++) {
            const uint8_t *row = f->data + (size_t)y * f->stride;
            uint8_t *o = b->data + (size_t)y * f->width;
            if (step == 1) memcpy(o, row, (size_t)f->width);
            else
                for (int x = 0; x < f->width; x++) o[x] = row[2 * x];
        }
        *fmt = CAP_FMT_GREY;
        return b;
    }
    }
    return NULL;
}

/* A video, or with picture set a picture FFmpeg decodes: that is scored as a
 * photo (its first frame) unless its header counts several frames, as an
 * animated GIF's does. */
static void read_video(sc_ctx *c, sc_input *in, int picture) {
    cap_status st;
    char err[512];
    cap_source *src = cap_file_open(in->path, &st, err, sizeof(err));
    if (!src) {
        report(c, "%s", err);
        in->failed = 1;
        pthread_mutex_lock(&c->mu);
        sc_seg *s = seg_push(c, in, 0, 1);
        if (s) seg_close(c, s, 1);
        pthread_mutex_unlock(&c->mu);
        return;
    }
    in->frames_hint = cap_source_frame_count(src);
    in->fps = cap_source_fps(src);
    in->orientation = cap_source_orientation(src);
    if (picture && in->frames_hint <= 1) {
        in->still = 1;
        in->frames_hint = 1;
    }
    cap_source_set_colour(src, c->opt->annotate != NULL); /* H.264 annotated in colour */
    sc_frame ring[WARM_FRAMES]; /* the last frames read, replayed into the next segment */
    int ring_n = 0, ring_pos = 0;
    int64_t good = 0;
    sc_seg *cur = NULL;
    int seq = 0;
    char last_err[512] = "";
    for (;;) {
        if (g_stop) break;
        /* Back-pressure: wait while too many frame bytes are queued. */
        pthread_mutex_lock(&c->mu);
        while (c->frame_bytes > FRAME_BUDGET && !g_stop) wait_a_bit(c);
        pthread_mutex_unlock(&c->mu);
        cap_frame f;
        st = cap_source_read(src, &f, 1000);
        if (st == CAP_AGAIN) continue;
        if (st == CAP_CORRUPT) {
            in->corrupt++;
            in->damaged = 1;
            snprintf(last_err, sizeof(last_err), "%s", cap_source_error(src));
            report(c, "%s: frame %lld damaged, skipped (%s)", in->path, (long long)f.index,
                   last_err);
            continue;
        }
        if (st == CAP_EOF) {
            const char *e = cap_source_error(src);
            if (e[0] && strcmp(e, last_err) != 0) { /* e.g. truncated */
                report(c, "%s", e);
                in->damaged = 1;
            }
            break;
        }
        if (st != CAP_OK) {
            report(c, "%s: %s (%s)", in->path, cap_status_str(st), cap_source_error(src));
            in->damaged = 1;
            if (good == 0) in->failed = 1;
            break;
        }
        cap_pixfmt fmt;
        sc_buf *b = copy_frame(c, &f, c->opt->annotate != NULL, &fmt);
        if (!b) {
            report(c, "%s: frame %lld: cannot copy (out of memory or bad frame)", in->path,
                   (long long)f.index);
            in->corrupt++;
            in->damaged = 1;
            continue;
        }
        sc_frame fr = {b, fmt, f.width, f.height, f.index, f.timestamp_s};
        pthread_mutex_lock(&c->mu);
        if (good % SEG_FRAMES == 0) {
            if (cur) seg_close(c, cur, 0);
            cur = seg_push(c, in, seq++, SEG_FRAMES + WARM_FRAMES);
            if (!cur) {
                pthread_mutex_unlock(&c->mu);
                buf_unref(c, b);
                report(c, "%s: out of memory", in->path);
                in->damaged = 1;
                break;
            }
            /* replay the ring, oldest first */
            for (int k = 0; k < ring_n; k++) {
                sc_frame rf = ring[(ring_pos - ring_n + k + WARM_FRAMES) % WARM_FRAMES];
                rf.buf = buf_ref(rf.buf);
                seg_add_frame(c, cur, &rf);
            }
            cur->warm = ring_n;
        }
        fr.buf = buf_ref(b);
        seg_add_frame(c, cur, &fr);
        pthread_mutex_unlock(&c->mu);
        good++;
        if (ring_n == WARM_FRAMES) buf_unref(c, ring[ring_pos].buf);
        else ring_n++;
        ring[ring_pos] = (sc_frame){b, fmt, f.width, f.height, f.index, f.timestamp_s};
        ring_pos = (ring_pos + 1) % WARM_FRAMES;
        if (in->still) break;
    }
    for (int k = 0; k < ring_n; k++)
        buf_unref(c, ring[(ring_pos - ring_n + k + WARM_FRAMES) % WARM_FRAMES].buf);
    cap_source_free(src);
    pthread_mutex_lock(&c->mu);
    if (!cur) cur = seg_push(c, in, 0, 1); /* no frame at all: the writer still reports it */
    if (cur) seg_close(c, cur, 1);
    pthread_mutex_unlock(&c->mu);
}

static void *reader_main(void *arg) {
    sc_ctx *c = arg;
    for (int i = 0; i < c->n_inputs && !g_stop; i++) {
        sc_input *in = &c->inputs[i];
        int kind = picture_kind(in->path);
        if (kind == PIC_IMAGEIO) read_still(c, in);
        else read_video(c, in, kind == PIC_FFMPEG);
    }
    pthread_mutex_lock(&c->mu);
    c->reader_done = 1;
    c->reader_cpu_s = thread_cpu_s();
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* ------------------------------------------------------------ workers */

typedef struct {
    sc_ctx *c;
    face_pipeline *fp;
    img_jpeg *jpeg;
    uint8_t *grey, *rgb;
    size_t grey_cap, rgb_cap;
    sc_annotator *ann;
    cap_convert *cv; /* I420 to RGB, --annotate only */
    double cpu_s; /* this thread's CPU time, at exit */
} sc_worker;

static int ensure(uint8_t **p, size_t *cap, size_t need) {
    if (need <= *cap) return 0;
    uint8_t *n = realloc(*p, need);
    if (!n) return -1;
    *p = n;
    *cap = need;
    return 0;
}

/* One frame to grey (and to RGB when annotating). Returns 0 or -1 (damaged). */
static int frame_to_grey(sc_worker *w, const sc_frame *f, const uint8_t **grey, int *gw, int *gh,
                         int want_rgb, char *err, size_t errlen) {
    if (f->fmt == CAP_FMT_I420) { /* compact: Y, U and V rows of width, width / 2 */
        *grey = f->buf->data;
        *gw = f->w;
        *gh = f->h;
        if (want_rgb) {
            cap_frame cf = {CAP_FMT_I420, f->w, f->h, f->w, f->buf->data,
                            cap_i420_size(f->w, f->h), f->t, f->index};
            if (ensure(&w->rgb, &w->rgb_cap, (size_t)f->w * f->h * 3)) return -1;
            if (!w->cv || cap_convert_rgb(w->cv, &cf, w->rgb, 3 * f->w) != CAP_OK) {
                snprintf(err, errlen, "%s", cap_convert_error(w->cv));
                return -1;
            }
        }
        return 0;
    }
    if (f->fmt == CAP_FMT_GREY) {
        *grey = f->buf->data;
        *gw = f->w;
        *gh = f->h;
        if (want_rgb) {
            if (ensure(&w->rgb, &w->rgb_cap, (size_t)f->w * f->h * 3)) return -1;
            for (size_t i = 0; i < (size_t)f->w * f->h; i++)
                w->rgb[3 * i] = w->rgb[3 * i + 1] = w->rgb[3 * i + 2] = f->buf->data[i];
        }
        return 0;
    }
    int jw, jh;
    if (img_jpeg_info(w->jpeg, f->buf->data, f->buf->size, &jw, &jh) != IMG_OK ||
        ensure(&w->grey, &w->grey_cap, (size_t)jw * jh) ||
        img_jpeg_decode(w->jpeg, f->buf->data, f->buf->size, 1, 1, w->grey, jw, gw, gh) !=
            IMG_OK) {
        snprintf(err, errlen, "%s", img_jpeg_error(w->jpeg));
        return -1;
    }
    *grey = w->grey;
    if (want_rgb) {
        int rw, rh;
        if (ensure(&w->rgb, &w->rgb_cap, (size_t)jw * jh * 3) ||
            img_jpeg_decode(w->jpeg, f->buf->data, f->buf->size, 3, 1, w->rgb, 3 * jw, &rw,
                            &rh) != IMG_OK) {
            snprintf(err, errlen, "%s", img_jpeg_error(w->jpeg));
            return -1;
        }
    }
    return 0;
}

static void run_segment(sc_worker *w, sc_seg *s) {
    sc_ctx *c = w->c;
    int annotate = c->opt->annotate != NULL;
    face_pipeline_reset(w->fp);
    for (int i = 0;; i++) {
        pthread_mutex_lock(&c->mu);
        while (i >= s->n_frames && !s->produced_all && !g_stop) wait_a_bit(c);
        if (i >= s->n_frames || g_stop) {
            pthread_mutex_unlock(&c->mu);
            break;
        }
        sc_frame f = s->frames[i];
        pthread_mutex_unlock(&c->mu);

        const uint8_t *grey;
        int gw, gh;
        char err[256];
        int keep = i >= s->warm;
        int is_stitch = i == s->warm - 1;
        sc_result r = {0};
        r.index = f.index;
        r.t = f.t;
        r.nf = -1; /* damaged */
        if (frame_to_grey(w, &f, &grey, &gw, &gh, annotate && keep, err, sizeof(err)) == 0) {
            if (s->in->still)
                r.nf = face_pipeline_process_still(w->fp, grey, gw, gh, gw, r.f, MAX_FACES);
            else
                r.nf = face_pipeline_process(w->fp, grey, gw, gh, gw, f.t, r.f, MAX_FACES);
            if (r.nf < 0) snprintf(err, sizeof(err), "the face pipeline refused it");
            if (r.nf > MAX_FACES) r.nf = MAX_FACES;
            if (r.nf >= 0 && annotate && keep)
                sc_annotate(w->ann, w->rgb, gw, gh, r.f, r.nf, c->opt->threshold, &r.annot,
                            &r.annot_size);
        } else if (keep) {
            report(c, "%s: frame %lld damaged, skipped (%s)", s->in->path, (long long)f.index,
                   err);
        }
        pthread_mutex_lock(&c->mu);
        s->frames[i].buf = NULL;
        s->consumed = i + 1;
        if (keep) s->res[s->n_res++] = r;
        else if (is_stitch) {
            s->stitch = r;
            s->has_stitch = r.nf >= 0;
        }
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        buf_unref(c, f.buf);
    }
}

static void *worker_main(void *arg) {
    sc_worker *w = arg;
    sc_ctx *c = w->c;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        sc_seg *s = NULL;
        for (;;) {
            for (s = c->head; s && s->taken; s = s->next) {
            }
            if (s || c->reader_done || g_stop) break;
            wait_a_bit(c);
        }
        if (!s) {
            pthread_mutex_unlock(&c->mu);
            w->cpu_s = thread_cpu_s();
            return NULL;
        }
        s->taken = 1;
        pthread_mutex_unlock(&c->mu);
        run_segment(w, s);
        pthread_mutex_lock(&c->mu);
        s->done = 1;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
    }
}

/* ------------------------------------------------------------ writer (main thread) */

typedef struct {
    so_file csv, json;
    int have_csv, have_json;
    FILE *summary;
    sp_series **plots;
    int n_plots;
    int annotate_dir; /* --annotate names a folder (several inputs) */
    double t0;
    int64_t frames_done;
    /* id stitching within the current input */
    int map_local[4 * MAX_FACES], map_global[4 * MAX_FACES], n_map;
    sc_result prev_last; /* last written frame, global ids */
    int have_prev;
} sc_writer;

static float iou(const face_result *a, const face_result *b) {
    float x0 = fmaxf(a->x, b->x), y0 = fmaxf(a->y, b->y);
    float x1 = fminf(a->x + a->w, b->x + b->w), y1 = fminf(a->y + a->h, b->y + b->h);
    float in = fmaxf(0, x1 - x0) * fmaxf(0, y1 - y0);
    float un = a->w * a->h + b->w * b->h - in;
    return un > 0 ? in / un : 0;
}

static int global_id(sc_writer *wr, sc_input *in, int local) {
    for (int i = 0; i < wr->n_map; i++)
        if (wr->map_local[i] == local) return wr->map_global[i];
    int g = in->next_id++;
    if (wr->n_map == 4 * MAX_FACES) { /* forget the oldest mapping */
        memmove(wr->map_local, wr->map_local + 1, sizeof(int) * (4 * MAX_FACES - 1));
        memmove(wr->map_global, wr->map_global + 1, sizeof(int) * (4 * MAX_FACES - 1));
        wr->n_map--;
    }
    wr->map_local[wr->n_map] = local;
    wr->map_global[wr->n_map++] = g;
    return g;
}

/* A new segment of the same input: map its tracks to the previous one's by
 * the best box overlap on the frame both processed. */
static void stitch(sc_writer *wr, sc_seg *s) {
    wr->n_map = 0;
    if (!s->has_stitch || !wr->have_prev || s->stitch.index != wr->prev_last.index) return;
    int used[MAX_FACES] = {0};
    for (int i = 0; i < s->stitch.nf; i++) {
        int best = -1;
        float bi = 0.3f;
        for (int j = 0; j < wr->prev_last.nf; j++) {
            float v = iou(&s->stitch.f[i], &wr->prev_last.f[j]);
            if (!used[j] && v > bi) {
                bi = v;
                best = j;
            }
        }
        if (best >= 0 && wr->n_map < 4 * MAX_FACES) {
            used[best] = 1;
            wr->map_local[wr->n_map] = s->stitch.f[i].track_id;
            wr->map_global[wr->n_map++] = wr->prev_last.f[best].track_id;
        }
    }
}

static void add_event(sc_input *in, const sev_event *e) {
    if (in->n_events == in->cap_events) {
        size_t nc = in->cap_events ? 2 * in->cap_events : 16;
        sev_event *ne = realloc(in->events, nc * sizeof(*ne));
        if (!ne) return;
        in->events = ne;
        in->cap_events = nc;
    }
    in->events[in->n_events++] = *e;
}

static void write_result(sc_ctx *c, sc_writer *wr, sc_seg *s, sc_result *r) {
    sc_input *in = s->in;
    if (r->nf < 0) { /* damaged in decoding: reported by the worker */
        in->sum.corrupt++; /* the writer's own counter: the reader may still update in->corrupt */
        return;
    }
    for (int i = 0; i < r->nf; i++)
        r->f[i].track_id = in->still ? i : global_id(wr, in, r->f[i].track_id);
    wr->prev_last = *r;
    wr->prev_last.annot = NULL;
    wr->have_prev = 1;
    so_row row = {.source = in->path, .frame = r->index, .time_s = r->t, .face = -1};
    int shown = 0;
    float best = 0;
    for (int i = 0; i < r->nf; i++) {
        const face_result *f = &r->f[i];
        if (f->missed > 0) continue; /* tracked but not seen in this frame */
        row.face = f->track_id;
        row.x = f->x;
        row.y = f->y;
        row.w = f->w;
        row.h = f->h;
        row.score = f->score;
        row.smoothed = in->still ? f->score : f->smoothed;
        if (wr->have_csv) so_csv_row(wr->csv.fp, &row);
        if (wr->have_json) so_json_row(wr->json.fp, &row);
        in->sum.score_sum += f->score;
        in->sum.score_n++;
        if (row.smoothed > best) best = row.smoothed;
        if (in->plot) sp_add(in->plot, r->t, f->track_id, row.smoothed);
        shown++;
    }
    if (!shown) {
        row.face = -1;
        if (wr->have_csv) so_csv_row(wr->csv.fp, &row);
        if (wr->have_json) so_json_row(wr->json.fp, &row);
    }
    in->sum.frames++;
    if (shown) in->sum.frames_with_face++;
    if (best >= c->opt->threshold) in->sum.frames_smiling++;
    sev_event e;
    if (sev_push(&in->det, r->t, best, &e)) {
        add_event(in, &e);
        if (in->plot) sp_event(in->plot, e.start_s, e.end_s);
    }
    wr->frames_done++;
    if (r->annot && !in->annot_failed) {
        char err[512];
        if (!in->annot) {
            char path[4096];
            const char *base = strrchr(in->path, '/');
            base = base ? base + 1 : in->path;
            if (wr->annotate_dir)
                snprintf(path, sizeof(path), "%s/%s.%s", c->opt->annotate, base,
                         in->still ? "jpg" : "avi");
            else
                snprintf(path, sizeof(path), "%s", c->opt->annotate);
            if (in->still) {
                nn_error ne;
                if (nn_write_file_atomic(path, r->annot, r->annot_size, &ne) != NN_OK) {
                    report(c, "--annotate: %s", ne.msg);
                    in->annot_failed = 1;
                }
                free(r->annot);
                r->annot = NULL;
                return;
            }
            int aw = 0, ah = 0;
            img_jpeg *j = img_jpeg_new();
            if (j) img_jpeg_info(j, r->annot, r->annot_size, &aw, &ah);
            img_jpeg_free(j);
            cap_status st;
            in->annot = cap_avi_writer_new(path, aw, ah, in->fps > 0 ? in->fps : 30.0, &st, err,
                                           sizeof(err));
            if (!in->annot) {
                report(c, "--annotate: %s", err);
                in->annot_failed = 1;
            }
        }
        if (in->annot && cap_avi_writer_add(in->annot, r->annot, r->annot_size) != CAP_OK) {
            report(c, "--annotate: %s", cap_avi_writer_error(in->annot));
            in->annot_failed = 1;
        }
        free(r->annot);
        r->annot = NULL;
    }
}

static void finish_input(sc_ctx *c, sc_writer *wr, sc_input *in, int interrupted) {
    double end = 0;
    if (wr->have_prev) end = wr->prev_last.t + (in->fps > 0 ? 1.0 / in->fps : 0);
    sev_event e;
    if (sev_finish(&in->det, end, &e)) {
        add_event(in, &e);
        if (in->plot) sp_event(in->plot, e.start_s, e.end_s);
    }
    if (in->plot) sp_set_duration(in->plot, end);
    if (in->annot) {
        char err[512];
        if (cap_avi_writer_close(in->annot, err, sizeof(err)) != CAP_OK)
            report(c, "--annotate: %s", err);
        in->annot = NULL;
    }
    if (wr->summary) {
        FILE *o = wr->summary;
        const sev_summary *m = &in->sum;
        fprintf(o, "%s:%s\n", in->path,
                in->failed       ? " UNREADABLE"
                : interrupted    ? " (interrupted)"
                : in->damaged || m->corrupt ? " (damaged)"
                                 : "");
        fprintf(o, "  frames %lld, with a face %lld (%.1f%%), damaged %lld\n", (long long)m->frames,
                (long long)m->frames_with_face,
                m->frames ? 100.0 * m->frames_with_face / m->frames : 0.0,
                (long long)(in->corrupt + m->corrupt));
        static const char *const turned[9] = {
            [2] = "mirrored left to right", [3] = "turned half round", [4] = "mirrored top to bottom",
            [5] = "turned a quarter clockwise and mirrored", [6] = "turned a quarter clockwise",
            [7] = "turned a quarter anticlockwise and mirrored", [8] = "turned a quarter anticlockwise"};
        if (in->orientation >= 2 && in->orientation <= 8) /* so its boxes fit the shown picture */
            fprintf(o, "  %s %s, as the file says\n", in->still ? "picture" : "frames",
                    turned[in->orientation]);
        fprintf(o, "  mean score %.3f, smiling %.1f%% of the time (threshold %.2f)\n",
                m->score_n ? m->score_sum / m->score_n : 0.0,
                m->frames ? 100.0 * m->frames_smiling / m->frames : 0.0, c->opt->threshold);
        if (!in->still) {
            fprintf(o, "  laughter events %zu\n", in->n_events);
            for (size_t i = 0; i < in->n_events; i++)
                fprintf(o, "    %zu: %.2f s - %.2f s, peak %.3f at %.2f s\n", i + 1,
                        in->events[i].start_s, in->events[i].end_s, in->events[i].peak,
                        in->events[i].peak_s);
        }
        fflush(o);
    }
    free(in->events);
    in->events = NULL;
    wr->have_prev = 0;
    wr->n_map = 0;
}

static void progress(sc_ctx *c, sc_writer *wr, sc_input *in, int64_t in_frames, int force) {
    if (!c->progress_tty) return;
    double t = now_s();
    if (!force && t - c->progress_last < 0.2) return;
    c->progress_last = t;
    double el = t - wr->t0, fps = el > 0 ? wr->frames_done / el : 0;
    char line[256];
    const char *base = strrchr(in->path, '/');
    base = base ? base + 1 : in->path;
    if (in->frames_hint > 0) {
        double frac = (double)in_frames / in->frames_hint;
        if (frac > 1) frac = 1;
        int bars = (int)(frac * 20);
        double eta = fps > 0 ? (in->frames_hint - in_frames) / fps : 0;
        if (eta < 0) eta = 0;
        snprintf(line, sizeof(line), "[%.*s%*s] %3.0f%% %lld/%lld frames %.1f frames/s ETA %d:%02d %s",
                 bars, "####################", 20 - bars, "", 100 * frac, (long long)in_frames,
                 (long long)in->frames_hint, fps, (int)eta / 60, (int)eta % 60, base);
    } else {
        snprintf(line, sizeof(line), "%lld frames %.1f frames/s %s", (long long)in_frames, fps,
                 base);
    }
    pthread_mutex_lock(&c->err_mu);
    fprintf(stderr, "\r\033[K%s", line);
    c->progress_shown = 1;
    pthread_mutex_unlock(&c->err_mu);
}

/* Writes segments in order as their results arrive; returns when all are done. */
static void writer_loop(sc_ctx *c, sc_writer *wr) {
    int64_t in_frames = 0;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        sc_seg *s = c->head;
        while (!s && !c->reader_done) {
            wait_a_bit(c);
            s = c->head;
        }
        if (!s) {
            pthread_mutex_unlock(&c->mu);
            break;
        }
        /* wait for new results of the head segment, or its end */
        while (s->written == s->n_res && !s->done) {
            /* Interrupted: the reader may have queued a segment after every
             * worker left (it stops waiting for room on SIGINT). Nobody will
             * run it, so claim it here, under the lock workers take it with. */
            if (g_stop && !s->taken && s->produced_all) {
                s->taken = 1;
                s->done = 1;
                break;
            }
            wait_a_bit(c);
        }
        int from = s->written, to = s->n_res, done = s->done;
        pthread_mutex_unlock(&c->mu);

        if (from == 0 && s->seq == 0) { /* first segment of an input */
            in_frames = 0;
            sev_init(&s->in->det, c->opt->threshold, c->opt->threshold - SEV_HYSTERESIS);
            if (c->opt->plot && !s->in->failed) {
                s->in->plot = sp_new(s->in->path);
                if (s->in->plot) wr->plots[wr->n_plots++] = s->in->plot;
            }
        }
        if (from == 0 && s->seq > 0) stitch(wr, s);
        for (int i = from; i < to; i++) write_result(c, wr, s, &s->res[i]);
        in_frames += to - from;
        if (to > from) {
            if (wr->have_csv) fflush(wr->csv.fp);
            if (wr->have_json) fflush(wr->json.fp);
        }
        pthread_mutex_lock(&c->mu);
        s->written = to;
        int finished = done && s->written == s->n_res;
        if (finished) {
            c->head = s->next;
            if (!c->head) c->tail = NULL;
            c->live_segs--;
            pthread_cond_broadcast(&c->cv);
        }
        pthread_mutex_unlock(&c->mu);
        progress(c, wr, s->in, in_frames, 0);
        if (finished) {
            if (s->last) finish_input(c, wr, s->in, g_stop != 0);
            seg_free(c, s);
        }
    }
    if (c->progress_shown) {
        pthread_mutex_lock(&c->err_mu);
        fputs("\r\033[K", stderr);
        c->progress_shown = 0;
        pthread_mutex_unlock(&c->err_mu);
    }
}

/* ------------------------------------------------------------ inputs on the command line */

typedef struct {
    char **v;
    int n, cap;
} strvec;

static int sv_push(strvec *sv, const char *s) {
    if (sv->n == sv->cap) {
        int nc = sv->cap ? 2 * sv->cap : 16;
        char **nv = realloc(sv->v, (size_t)nc * sizeof(*nv));
        if (!nv) return -1;
        sv->v = nv;
        sv->cap = nc;
    }
    sv->v[sv->n] = strdup(s);
    return sv->v[sv->n] ? (sv->n++, 0) : -1;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int media_ext(const char *name) {
    static const char *ext[] = {".jpg", ".jpeg", ".png", ".heic", ".heif", ".avif", ".webp", ".bmp",
                                ".tif", ".tiff", ".gif", ".avi", ".mp4", ".mkv", ".webm", ".mov",
                                ".m4v", NULL};
    const char *dot = strrchr(name, '.');
    if (!dot) return 0;
    for (int i = 0; ext[i]; i++)
        if (strcasecmp(dot, ext[i]) == 0) return 1;
    return 0;
}

/* Directories: files with a picture or video extension, recursively, sorted. */
static int walk_dir(const char *dir, strvec *out, int depth) {
    if (depth > 32) return 0;
    DIR *d = opendir(dir);
    if (!d) return -1;
    strvec names = {0};
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') sv_push(&names, e->d_name);
    closedir(d);
    if (names.n) qsort(names.v, (size_t)names.n, sizeof(char *), cmp_str);
    for (int i = 0; i < names.n; i++) {
        size_t n = strlen(dir) + strlen(names.v[i]) + 2;
        char *p = malloc(n);
        if (p) {
            snprintf(p, n, "%s/%s", dir, names.v[i]);
            struct stat sb;
            if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) walk_dir(p, out, depth + 1);
            else if (media_ext(names.v[i])) sv_push(out, p);
            free(p);
        }
        free(names.v[i]);
    }
    free(names.v);
    return 0;
}

static void usage(FILE *o) {
    fputs("usage: smile-score [options] INPUT...\n"
          "Scores every face in videos (MJPEG AVI, MP4, MKV, WebM, MOV) and photos (JPEG, PNG,\n"
          "HEIC/HEIF, AVIF, and through FFmpeg WebP, BMP, TIFF, GIF; an animated GIF is a\n"
          "video); folders are searched recursively in sorted order. A photo is turned upright\n"
          "by its orientation (Exif, or a HEIF's own), a video by its display matrix (phones\n"
          "film sideways), so boxes are in the picture as shown; a photo with no face is\n"
          "searched again with a border (for a face that fills it) and then turned 25 degrees\n"
          "each way (for a tilted head).\n"
          "  --csv FILE|-       per-frame rows as CSV (default: - when no other output is asked)\n"
          "  --json FILE|-      the same rows as JSON Lines\n"
          "  --summary          per input: frames, face frames, mean score, time smiling, events\n"
          "  --threshold P      smiling threshold for the summary and events (0.5)\n"
          "  --min-face PX      smallest face side searched, in input pixels (30)\n"
          "  --threads N        worker threads (default: all cores)\n"
          "  --model FILE       model (default: $SMILE_MODEL, the installed one, the source tree's)\n"
          "  --annotate OUT     MJPEG AVI with boxes and scores (a folder when several inputs)\n"
          "  --plot OUT.png     timeline of scores per track with events shaded\n"
          "Exit status: 0 all inputs read, 1 some input unreadable or damaged, 2 usage error\n"
          "or no usable model, 130 interrupted.\n",
          o);
}

static int parse_num(const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) return -1;
    *out = v;
    return 0;
}

static nn_net *load_model(const char *opt_model, char *used, size_t usedlen) {
    const char *cands[4];
    int n = 0;
    if (opt_model) cands[n++] = opt_model;
    else {
        const char *env = getenv("SMILE_MODEL");
        if (env && env[0]) cands[n++] = env;
        else {
            if (access(SMILE_INSTALLED_MODEL, R_OK) == 0) cands[n++] = SMILE_INSTALLED_MODEL;
            cands[n++] = SMILE_SOURCE_MODEL;
        }
    }
    nn_error err;
    for (int i = 0; i < n; i++) {
        nn_net *net = NULL;
        if (nn_net_load(cands[i], &net, &err) == NN_OK) {
            snprintf(used, usedlen, "%s", cands[i]);
            return net;
        }
        fprintf(stderr, "smile-score: cannot load the model: %s\n", err.msg);
    }
    return NULL;
}

int main(int argc, char **argv) {
    const char *segenv = getenv("SMILE_SCORE_SEGMENT_FRAMES");
    if (segenv && atoi(segenv) > WARM_FRAMES) SEG_FRAMES = atoi(segenv);
    sc_opts o = {0};
    o.threshold = 0.5f;
    o.min_face = 30;
    long nproc = sysconf(_SC_NPROCESSORS_ONLN);
    o.threads = nproc > 0 ? (int)nproc : 1;
    enum { O_CSV = 1, O_JSON, O_SUMMARY, O_THRESH, O_MINFACE, O_THREADS, O_MODEL, O_ANN, O_PLOT,
           O_HELP };
    static const struct option lo[] = {
        {"csv", required_argument, 0, O_CSV},         {"json", required_argument, 0, O_JSON},
        {"summary", no_argument, 0, O_SUMMARY},       {"threshold", required_argument, 0, O_THRESH},
        {"min-face", required_argument, 0, O_MINFACE}, {"threads", required_argument, 0, O_THREADS},
        {"model", required_argument, 0, O_MODEL},     {"annotate", required_argument, 0, O_ANN},
        {"plot", required_argument, 0, O_PLOT},       {"help", no_argument, 0, O_HELP},
        {0, 0, 0, 0}};
    int ch;
    double v;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (ch) {
        case O_CSV: o.csv = optarg; break;
        case O_JSON: o.json = optarg; break;
        case O_SUMMARY: o.summary = 1; break;
        case O_THRESH:
            if (parse_num(optarg, 0, 1, &v)) {
                fprintf(stderr, "smile-score: --threshold wants a number in [0, 1], not '%s'\n",
                        optarg);
                return EXIT_USAGE;
            }
            o.threshold = (float)v;
            break;
        case O_MINFACE:
            if (parse_num(optarg, 8, 100000, &v) || v != floor(v)) {
                fprintf(stderr, "smile-score: --min-face wants whole pixels >= 8, not '%s'\n",
                        optarg);
                return EXIT_USAGE;
            }
            o.min_face = (int)v;
            break;
        case O_THREADS:
            if (parse_num(optarg, 1, 1024, &v) || v != floor(v)) {
                fprintf(stderr, "smile-score: --threads wants a count >= 1, not '%s'\n", optarg);
                return EXIT_USAGE;
            }
            o.threads = (int)v;
            break;
        case O_MODEL: o.model = optarg; break;
        case O_ANN: o.annotate = optarg; break;
        case O_PLOT: o.plot = optarg; break;
        case 'h':
        case O_HELP: usage(stdout); return EXIT_OK;
        default:
            if (optopt && optopt < O_CSV)
                fprintf(stderr, "smile-score: unknown option '-%c'\n", optopt);
            else
                fprintf(stderr, "smile-score: bad option '%s' (unknown, or missing its value)\n",
                        argv[optind - 1]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "smile-score: no input given\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    if (o.csv && o.json && strcmp(o.csv, "-") == 0 && strcmp(o.json, "-") == 0) {
        fprintf(stderr, "smile-score: --csv and --json cannot both go to stdout\n");
        return EXIT_USAGE;
    }
    if (!o.csv && !o.json && !o.summary && !o.plot && !o.annotate) o.csv = "-";

    /* Inputs: named files as given, folders expanded. */
    strvec paths = {0};
    int status = EXIT_OK;
    for (int i = optind; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode)) {
            int before = paths.n;
            if (walk_dir(argv[i], &paths, 0) != 0) {
                fprintf(stderr, "smile-score: %s: cannot read the folder: %s\n", argv[i],
                        strerror(errno));
                status = EXIT_DAMAGED;
            } else if (paths.n == before) {
                fprintf(stderr, "smile-score: %s: no pictures or videos in this folder\n", argv[i]);
            }
        } else {
            sv_push(&paths, argv[i]); /* unreadable ones are reported when opened */
        }
    }

    char model_path[4096];
    nn_net *net = load_model(o.model, model_path, sizeof(model_path));
    if (!net) {
        /* with --model the reason above is the whole story */
        if (!o.model)
            fprintf(stderr, "smile-score: no usable model: pass --model FILE or set SMILE_MODEL\n");
        for (int i = 0; i < paths.n; i++) free(paths.v[i]);
        free(paths.v);
        return EXIT_USAGE;
    }

    sc_ctx c;
    memset(&c, 0, sizeof(c));
    pthread_mutex_init(&c.mu, NULL);
    pthread_mutex_init(&c.err_mu, NULL);
    pthread_cond_init(&c.cv, NULL);
    c.opt = &o;
    c.net = net;
    face_config_defaults(&c.fcfg);
    c.fcfg.min_face = o.min_face;
    c.n_inputs = paths.n;
    c.inputs = calloc((size_t)(paths.n ? paths.n : 1), sizeof(*c.inputs));
    c.max_live_segs = o.threads + 2;
    c.progress_tty = isatty(2);
    for (int i = 0; i < paths.n; i++) {
        c.inputs[i].path = paths.v[i];
        c.inputs[i].frames_hint = -1;
    }

    sc_writer wr;
    memset(&wr, 0, sizeof(wr));
    wr.plots = calloc((size_t)(paths.n ? paths.n : 1), sizeof(*wr.plots));
    char err[1024];
    int fatal = 0;
    if (o.csv) {
        if (so_open(&wr.csv, o.csv, err, sizeof(err)) != 0) {
            fprintf(stderr, "smile-score: --csv: %s\n", err);
            fatal = 1;
        } else {
            wr.have_csv = 1;
            so_csv_header(wr.csv.fp);
        }
    }
    if (o.json && !fatal) {
        if (so_open(&wr.json, o.json, err, sizeof(err)) != 0) {
            fprintf(stderr, "smile-score: --json: %s\n", err);
            fatal = 1;
        } else {
            wr.have_json = 1;
        }
    }
    int stdout_taken = (o.csv && strcmp(o.csv, "-") == 0) || (o.json && strcmp(o.json, "-") == 0);
    if (o.summary) wr.summary = stdout_taken ? stderr : stdout;
    if (o.annotate && paths.n > 1) {
        wr.annotate_dir = 1;
        if (mkdir(o.annotate, 0777) != 0 && errno != EEXIST) {
            fprintf(stderr, "smile-score: --annotate %s: cannot create the folder: %s\n",
                    o.annotate, strerror(errno));
            fatal = 1;
        }
    }

    /* Workers: each its own face pipeline (they share the read-only net). */
    int nw = o.threads;
    sc_worker *workers = calloc((size_t)nw, sizeof(*workers));
    pthread_t *tids = calloc((size_t)nw, sizeof(*tids));
    int started = 0;
    for (int i = 0; i < nw && !fatal && workers && tids; i++) {
        sc_worker *w = &workers[i];
        w->c = &c;
        char ferr[512];
        if (face_pipeline_new(&c.fcfg, net, &w->fp, ferr, sizeof(ferr)) != FACE_OK) {
            fprintf(stderr, "smile-score: %s\n", ferr);
            fatal = 1;
            break;
        }
        w->jpeg = img_jpeg_new();
        if (o.annotate) {
            w->ann = sc_annotator_new();
            w->cv = cap_convert_new();
        }
        if (!w->jpeg || (o.annotate && (!w->ann || !w->cv))) {
            fprintf(stderr, "smile-score: out of memory\n");
            fatal = 1;
            break;
        }
    }
    if (!workers || !tids || !c.inputs || !wr.plots) fatal = 1;

    int rc_exit = EXIT_OK;
    if (!fatal) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C kills at once */
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);

        wr.t0 = now_s();
        pthread_t reader;
        for (started = 0; started < nw; started++)
            if (pthread_create(&tids[started], NULL, worker_main, &workers[started]) != 0) break;
        if (started == 0 || pthread_create(&reader, NULL, reader_main, &c) != 0) {
            fprintf(stderr, "smile-score: cannot start threads\n");
            g_stop = 1;
            pthread_mutex_lock(&c.mu);
            c.reader_done = 1;
            pthread_cond_broadcast(&c.cv);
            pthread_mutex_unlock(&c.mu);
            fatal = 1;
        } else {
            writer_loop(&c, &wr);
            pthread_join(reader, NULL);
        }
        pthread_mutex_lock(&c.mu);
        pthread_cond_broadcast(&c.cv);
        pthread_mutex_unlock(&c.mu);
        for (int i = 0; i < started; i++) pthread_join(tids[i], NULL);
        /* Inputs the reader never reached (interrupted): nothing to do. */
        for (int i = 0; i < paths.n; i++)
            if (c.inputs[i].failed || c.inputs[i].damaged || c.inputs[i].sum.corrupt)
                rc_exit = EXIT_DAMAGED;
        if (g_stop && !fatal) {
            fprintf(stderr, "smile-score: interrupted: the outputs keep what was scored\n");
            rc_exit = EXIT_INTERRUPTED;
        }
        double el = now_s() - wr.t0;
        if (getenv("SMILE_SCORE_STATS")) { /* for score/bench_score.sh */
            struct rusage ru;
            getrusage(RUSAGE_SELF, &ru);
            double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
                         ru.ru_stime.tv_usec * 1e-6;
            /* The busiest thread bounds the wall time on idle cores: total CPU over
             * it is the speed-up the work split allows, whatever else runs. */
            double busiest = c.reader_cpu_s, main_cpu = thread_cpu_s();
            if (main_cpu > busiest) busiest = main_cpu;
            for (int i = 0; i < started; i++)
                if (workers[i].cpu_s > busiest) busiest = workers[i].cpu_s;
            fprintf(stderr,
                    "frames=%lld seconds=%.3f fps=%.2f cpu_s=%.3f cpu_fps=%.2f threads=%d "
                    "busiest_thread_cpu_s=%.3f split_speedup=%.2f\n",
                    (long long)wr.frames_done, el, el > 0 ? wr.frames_done / el : 0.0, cpu,
                    cpu > 0 ? wr.frames_done / cpu : 0.0, o.threads, busiest,
                    busiest > 0 ? cpu / busiest : 0.0);
        }
    }
    if (wr.have_csv && so_finish(&wr.csv, err, sizeof(err)) != 0) {
        fprintf(stderr, "smile-score: --csv: %s\n", err);
        fatal = 1;
    }
    if (wr.have_json && so_finish(&wr.json, err, sizeof(err)) != 0) {
        fprintf(stderr, "smile-score: --json: %s\n", err);
        fatal = 1;
    }
    if (o.plot && !fatal && wr.n_plots > 0 &&
        sp_write_png(o.plot, wr.plots, wr.n_plots, o.threshold, err, sizeof(err)) != 0) {
        fprintf(stderr, "smile-score: --plot: %s\n", err);
        fatal = 1;
    }
    for (int i = 0; i < wr.n_plots; i++) sp_free(wr.plots[i]);
    free(wr.plots);
    for (int i = 0; i < nw && workers; i++) {
        face_pipeline_free(workers[i].fp);
        img_jpeg_free(workers[i].jpeg);
        sc_annotator_free(workers[i].ann);
        cap_convert_free(workers[i].cv);
        free(workers[i].grey);
        free(workers[i].rgb);
    }
    free(workers);
    free(tids);
    /* segments left after a failed start */
    while (c.head) {
        sc_seg *s = c.head;
        c.head = s->next;
        seg_free(&c, s);
    }
    for (int i = 0; i < paths.n; i++) {
        free(c.inputs[i].events);
        if (c.inputs[i].annot) cap_avi_writer_abort(c.inputs[i].annot);
        free(paths.v[i]);
    }
    free(paths.v);
    free(c.inputs);
    nn_net_free(net);
    pthread_mutex_destroy(&c.mu);
    pthread_mutex_destroy(&c.err_mu);
    pthread_cond_destroy(&c.cv);
    if (o.plot || o.annotate) sp_shutdown();
    if (fatal) return rc_exit == EXIT_OK ? EXIT_USAGE : rc_exit;
    return status > rc_exit ? status : rc_exit;
}

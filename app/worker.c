/* worker.c - the capture/detect/score thread; see worker.h. */
#include "worker.h"

#include <cairo.h>
#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avi_writer.h"
#include "face_pipeline.h"
#include "image_io.h"
#include "nn.h"
#include "overlay.h"
#include "shutter.h"
#include "v4l2_camera.h"

#define POOL 3           /* one being filled, one in the slot, one on screen */
#define READ_TIMEOUT_MS 100

typedef enum { REQ_NONE, REQ_CAMERA, REQ_FILE } req_kind;

typedef struct {
    req_kind kind;
    char *device; /* camera path or name, or file path */
    uint32_t fourcc;
    int width, height;
} request;

struct app_worker {
    GThread *thread;
    app_worker_callbacks cb;
    app_worker_config cfg;
    char *model_path;

    GMutex lock; /* guards everything down to 'stats' */
    GCond wake;
    gboolean quit;
    request req;
    unsigned req_gen;
    app_worker_params params;
    unsigned params_gen;
    gboolean snapshot_req;
    gboolean recording;
    app_frame *pool[POOL];
    int n_free;
    app_frame *free_list[POOL];
    app_frame *slot;
    gboolean idle_pending;
    double shutter_progress;
    app_worker_stats stats;
    double process_ms_sum, decode_ms_sum, detect_ms_sum;
};

const char *app_worker_state_name(app_wk_state st)
{
    static const char *names[] = {"idle",         "opening", "live",       "no-device",
                                  "disconnected", "busy",    "permission", "unsupported",
                                  "error"};
    return (unsigned)st < G_N_ELEMENTS(names) ? names[st] : "?";
}

/* ---------------------------------------------------------------- events */

typedef struct {
    app_worker_callbacks cb; /* a copy: the worker may be gone when this runs */
    app_event ev;
} event_msg;

static gboolean event_idle(gpointer data)
{
    event_msg *m = data;
    m->cb.event(&m->ev, m->cb.user);
    return G_SOURCE_REMOVE;
}

static void event_free(gpointer data)
{
    event_msg *m = data;
    g_free(m->ev.text);
    g_free(m->ev.path);
    g_free(m->ev.name);
    g_free(m);
}

static void post(app_worker *w, const app_event *ev)
{
    event_msg *m = g_new0(event_msg, 1);
    m->cb = w->cb;
    m->ev = *ev;
    m->ev.text = g_strdup(ev->text);
    m->ev.path = g_strdup(ev->path);
    m->ev.name = g_strdup(ev->name);
    g_idle_add_full(G_PRIORITY_DEFAULT, event_idle, m, event_free);
}

static void post_state(app_worker *w, app_wk_state st, cap_status cs, const char *text,
                       const char *name)
{
    app_event ev = {.kind = EV_STATE, .state = st, .status = cs};
    ev.text = (char *)text;
    ev.name = (char *)name;
    if (w->cfg.verbose)
        fprintf(stderr, "smile-detector: state: %s%s%s\n", app_worker_state_name(st),
                text && *text ? ": " : "", text ? text : "");
    post(w, &ev);
}

/* ---------------------------------------------------------------- frames */

static gboolean frame_idle(gpointer data)
{
    app_worker *w = data;
    w->cb.frame_ready(w->cb.user);
    return G_SOURCE_REMOVE;
}

static app_frame *get_free(app_worker *w)
{
    g_mutex_lock(&w->lock);
    app_frame *f = w->n_free ? w->free_list[--w->n_free] : NULL;
    g_mutex_unlock(&w->lock);
    return f; /* never NULL: the pool holds one for each owner */
}

static void publish(app_worker *w, app_frame *f)
{
    gboolean need_idle = FALSE;
    g_mutex_lock(&w->lock);
    if (w->slot) { /* the UI is behind: the newer frame wins */
        w->free_list[w->n_free++] = w->slot;
        w->stats.replaced++;
    }
    w->slot = f;
    w->stats.published++;
    if (!w->idle_pending) {
        w->idle_pending = TRUE;
        need_idle = TRUE;
    }
    g_mutex_unlock(&w->lock);
    if (need_idle)
        g_idle_add_full(G_PRIORITY_HIGH_IDLE, frame_idle, w, NULL);
}

app_frame *app_worker_take_frame(app_worker *w)
{
    g_mutex_lock(&w->lock);
    app_frame *f = w->slot;
    w->slot = NULL;
    w->idle_pending = FALSE;
    g_mutex_unlock(&w->lock);
    return f;
}

void app_worker_release_frame(app_worker *w, app_frame *f)
{
    if (!f)
        return;
    g_mutex_lock(&w->lock);
    w->free_list[w->n_free++] = f;
    g_mutex_unlock(&w->lock);
}

/* ---------------------------------------------------------------- requests */

static void set_request(app_worker *w, req_kind kind, const char *device, uint32_t fourcc,
                        int width, int height)
{
    g_mutex_lock(&w->lock);
    g_free(w->req.device);
    w->req.kind = kind;
    w->req.device = g_strdup(device);
    w->req.fourcc = fourcc;
    w->req.width = width;
    w->req.height = height;
    w->req_gen++;
    g_cond_signal(&w->wake);
    g_mutex_unlock(&w->lock);
}

void app_worker_open_camera(app_worker *w, const char *device, uint32_t fourcc, int width,
                            int height)
{
    set_request(w, device ? REQ_CAMERA : REQ_NONE, device, fourcc, width, height);
}

void app_worker_open_file(app_worker *w, const char *path)
{
    set_request(w, REQ_FILE, path, 0, 0, 0);
}

void app_worker_close_source(app_worker *w)
{
    set_request(w, REQ_NONE, NULL, 0, 0, 0);
}

static void params_clear(app_worker_params *p)
{
    g_free(p->pictures_dir);
    g_free(p->videos_dir);
    memset(p, 0, sizeof *p);
}

static void params_copy(app_worker_params *dst, const app_worker_params *src)
{
    *dst = *src;
    dst->pictures_dir = g_strdup(src->pictures_dir);
    dst->videos_dir = g_strdup(src->videos_dir);
}

void app_worker_set_params(app_worker *w, const app_worker_params *p)
{
    g_mutex_lock(&w->lock);
    params_clear(&w->params);
    params_copy(&w->params, p);
    w->params_gen++;
    g_mutex_unlock(&w->lock);
}

void app_worker_snapshot(app_worker *w)
{
    g_mutex_lock(&w->lock);
    w->snapshot_req = TRUE;
    g_mutex_unlock(&w->lock);
}

void app_worker_set_recording(app_worker *w, gboolean on)
{
    g_mutex_lock(&w->lock);
    w->recording = on;
    g_mutex_unlock(&w->lock);
}

double app_worker_shutter_progress(app_worker *w)
{
    g_mutex_lock(&w->lock);
    double p = w->shutter_progress;
    g_mutex_unlock(&w->lock);
    return p;
}

void app_worker_get_stats(app_worker *w, app_worker_stats *out)
{
    g_mutex_lock(&w->lock);
    *out = w->stats;
    double n = w->stats.processed ? (double)w->stats.processed : 1;
    out->process_ms = w->process_ms_sum / n;
    out->decode_ms = w->decode_ms_sum / n;
    out->detect_ms = w->detect_ms_sum / n;
    g_mutex_unlock(&w->lock);
}

/* ---------------------------------------------------------------- the thread */

typedef struct {
    app_worker *w;
    nn_net *net;
    face_pipeline *fp;
    cap_convert *cv;
    cap_source *src;
    int is_camera;
    req_kind kind;
    char *device;
    unsigned gen;
    cap_backoff backoff;
    double retry_at;       /* monotonic s; next open attempt when src is NULL */
    app_wk_state state;
    uint8_t *rgb;          /* RGB24 of the current frame */
    size_t rgb_cap;
    uint8_t *grey;         /* reduced luma for the detector */
    size_t grey_cap;
    app_worker_params params;
    unsigned params_gen;
    app_shutter shutter;
    int64_t seq;
    /* file pacing */
    double file_t0_wall, file_t0_pts;
    /* recording */
    cap_avi_writer *rec;
    char *rec_path;
    uint64_t rec_frames;
} wctx;

static void set_state(wctx *c, app_wk_state st, cap_status cs, const char *text)
{
    const char *name = c->src ? cap_source_name(c->src) : c->device;
    if (st == c->state && st != WK_LIVE)
        return;
    c->state = st;
    post_state(c->w, st, cs, text, name);
}

static app_wk_state state_of(cap_status st)
{
    switch (st) {
    case CAP_NO_DEVICE: return WK_NO_DEVICE;
    case CAP_DISCONNECTED: return WK_DISCONNECTED;
    case CAP_BUSY: return WK_BUSY;
    case CAP_PERMISSION: return WK_PERMISSION;
    case CAP_UNSUPPORTED: return WK_UNSUPPORTED;
    default: return WK_ERROR;
    }
}

/* Sleeps until the monotonic time 'until_s' unless a request or quit comes. */
static void wait_until(app_worker *w, double until_s)
{
    gint64 end = g_get_monotonic_time() + (gint64)((until_s - cap_now_s()) * 1e6);
    g_mutex_lock(&w->lock);
    if (!w->quit)
        g_cond_wait_until(&w->wake, &w->lock, end);
    g_mutex_unlock(&w->lock);
}

static void stop_recording(wctx *c, const char *why)
{
    if (!c->rec)
        return;
    char err[256] = "";
    int ok = cap_avi_writer_close(c->rec, err, sizeof err) == CAP_OK;
    c->rec = NULL;
    app_event ev = {.kind = EV_RECORDING, .ok = ok && !why, .on = FALSE};
    ev.path = c->rec_path;
    ev.text = why ? (char *)why : ok ? NULL : err;
    if (c->w->cfg.verbose)
        fprintf(stderr, "smile-detector: recording stopped: %s (%llu frames)%s%s\n", c->rec_path,
                (unsigned long long)c->rec_frames, ev.text ? ": " : "", ev.text ? ev.text : "");
    post(c->w, &ev);
    g_free(c->rec_path);
    c->rec_path = NULL;
}

static void close_source(wctx *c)
{
    stop_recording(c, NULL);
    cap_source_free(c->src);
    c->src = NULL;
    if (c->fp)
        face_pipeline_reset(c->fp);
}

static cap_status open_source(wctx *c)
{
    char err[512] = "";
    cap_status st = CAP_OK;
    app_worker *w = c->w;
    g_mutex_lock(&w->lock);
    request r = w->req;
    r.device = g_strdup(w->req.device);
    g_mutex_unlock(&w->lock);
    if (r.kind == REQ_CAMERA) {
        cap_camera_config cc = {0};
        cc.device = r.device;
        cc.fourcc = r.fourcc;
        cc.width = r.width;
        cc.height = r.height;
        c->src = cap_camera_open(&cc, &st, err, sizeof err);
        c->is_camera = 1;
    } else {
        c->src = cap_file_open(r.device, &st, err, sizeof err);
        /* FFmpeg sources hand out grey unless asked: the view shows colour */
        if (c->src)
            cap_source_set_colour(c->src, 1);
        c->is_camera = 0;
    }
    g_free(r.device);
    if (!c->src) {
        set_state(c, state_of(st), st, err);
        return st;
    }
    c->file_t0_wall = -1;
    c->seq = 0;
    app_event ev = {.kind = EV_MODE, .fps = cap_source_fps(c->src)};
    cap_v4l2_mode m; /* ev points into it until post() copies */
    if (c->is_camera) {
        if (cap_camera_mode(c->src, &m) == CAP_OK) {
            ev.width = m.width;
            ev.height = m.height;
            ev.fourcc = m.fourcc;
            ev.text = m.description;
            ev.path = (char *)cap_camera_path(c->src);
            ev.fps = cap_v4l2_mode_fps(&m);
        }
    }
    ev.name = (char *)cap_source_name(c->src);
    post(w, &ev);
    return CAP_OK;
}

/* RGB24 -> cairo xRGB32, and a box-filtered luma plane reduced by 'red'. */
/* Mirroring here is free, and spares the UI a transformed (slow) blit. */
static void convert_frame(const uint8_t *rgb, int w, int h, uint32_t *out, int out_stride,
                          int mirror, uint8_t *grey, int red)
{
    int gw = w / red, gh = h / red;
    for (int y = 0; y < h; y++) {
        const uint8_t *s = rgb + (size_t)y * w * 3;
        uint32_t *d = (uint32_t *)((uint8_t *)out + (size_t)y * out_stride);
        if (mirror) {
            for (int x = 0; x < w; x++)
                d[w - 1 - x] = 0xff000000u | (uint32_t)s[3 * x] << 16 |
                               (uint32_t)s[3 * x + 1] << 8 | s[3 * x + 2];
        } else {
            for (int x = 0; x < w; x++)
                d[x] = 0xff000000u | (uint32_t)s[3 * x] << 16 | (uint32_t)s[3 * x + 1] << 8 |
                       s[3 * x + 2];
        }
    }
    /* luma (BT.601 integer weights), averaged over red x red blocks */
    int area = red * red;
    for (int gy = 0; gy < gh; gy++) {
        uint8_t *g = grey + (size_t)gy * gw;
        for (int gx = 0; gx < gw; gx++) {
            unsigned sum = 0;
            for (int dy = 0; dy < red; dy++) {
                const uint8_t *s = rgb + ((size_t)(gy * red + dy) * w + (size_t)gx * red) * 3;
                for (int dx = 0; dx < red; dx++, s += 3)
                    sum += (77u * s[0] + 150u * s[1] + 29u * s[2]) >> 8;
            }
            g[gx] = (uint8_t)(sum / area);
        }
    }
}

static char *unique_name(const char *dir, const char *stem, const char *ext)
{
    GDateTime *now = g_date_time_new_now_local();
    char *stamp = g_date_time_format(now, "%Y-%m-%d_%H-%M-%S");
    g_date_time_unref(now);
    char *path = NULL;
    for (int i = 1; i < 1000; i++) {
        char *base = i == 1 ? g_strdup_printf("%s_%s.%s", stem, stamp, ext)
                            : g_strdup_printf("%s_%s_%d.%s", stem, stamp, i, ext);
        path = g_build_filename(dir, base, NULL);
        g_free(base);
        if (!g_file_test(path, G_FILE_TEST_EXISTS))
            break;
        g_free(path);
        path = NULL;
    }
    g_free(stamp);
    return path;
}

static void take_snapshot(wctx *c, const app_frame *f)
{
    app_event ev = {.kind = EV_SNAPSHOT};
    char err[512] = "";
    const char *dir = c->params.pictures_dir ? c->params.pictures_dir : g_get_home_dir();
    char *path = NULL;
    uint8_t *rgb = c->rgb;
    uint8_t *drawn = NULL;
    if (g_mkdir_with_parents(dir, 0755) != 0) {
        snprintf(err, sizeof err, "%s: %s", dir, g_strerror(errno));
        goto done;
    }
    path = unique_name(dir, "smile", "jpg");
    if (!path) {
        snprintf(err, sizeof err, "%s: too many snapshots this second", dir);
        goto done;
    }
    if (c->params.overlay_in_snapshot && f->n_faces > 0) {
        /* draw the boxes and scores onto a copy, unmirrored */
        cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, f->width, f->height);
        cairo_t *cr = cairo_create(s);
        overlay_hud hud;
        overlay_hud_defaults(&hud);
        hud.mirror = 0;
        hud.show_hud = 0;
        overlay_draw(cr, f->width, f->height, f, &hud);
        cairo_destroy(cr);
        cairo_surface_flush(s);
        const uint8_t *px = cairo_image_surface_get_data(s);
        int stride = cairo_image_surface_get_stride(s);
        drawn = malloc((size_t)f->width * f->height * 3);
        if (drawn) {
            for (int y = 0; y < f->height; y++) {
                const uint32_t *srow = (const uint32_t *)(px + (size_t)y * stride);
                uint8_t *d = drawn + (size_t)y * f->width * 3;
                for (int x = 0; x < f->width; x++) {
                    d[3 * x] = (uint8_t)(srow[x] >> 16);
                    d[3 * x + 1] = (uint8_t)(srow[x] >> 8);
                    d[3 * x + 2] = (uint8_t)srow[x];
                }
            }
            rgb = drawn;
        }
        cairo_surface_destroy(s);
    }
    if (img_save(path, rgb, f->width, f->height, f->width * 3, 3, err, sizeof err) == IMG_OK) {
        ev.ok = TRUE;
        err[0] = 0;
    }
done:
    ev.path = path;
    ev.text = err[0] ? err : NULL;
    if (c->w->cfg.verbose)
        fprintf(stderr, "smile-detector: snapshot: %s%s%s\n", ev.ok ? "saved " : "failed ",
                path ? path : "", ev.ok ? "" : err);
    post(c->w, &ev);
    free(drawn);
    g_free(path);
}

static void record_frame(wctx *c, const cap_frame *fr, const app_frame *f)
{
    char err[512] = "";
    if (!c->rec) {
        const char *dir = c->params.videos_dir ? c->params.videos_dir : g_get_home_dir();
        double fps = cap_source_fps(c->src);
        if (fps <= 0)
            fps = 30;
        if (g_mkdir_with_parents(dir, 0755) != 0) {
            snprintf(err, sizeof err, "%s: %s", dir, g_strerror(errno));
        } else {
            c->rec_path = unique_name(dir, "smile", "avi");
            cap_status st;
            if (c->rec_path)
                c->rec = cap_avi_writer_new(c->rec_path, f->width, f->height, fps, &st, err,
                                            sizeof err);
        }
        app_event ev = {.kind = EV_RECORDING, .ok = c->rec != NULL, .on = c->rec != NULL};
        ev.path = c->rec_path;
        ev.text = c->rec ? NULL : err;
        if (c->w->cfg.verbose)
            fprintf(stderr, "smile-detector: recording %s %s%s\n",
                    c->rec ? "started" : "failed", c->rec_path ? c->rec_path : "",
                    c->rec ? "" : err);
        post(c->w, &ev);
        c->rec_frames = 0;
        if (!c->rec) {
            g_free(c->rec_path);
            c->rec_path = NULL;
            g_mutex_lock(&c->w->lock);
            c->w->recording = FALSE;
            g_mutex_unlock(&c->w->lock);
            return;
        }
    }
    int rc;
    if (fr->format == CAP_FMT_MJPEG) { /* the camera's own JPEG, untouched */
        rc = cap_avi_writer_add(c->rec, fr->data, fr->size) == CAP_OK ? 0 : -1;
    } else {
        uint8_t *jpeg = NULL;
        size_t n = 0;
        if (img_jpeg_encode(c->rgb, f->width, f->height, f->width * 3, 3, 85, &jpeg, &n) !=
            IMG_OK) {
            snprintf(err, sizeof err, "could not encode frame %lld as JPEG",
                     (long long)fr->index);
            rc = -1;
        } else {
            rc = cap_avi_writer_add(c->rec, jpeg, n) == CAP_OK ? 0 : -1;
        }
        free(jpeg);
    }
    if (rc != 0) {
        if (!err[0])
            snprintf(err, sizeof err, "%s", cap_avi_writer_error(c->rec));
        stop_recording(c, err);
        g_mutex_lock(&c->w->lock);
        c->w->recording = FALSE;
        g_mutex_unlock(&c->w->lock);
    } else {
        c->rec_frames++;
    }
}

static void process_frame(wctx *c, const cap_frame *fr, int64_t arrival_us)
{
    app_worker *w = c->w;
    int width = fr->width, height = fr->height;
    size_t need = (size_t)width * height * 3;
    if (need > c->rgb_cap) {
        uint8_t *p = realloc(c->rgb, need);
        if (!p)
            return;
        c->rgb = p;
        c->rgb_cap = need;
    }
    if (cap_convert_rgb(c->cv, fr, c->rgb, width * 3) != CAP_OK) {
        g_mutex_lock(&w->lock);
        w->stats.corrupt++;
        g_mutex_unlock(&w->lock);
        return;
    }
    /* detect on a reduced image: faces worth scoring are large, and the
     * detector's cost falls with the square of the reduction */
    int red = width >= 1600 ? 4 : width >= 600 ? 2 : 1;
    int gw = width / red, gh = height / red;
    if ((size_t)gw * gh > c->grey_cap) {
        uint8_t *p = realloc(c->grey, (size_t)gw * gh);
        if (!p)
            return;
        c->grey = p;
        c->grey_cap = (size_t)gw * gh;
    }
    g_mutex_lock(&w->lock);
    if (w->params_gen != c->params_gen) {
        params_clear(&c->params);
        params_copy(&c->params, &w->params);
        c->params_gen = w->params_gen;
        c->shutter.threshold = c->params.threshold;
        c->shutter.hold_s = c->params.hold_s;
    }
    gboolean snap = w->snapshot_req;
    w->snapshot_req = FALSE;
    gboolean recording = w->recording;
    g_mutex_unlock(&w->lock);
    app_frame *f = get_free(w);
    if (!f || app_frame_reserve(f, width, height) != 0) {
        app_worker_release_frame(w, f);
        return;
    }
    f->mirrored = c->params.mirror;
    convert_frame(c->rgb, width, height, f->pixels, f->stride, f->mirrored, c->grey, red);
    int64_t t_decoded = g_get_monotonic_time();
    f->n_faces = 0;
    if (c->fp) {
        int n = face_pipeline_process(c->fp, c->grey, gw, gh, gw, fr->timestamp_s, f->faces,
                                      APP_MAX_FACES);
        f->n_faces = n > 0 ? n : 0;
        for (int i = 0; i < f->n_faces; i++) {
            f->faces[i].x *= red;
            f->faces[i].y *= red;
            f->faces[i].w *= red;
            f->faces[i].h *= red;
        }
    }
    int64_t t_detected = g_get_monotonic_time();
    f->main_face = app_frame_pick_main(f->faces, f->n_faces);
    f->has_scores = c->net != NULL;
    f->arrival_us = arrival_us;
    f->seq = ++c->seq;
    f->t_s = fr->timestamp_s;


    double progress = 0;
    if (c->params.shutter && f->has_scores) {
        float sc = f->main_face >= 0 && f->faces[f->main_face].missed == 0
                       ? f->faces[f->main_face].smoothed
                       : -1;
        if (app_shutter_update(&c->shutter, (double)arrival_us / 1e6, sc, &progress))
            snap = TRUE;
    }
    if (snap)
        take_snapshot(c, f);
    if (recording)
        record_frame(c, fr, f);
    else if (c->rec)
        stop_recording(c, NULL);

    double ms = (double)(g_get_monotonic_time() - arrival_us) / 1000.0;
    g_mutex_lock(&w->lock);
    w->shutter_progress = progress;
    w->stats.processed++;
    w->process_ms_sum += ms;
    w->decode_ms_sum += (double)(t_decoded - arrival_us) / 1000.0;
    w->detect_ms_sum += (double)(t_detected - t_decoded) / 1000.0;
    g_mutex_unlock(&w->lock);
    publish(w, f);
}

static void load_model(wctx *c)
{
    app_worker *w = c->w;
    app_event ev = {.kind = EV_MODEL};
    nn_error err = {{0}};
    if (!w->model_path) {
        ev.text = "no model file given";
    } else if (nn_net_load(w->model_path, &c->net, &err) == NN_OK) {
        ev.ok = TRUE;
        ev.path = w->model_path;
    } else {
        c->net = NULL;
        ev.path = w->model_path;
        ev.text = err.msg;
    }
    if (w->cfg.verbose)
        fprintf(stderr, "smile-detector: model: %s%s\n", ev.ok ? "loaded " : "none: ",
                ev.ok ? ev.path : ev.text);
    post(w, &ev);

    face_config fc;
    face_config_defaults(&fc);
    /* Boxes follow every frame; a face's score is redone at most 20 times a
     * second (every other frame at 30 fps). The meter is smoothed over 0.3 s,
     * so this halves the CNN's share of the CPU without a visible lag. */
    fc.score_interval_s = 0.05f;
    char ferr[512] = "";
    if (face_pipeline_new(&fc, c->net, &c->fp, ferr, sizeof ferr) != FACE_OK) {
        c->fp = NULL;
        app_event dv = {.kind = EV_DETECTOR};
        dv.text = ferr;
        if (w->cfg.verbose)
            fprintf(stderr, "smile-detector: detector: %s\n", ferr);
        post(w, &dv);
    }
}

static gpointer worker_main(gpointer data)
{
    wctx c = {0};
    c.w = data;
    app_worker *w = c.w;
    c.state = WK_IDLE;
    c.cv = cap_convert_new();
    app_shutter_init(&c.shutter, 0.8, 0.7);
    cap_backoff_reset(&c.backoff);
    load_model(&c);

    for (;;) {
        g_mutex_lock(&w->lock);
        gboolean quit = w->quit;
        unsigned gen = w->req_gen;
        req_kind kind = w->req.kind;
        if (gen != c.gen) {
            g_free(c.device);
            c.device = g_strdup(w->req.device);
        }
        g_mutex_unlock(&w->lock);
        if (quit)
            break;
        if (gen != c.gen) { /* a new source was chosen */
            close_source(&c);
            c.gen = gen;
            c.kind = kind;
            c.retry_at = 0;
            cap_backoff_reset(&c.backoff);
            c.state = (app_wk_state)-1;
            if (kind == REQ_NONE)
                set_state(&c, WK_IDLE, CAP_OK, NULL);
            else
                set_state(&c, WK_OPENING, CAP_OK, NULL);
        }
        if (c.kind == REQ_NONE) {
            g_mutex_lock(&w->lock);
            if (!w->quit && w->req_gen == c.gen)
                g_cond_wait_until(&w->wake, &w->lock, g_get_monotonic_time() + G_TIME_SPAN_SECOND);
            g_mutex_unlock(&w->lock);
            continue;
        }
        if (!c.src) {
            if (cap_now_s() < c.retry_at) {
                wait_until(w, c.retry_at);
                continue;
            }
            cap_status st = open_source(&c);
            if (st == CAP_OK) {
                cap_backoff_reset(&c.backoff);
            } else if (c.kind == REQ_FILE) {
                c.kind = REQ_NONE; /* a file will not fix itself */
            } else {
                c.retry_at = cap_now_s() + cap_backoff_next_delay(&c.backoff);
            }
            continue;
        }
        if (c.state == WK_DISCONNECTED && c.is_camera) {
            /* wait out the backoff inside, but stay responsive to requests */
            cap_status st = cap_camera_reconnect(c.src, &c.backoff, 200);
            if (st != CAP_OK)
                continue;
        }
        cap_frame fr;
        cap_status st = cap_source_read(c.src, &fr, READ_TIMEOUT_MS);
        int64_t arrival = g_get_monotonic_time();
        /* a camera's V4L2 time stamp is the same monotonic clock: count the
         * time the frame waited in the driver's queue as latency too */
        if (st == CAP_OK && c.is_camera) {
            int64_t ts = (int64_t)(fr.timestamp_s * 1e6);
            if (ts > arrival - G_USEC_PER_SEC && ts <= arrival)
                arrival = ts;
        }
        if (st == CAP_OK) {
            if (c.state != WK_LIVE)
                set_state(&c, WK_LIVE, CAP_OK, NULL);
            if (!c.is_camera) { /* play files at their own pace */
                double now = cap_now_s();
                if (c.file_t0_wall < 0 || fr.timestamp_s < c.file_t0_pts) {
                    c.file_t0_wall = now;
                    c.file_t0_pts = fr.timestamp_s;
                } else {
                    double due = c.file_t0_wall + (fr.timestamp_s - c.file_t0_pts);
                    if (due > now + 0.001)
                        wait_until(w, due);
                    arrival = g_get_monotonic_time();
                }
            }
            process_frame(&c, &fr, arrival);
        } else if (st == CAP_AGAIN) {
            continue;
        } else if (st == CAP_CORRUPT) {
            g_mutex_lock(&w->lock);
            w->stats.corrupt++;
            g_mutex_unlock(&w->lock);
        } else if (st == CAP_EOF) {
            /* a video file plays in a loop */
            close_source(&c);
        } else if (c.is_camera && (st == CAP_DISCONNECTED || st == CAP_NO_DEVICE || st == CAP_IO)) {
            stop_recording(&c, N_("the camera was disconnected"));
            set_state(&c, WK_DISCONNECTED, st, cap_source_error(c.src));
            cap_backoff_reset(&c.backoff);
        } else {
            set_state(&c, state_of(st), st, cap_source_error(c.src));
            close_source(&c);
            if (c.kind == REQ_FILE)
                c.kind = REQ_NONE;
            else
                c.retry_at = cap_now_s() + cap_backoff_next_delay(&c.backoff);
        }
        if (c.src) {
            cap_stats cs;
            cap_source_stats(c.src, &cs);
            g_mutex_lock(&w->lock);
            w->stats.skipped = cs.skipped_stale;
            g_mutex_unlock(&w->lock);
        }
    }
    close_source(&c);
    face_pipeline_free(c.fp);
    nn_net_free(c.net);
    cap_convert_free(c.cv);
    free(c.rgb);
    free(c.grey);
    g_free(c.device);
    params_clear(&c.params);
    return NULL;
}

app_worker *app_worker_new(const app_worker_config *cfg, const app_worker_callbacks *cb)
{
    app_worker *w = g_new0(app_worker, 1);
    w->cb = *cb;
    w->cfg = *cfg;
    w->model_path = g_strdup(cfg->model_path);
    w->cfg.model_path = w->model_path;
    g_mutex_init(&w->lock);
    g_cond_init(&w->wake);
    for (int i = 0; i < POOL; i++) {
        w->pool[i] = g_new0(app_frame, 1);
        w->free_list[w->n_free++] = w->pool[i];
    }
    w->params.threshold = 0.8;
    w->params.hold_s = 0.7;
    w->thread = g_thread_new("smile-worker", worker_main, w);
    return w;
}

void app_worker_free(app_worker *w)
{
    if (!w)
        return;
    g_mutex_lock(&w->lock);
    w->quit = TRUE;
    g_cond_signal(&w->wake);
    g_mutex_unlock(&w->lock);
    g_thread_join(w->thread);
    /* a frame idle may still be queued: it must find nothing */
    g_idle_remove_by_data(w);
    for (int i = 0; i < POOL; i++) {
        app_frame_clear(w->pool[i]);
        g_free(w->pool[i]);
    }
    g_free(w->req.device);
    params_clear(&w->params);
    g_free(w->model_path);
    g_mutex_clear(&w->lock);
    g_cond_clear(&w->wake);
    g_free(w);
}

/* worker.h - the app's one worker thread: capture, decode, detection,
 * scoring, the smile shutter, snapshots and recording.
 *
 * The worker never calls GTK. It hands frames to the UI through a
 * latest-frame-wins slot (an older frame waiting there is replaced, never
 * queued) and one g_idle_add per frame; events (state changes, saved files)
 * each get their own idle callback so none is lost. Requests from the UI
 * (switch camera, take a snapshot, ...) only set fields under a mutex and
 * signal a condition, so the UI thread never waits for I/O. */
#ifndef APP_WORKER_H
#define APP_WORKER_H

#include <glib.h>
#include <stdint.h>

#include "app_frame.h"
#include "frame_source.h"

typedef enum {
    WK_IDLE,          /* nothing to show (no camera chosen) */
    WK_OPENING,
    WK_LIVE,
    WK_NO_DEVICE,     /* the chosen camera is not there */
    WK_DISCONNECTED,  /* it went away; reconnecting with backoff */
    WK_BUSY,          /* another program has it; retrying */
    WK_PERMISSION,    /* EACCES; retrying */
    WK_UNSUPPORTED,   /* no format we can use, or an unreadable file */
    WK_ERROR,         /* any other failure; retrying */
} app_wk_state;

typedef enum {
    EV_STATE,          /* state, status, text = the source's message, name = source name */
    EV_MODEL,          /* ok: scores on; text = model path or the reason it failed */
    EV_DETECTOR,       /* face detection unavailable; text = why */
    EV_SNAPSHOT,       /* ok, path or text (why it failed) */
    EV_RECORDING,      /* ok = started/stopped cleanly, on = now recording, path, text */
    EV_MODE,           /* the negotiated mode: width, height, text = format name, fps */
} app_event_kind;

typedef struct {
    app_event_kind kind;
    app_wk_state state;
    cap_status status;
    gboolean ok, on;
    char *text;
    char *path;
    char *name;
    int width, height;
    uint32_t fourcc;   /* EV_MODE: the camera's V4L2 pixel format */
    double fps;
} app_event;

typedef struct {
    void (*frame_ready)(void *user);                 /* UI thread: take the frame */
    void (*event)(const app_event *ev, void *user);  /* UI thread */
    void *user;
} app_worker_callbacks;

typedef struct {
    const char *model_path;   /* NULL: no model */
    int verbose;              /* state changes and counters on stderr */
} app_worker_config;

typedef struct app_worker app_worker;

/* Starts the thread; it loads the model first, so the window appears at once. */
app_worker *app_worker_new(const app_worker_config *cfg, const app_worker_callbacks *cb);
/* Asks the thread to stop and joins it: bounded by one read timeout (0.1 s)
 * plus the frame in flight. Frees everything. */
void app_worker_free(app_worker *w);

/* What to show. device: a path or card name (NULL: stop showing). fourcc 0
 * and 0x0 mean the camera's defaults. */
void app_worker_open_camera(app_worker *w, const char *device, uint32_t fourcc, int width,
                            int height);
void app_worker_open_file(app_worker *w, const char *path);
void app_worker_close_source(app_worker *w);

typedef struct {
    gboolean mirror;    /* frames come out flipped for a selfie view */
    gboolean shutter;
    double threshold, hold_s;
    gboolean overlay_in_snapshot;
    char *pictures_dir; /* snapshots; copied */
    char *videos_dir;   /* recordings; copied */
} app_worker_params;
void app_worker_set_params(app_worker *w, const app_worker_params *p);

void app_worker_snapshot(app_worker *w);
void app_worker_set_recording(app_worker *w, gboolean on);

/* UI thread: the newest frame (NULL if none came since the last call). The
 * frame stays valid until it is given back with app_worker_release_frame. */
app_frame *app_worker_take_frame(app_worker *w);
void app_worker_release_frame(app_worker *w, app_frame *f);

/* Progress of the smile shutter's hold, 0..1 (read by the UI for the ring). */
double app_worker_shutter_progress(app_worker *w);

typedef struct {
    uint64_t processed;  /* frames that went through the pipeline */
    uint64_t published;  /* handed to the UI slot */
    uint64_t replaced;   /* overwritten in the slot before the UI took them */
    uint64_t corrupt;    /* damaged frames dropped */
    uint64_t skipped;    /* stale frames the camera queue skipped */
    double process_ms;   /* mean time from arrival to publish */
    double decode_ms;    /* of which: JPEG/YUYV to RGB and the view's pixels */
    double detect_ms;    /* of which: detection, tracking and scoring */
} app_worker_stats;
void app_worker_get_stats(app_worker *w, app_worker_stats *out);

const char *app_worker_state_name(app_wk_state st);

#endif

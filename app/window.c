/* window.c - the main window: header bar, live view, empty state, info
 * bars and toasts; camera list and hotplug; the worker's events in words. */
#include <glib/gi18n.h>
#include <linux/videodev2.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "v4l2_camera.h"

#define MAX_DEVICES 32
#define HIST_SPAN_S 30.0

struct app_ui {
    GtkApplication *app;
    GtkWidget *window, *header;
    GtkWidget *camera_combo, *mode_button, *snap_button, *record_button;
    GtkWidget *stack, *area;
    GtkWidget *empty_icon, *empty_title, *empty_hint;
    GtkWidget *device_bar, *device_label;
    GtkWidget *model_bar, *model_label;
    GtkWidget *toast, *toast_label, *toast_open;
    GtkWidget *prefs;
    guint toast_timer;
    char *toast_uri;

    app_options opt;
    app_settings settings;
    char *settings_path;
    app_worker *worker;
    app_frame *shown;
    gboolean have_scores;

    /* hud */
    double hist_t[OVERLAY_HISTORY_MAX];
    float hist_v[OVERLAY_HISTORY_MAX];
    int n_hist;
    double fps, latency_ms;
    int64_t fps_t0;
    int fps_count;
    uint64_t drawn, taken;
    int64_t drawn_seq;
    float lat_ms[4096]; /* per-frame latency samples for the exit summary */
    int n_lat;

    /* sources */
    char *dev_dir;
    cap_v4l2_device devices[MAX_DEVICES];
    int n_devices;
    uint64_t dir_stamp;
    gboolean listing, relist, devices_known;
    guint poll_timer;
    char *cur_path;   /* the camera node being shown */
    char *file_path;  /* or the file */
    app_wk_state state;
    gboolean updating;
    GSimpleAction *mode_action;
    GMenu *mode_menu;
    gboolean recording;
    gboolean was_lost; /* the camera went away; log the first frame after it */
    guint save_timer;
    gboolean saving, save_again;
    guint64 save_gen;

    /* test aids */
    int64_t start_us, first_frame_us;
    gboolean snapshot_sent, record_started, record_stopped, screenshot_done;
    guint quit_timer;
};

static void ui_log(app_ui *ui, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void ui_log(app_ui *ui, const char *fmt, ...)
{
    if (!ui->opt.verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *s = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "smile-detector: %s\n", s);
    g_free(s);
}

/* ------------------------------------------------------------ settings */

typedef struct {
    char *path, *data;
    gsize len;
    guint64 gen;
} save_job;

/* Writes in generation order: an older snapshot never lands over a newer one
 * (the final save at quit may overtake one still in flight). */
static GMutex save_lock;
static guint64 saved_gen;

static void write_settings(const char *path, const char *data, gsize len, guint64 gen)
{
    GError *err = NULL;
    g_mutex_lock(&save_lock);
    if (gen > saved_gen) {
        saved_gen = gen;
        if (!app_settings_write_data(path, data, len, &err)) {
            g_warning("could not save the settings: %s", err->message);
            g_error_free(err);
        }
    }
    g_mutex_unlock(&save_lock);
}

static void save_thread(GTask *t, gpointer src, gpointer data, GCancellable *c)
{
    save_job *job = data;
    (void)src;
    (void)c;
    write_settings(job->path, job->data, job->len, job->gen);
    g_task_return_boolean(t, TRUE);
}

static void save_job_free(gpointer data)
{
    save_job *job = data;
    g_free(job->path);
    g_free(job->data);
    g_free(job);
}

static gboolean save_now(gpointer data);

static void save_done(GObject *src, GAsyncResult *res, gpointer data)
{
    app_ui *ui = data;
    (void)src;
    (void)res;
    ui->saving = FALSE;
    if (ui->save_again) { /* changed while the last save was being written */
        ui->save_again = FALSE;
        save_now(ui);
    }
}

/* Writes the settings off the UI thread, one write at a time. */
static gboolean save_now(gpointer data)
{
    app_ui *ui = data;
    ui->save_timer = 0;
    if (ui->saving) {
        ui->save_again = TRUE;
        return G_SOURCE_REMOVE;
    }
    ui->saving = TRUE;
    save_job *job = g_new0(save_job, 1);
    job->path = g_strdup(ui->settings_path);
    job->data = app_settings_to_data(&ui->settings, &job->len);
    job->gen = ++ui->save_gen;
    GTask *t = g_task_new(NULL, NULL, save_done, ui);
    g_task_set_task_data(t, job, save_job_free);
    g_task_run_in_thread(t, save_thread);
    g_object_unref(t);
    return G_SOURCE_REMOVE;
}

/* Settings change in bursts (a slider): save once it settles. */
static void save_settings(app_ui *ui)
{
    if (ui->save_timer)
        g_source_remove(ui->save_timer);
    ui->save_timer = g_timeout_add(400, save_now, ui);
}

static void push_params(app_ui *ui)
{
    app_worker_params p = {0};
    const char *pics = g_get_user_special_dir(G_USER_DIRECTORY_PICTURES);
    const char *vids = g_get_user_special_dir(G_USER_DIRECTORY_VIDEOS);
    p.mirror = ui->settings.mirror;
    p.shutter = ui->settings.shutter;
    p.threshold = ui->settings.threshold;
    p.hold_s = ui->settings.hold_s;
    p.overlay_in_snapshot = ui->settings.overlay_in_snapshot;
    p.pictures_dir = (char *)(pics ? pics : g_get_home_dir());
    p.videos_dir = (char *)(vids ? vids : g_get_home_dir());
    app_worker_set_params(ui->worker, &p);
}

static void settings_changed(void *user)
{
    app_ui *ui = user;
    push_params(ui);
    save_settings(ui);
    GAction *a = g_action_map_lookup_action(G_ACTION_MAP(ui->window), "mirror");
    if (a)
        g_simple_action_set_state(G_SIMPLE_ACTION(a), g_variant_new_boolean(ui->settings.mirror));
    gtk_widget_queue_draw(ui->area);
}

/* ------------------------------------------------------------ toasts and bars */

static gboolean toast_hide(gpointer data)
{
    app_ui *ui = data;
    gtk_revealer_set_reveal_child(GTK_REVEALER(ui->toast), FALSE);
    ui->toast_timer = 0;
    return G_SOURCE_REMOVE;
}

static void show_toast(app_ui *ui, const char *text, const char *uri)
{
    ui_log(ui, "toast: %s", text);
    gtk_label_set_text(GTK_LABEL(ui->toast_label), text);
    g_free(ui->toast_uri);
    ui->toast_uri = g_strdup(uri);
    gtk_widget_set_visible(ui->toast_open, uri != NULL);
    gtk_revealer_set_reveal_child(GTK_REVEALER(ui->toast), TRUE);
    if (ui->toast_timer)
        g_source_remove(ui->toast_timer);
    ui->toast_timer = g_timeout_add_seconds(4, toast_hide, ui);
}

static void launched(GObject *src, GAsyncResult *res, gpointer data)
{
    GError *err = NULL;
    (void)src;
    (void)data;
    if (!g_app_info_launch_default_for_uri_finish(res, &err)) {
        g_message("could not open the file: %s", err->message);
        g_error_free(err);
    }
}

static void on_toast_open(GtkButton *b, app_ui *ui)
{
    (void)b;
    if (ui->toast_uri)
        g_app_info_launch_default_for_uri_async(ui->toast_uri, NULL, NULL, launched, NULL);
    if (ui->toast_timer)
        g_source_remove(ui->toast_timer);
    toast_hide(ui);
}

static void device_bar_show(app_ui *ui, GtkMessageType type, const char *text)
{
    ui_log(ui, "infobar: %s", text);
    gtk_label_set_text(GTK_LABEL(ui->device_label), text);
    gtk_info_bar_set_message_type(GTK_INFO_BAR(ui->device_bar), type);
    gtk_info_bar_set_revealed(GTK_INFO_BAR(ui->device_bar), TRUE);
}

static void device_bar_hide(app_ui *ui)
{
    gtk_info_bar_set_revealed(GTK_INFO_BAR(ui->device_bar), FALSE);
}

PangoAttrList *app_keep_words_attrs(const char *text)
{
    PangoAttrList *attrs = pango_attr_list_new();
    const char *p = text ? text : "";
    while (*p) {
        while (*p && g_unichar_isspace(g_utf8_get_char(p)))
            p = g_utf8_next_char(p);
        const char *start = p;
        while (*p && !g_unichar_isspace(g_utf8_get_char(p)))
            p = g_utf8_next_char(p);
        if (p > start) {
            PangoAttribute *a = pango_attr_allow_breaks_new(FALSE);
            a->start_index = (guint)(start - text);
            a->end_index = (guint)(p - text);
            pango_attr_list_insert(attrs, a);
        }
    }
    return attrs;
}

/* The empty state: no camera, or the chosen one cannot be used. */
static void show_empty(app_ui *ui, const char *icon, const char *title, const char *hint)
{
    ui_log(ui, "empty: %s. %s", title, hint);
    gtk_image_set_from_icon_name(GTK_IMAGE(ui->empty_icon), icon, GTK_ICON_SIZE_DIALOG);
    gtk_label_set_text(GTK_LABEL(ui->empty_title), title);
    gtk_label_set_text(GTK_LABEL(ui->empty_hint), hint);
    PangoAttrList *keep = app_keep_words_attrs(hint);
    gtk_label_set_attributes(GTK_LABEL(ui->empty_hint), keep);
    pango_attr_list_unref(keep);
    gtk_stack_set_visible_child_name(GTK_STACK(ui->stack), "empty");
    gtk_widget_set_sensitive(ui->snap_button, FALSE);
    gtk_widget_set_sensitive(ui->record_button, FALSE);
}

static void show_live(app_ui *ui)
{
    gtk_stack_set_visible_child_name(GTK_STACK(ui->stack), "live");
    gtk_widget_set_sensitive(ui->snap_button, TRUE);
    gtk_widget_set_sensitive(ui->record_button, TRUE);
}

/* ------------------------------------------------------------ drawing */

static gboolean on_draw(GtkWidget *w, cairo_t *cr, app_ui *ui)
{
    int aw = gtk_widget_get_allocated_width(w), ah = gtk_widget_get_allocated_height(w);
    overlay_hud hud;
    overlay_hud_defaults(&hud);
    hud.mirror = ui->settings.mirror;
    hud.fps = ui->fps;
    hud.latency_ms = ui->latency_ms;
    hud.hist_t = ui->hist_t;
    hud.hist_v = ui->hist_v;
    hud.n_hist = ui->n_hist;
    hud.now_s = (double)g_get_monotonic_time() / 1e6;
    hud.history_span_s = HIST_SPAN_S;
    hud.shutter_on = ui->settings.shutter && ui->have_scores;
    hud.threshold = ui->settings.threshold;
    hud.shutter_hold = app_worker_shutter_progress(ui->worker);
    hud.recording = ui->recording;
    hud.stale = ui->state != WK_LIVE;
    overlay_draw(cr, aw, ah, ui->shown, &hud);
    if (ui->shown && ui->shown->seq != ui->drawn_seq) {
        /* latency: from the frame leaving the camera queue to its overlay drawn */
        double lat = (double)(g_get_monotonic_time() - ui->shown->arrival_us) / 1000.0;
        ui->latency_ms = ui->latency_ms < 0 ? lat : 0.9 * ui->latency_ms + 0.1 * lat;
        ui->lat_ms[ui->n_lat++ % (int)G_N_ELEMENTS(ui->lat_ms)] = (float)lat;
        ui->drawn_seq = ui->shown->seq;
        ui->drawn++;
    }
    return FALSE;
}

typedef struct {
    cairo_surface_t *surface;
    char *path;
} png_job;

static void png_thread(GTask *task, gpointer src, gpointer data, GCancellable *c)
{
    png_job *job = data;
    (void)src;
    (void)c;
    cairo_status_t st = cairo_surface_write_to_png(job->surface, job->path);
    g_task_return_boolean(task, st == CAIRO_STATUS_SUCCESS);
}

static void png_job_free(gpointer data)
{
    png_job *job = data;
    cairo_surface_destroy(job->surface);
    g_free(job->path);
    g_free(job);
}

static void png_done(GObject *src, GAsyncResult *res, gpointer data)
{
    app_ui *ui = data;
    (void)src;
    gboolean ok = g_task_propagate_boolean(G_TASK(res), NULL);
    ui_log(ui, "screenshot: %s %s", ok ? "written" : "failed", ui->opt.screenshot);
}

/* Test aid: the drawing area as drawn, plus where each face box went. */
static void write_screenshot(app_ui *ui)
{
    int aw = gtk_widget_get_allocated_width(ui->area);
    int ah = gtk_widget_get_allocated_height(ui->area);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, aw, ah);
    cairo_t *cr = cairo_create(s);
    on_draw(ui->area, cr, ui);
    cairo_destroy(cr);
    for (int i = 0; i < ui->shown->n_faces; i++) {
        double x, y, w, h, rgb[3];
        if (ui->shown->faces[i].missed)
            continue; /* drawn faded: not a clean colour to look for */
        overlay_face_rect(aw, ah, ui->shown, i, ui->settings.mirror, &x, &y, &w, &h);
        overlay_score_color(ui->shown->has_scores ? ui->shown->faces[i].smoothed : -1, rgb);
        ui_log(ui, "screenshot-face: %d %d %d %d #%02x%02x%02x", (int)x, (int)y, (int)w, (int)h,
               (int)lrint(rgb[0] * 255), (int)lrint(rgb[1] * 255), (int)lrint(rgb[2] * 255));
    }
    png_job *job = g_new0(png_job, 1);
    job->surface = s;
    job->path = g_strdup(ui->opt.screenshot);
    GTask *t = g_task_new(NULL, NULL, png_done, ui);
    g_task_set_task_data(t, job, png_job_free);
    g_task_run_in_thread(t, png_thread);
    g_object_unref(t);
}

static void test_aids(app_ui *ui)
{
    int64_t now = g_get_monotonic_time();
    double since = (double)(now - ui->first_frame_us) / 1e6;
    if (ui->opt.snapshot_after >= 0 && !ui->snapshot_sent && since >= ui->opt.snapshot_after) {
        ui->snapshot_sent = TRUE;
        g_action_group_activate_action(G_ACTION_GROUP(ui->window), "snapshot", NULL);
    }
    if (ui->opt.record_for >= 0 && !ui->record_started) {
        ui->record_started = TRUE;
        g_action_group_change_action_state(G_ACTION_GROUP(ui->window), "record",
                                           g_variant_new_boolean(TRUE));
    }
    if (ui->opt.record_for >= 0 && !ui->record_stopped && since >= ui->opt.record_for) {
        ui->record_stopped = TRUE;
        g_action_group_change_action_state(G_ACTION_GROUP(ui->window), "record",
                                           g_variant_new_boolean(FALSE));
    }
    if (ui->opt.screenshot && !ui->screenshot_done && since > 1.0 &&
        (ui->shown->n_faces > 0 || since > 8.0)) {
        ui->screenshot_done = TRUE;
        write_screenshot(ui);
    }
}

static void on_frame_ready(void *user)
{
    app_ui *ui = user;
    app_frame *f = app_worker_take_frame(ui->worker);
    if (!f)
        return;
    app_worker_release_frame(ui->worker, ui->shown);
    ui->shown = f;
    ui->taken++;
    if (ui->was_lost) {
        ui->was_lost = FALSE;
        ui_log(ui, "frame after reconnect");
    }
    int64_t now = g_get_monotonic_time();
    if (!ui->first_frame_us) {
        ui->first_frame_us = now;
        ui_log(ui, "first frame %dx%d, %.0f ms after start", f->width, f->height,
               (double)(now - ui->start_us) / 1000.0);
    }
    /* frames per second over the last second */
    ui->fps_count++;
    if (!ui->fps_t0)
        ui->fps_t0 = now;
    if (now - ui->fps_t0 >= G_USEC_PER_SEC) {
        ui->fps = ui->fps_count * 1e6 / (double)(now - ui->fps_t0);
        ui->fps_t0 = now;
        ui->fps_count = 0;
    }
    /* the main face's history for the graph */
    if (ui->n_hist == OVERLAY_HISTORY_MAX) {
        memmove(ui->hist_t, ui->hist_t + 1, sizeof ui->hist_t[0] * (OVERLAY_HISTORY_MAX - 1));
        memmove(ui->hist_v, ui->hist_v + 1, sizeof ui->hist_v[0] * (OVERLAY_HISTORY_MAX - 1));
        ui->n_hist--;
    }
    ui->hist_t[ui->n_hist] = (double)now / 1e6;
    ui->hist_v[ui->n_hist] =
        f->has_scores && f->main_face >= 0 ? f->faces[f->main_face].smoothed : -1;
    ui->n_hist++;
    gtk_widget_queue_draw(ui->area);
    test_aids(ui);
}

/* ------------------------------------------------------------ cameras */

static const cap_v4l2_device *find_device(app_ui *ui, const char *path, const char *name)
{
    for (int i = 0; path && i < ui->n_devices; i++)
        if (!strcmp(ui->devices[i].path, path) && (!name || !strcmp(ui->devices[i].card, name)))
            return &ui->devices[i];
    for (int i = 0; name && i < ui->n_devices; i++)
        if (!strcmp(ui->devices[i].card, name))
            return &ui->devices[i];
    return NULL;
}

static const char *device_label(const cap_v4l2_device *d)
{
    if (d->card[0])
        return d->card;
    return d->path;
}

static void open_camera(app_ui *ui, const cap_v4l2_device *d, gboolean keep_mode)
{
    g_free(ui->file_path);
    ui->file_path = NULL;
    g_free(ui->cur_path);
    ui->cur_path = g_strdup(d->path);
    if (!keep_mode || g_strcmp0(ui->settings.camera_name, d->card) != 0) {
        g_free(ui->settings.format);
        ui->settings.format = NULL;
        ui->settings.width = ui->settings.height = 0;
    }
    if (d->card[0]) {
        g_free(ui->settings.camera_name);
        ui->settings.camera_name = g_strdup(d->card);
    }
    g_free(ui->settings.camera_path);
    ui->settings.camera_path = g_strdup(d->path);
    save_settings(ui);
    uint32_t fourcc = 0;
    if (ui->settings.format && strlen(ui->settings.format) == 4) {
        const char *f = ui->settings.format;
        fourcc = v4l2_fourcc(f[0], f[1], f[2], f[3]);
    }
    ui_log(ui, "opening camera %s (%s)", d->path, d->card);
    app_worker_open_camera(ui->worker, d->path, fourcc, ui->settings.width, ui->settings.height);
    gtk_widget_set_sensitive(ui->mode_button, FALSE);
}

static void open_file(app_ui *ui, const char *path)
{
    g_free(ui->file_path);
    ui->file_path = g_strdup(path);
    g_free(ui->cur_path);
    ui->cur_path = NULL;
    ui_log(ui, "opening file %s", path);
    app_worker_open_file(ui->worker, path);
    gtk_widget_set_sensitive(ui->mode_button, FALSE);
}

static void fill_combo(app_ui *ui)
{
    GtkComboBoxText *cb = GTK_COMBO_BOX_TEXT(ui->camera_combo);
    ui->updating = TRUE;
    gtk_combo_box_text_remove_all(cb);
    int usable = 0;
    for (int i = 0; i < ui->n_devices; i++) {
        if (ui->devices[i].status != CAP_OK && ui->devices[i].status != CAP_BUSY)
            continue;
        gtk_combo_box_text_append(cb, ui->devices[i].path, device_label(&ui->devices[i]));
        usable++;
    }
    if (ui->file_path) {
        char *base = g_path_get_basename(ui->file_path);
        gtk_combo_box_text_append(cb, "file", base);
        g_free(base);
        gtk_combo_box_set_active_id(GTK_COMBO_BOX(cb), "file");
    } else if (ui->cur_path) {
        gtk_combo_box_set_active_id(GTK_COMBO_BOX(cb), ui->cur_path);
    }
    gtk_widget_set_visible(ui->camera_combo, usable > 0 || ui->file_path);
    ui->updating = FALSE;
}

static void no_camera_state(app_ui *ui)
{
    /* a node we may not open still tells the user what to do */
    for (int i = 0; i < ui->n_devices; i++) {
        if (ui->devices[i].status == CAP_PERMISSION) {
            show_empty(ui, "action-unavailable-symbolic", _("The camera cannot be opened"),
                       _("You are not allowed to use the camera. Ask your administrator to add "
                         "you to the “video” group, then log out and back in."));
            return;
        }
    }
    show_empty(ui, "camera-disabled-symbolic", _("No camera found"),
               _("Plug in a webcam and it will appear here, or open a recorded video."));
}

/* Chooses what to show after the camera list changed. */
static void devices_changed(app_ui *ui)
{
    fill_combo(ui);
    if (ui->file_path)
        return;
    if (ui->cur_path) {
        /* keep the current camera (the worker reconnects it if it went away) */
        return;
    }
    const cap_v4l2_device *d = NULL;
    if (ui->opt.device) {
        d = find_device(ui, ui->opt.device, NULL);
        if (!d)
            d = find_device(ui, NULL, ui->opt.device);
    }
    if (!d && !ui->opt.device)
        d = find_device(ui, ui->settings.camera_path, ui->settings.camera_name);
    if (!d && !ui->opt.device) {
        for (int i = 0; i < ui->n_devices && !d; i++)
            if (ui->devices[i].status == CAP_OK)
                d = &ui->devices[i];
        /* a busy camera is worth waiting for: the worker retries and says why */
        for (int i = 0; i < ui->n_devices && !d; i++)
            if (ui->devices[i].status == CAP_BUSY)
                d = &ui->devices[i];
    }
    if (d) {
        open_camera(ui, d, TRUE);
        fill_combo(ui);
    } else if (ui->opt.device) {
        /* the node may exist without being listed (no QUERYCAP): try it anyway */
        cap_v4l2_device tmp = {0};
        g_strlcpy(tmp.path, ui->opt.device, sizeof tmp.path);
        open_camera(ui, &tmp, TRUE);
    } else {
        no_camera_state(ui);
    }
}

typedef struct {
    char *dir;
    cap_v4l2_device devs[MAX_DEVICES];
    int n;
} list_job;

static void list_thread(GTask *t, gpointer src, gpointer data, GCancellable *c)
{
    list_job *job = data;
    (void)src;
    (void)c;
    job->n = cap_v4l2_list_devices(job->dir, job->devs, MAX_DEVICES);
    g_task_return_boolean(t, TRUE);
}

static void list_job_free(gpointer data)
{
    list_job *job = data;
    g_free(job->dir);
    g_free(job);
}

static void start_listing(app_ui *ui);

static void list_done(GObject *src, GAsyncResult *res, gpointer data)
{
    app_ui *ui = data;
    list_job *job = g_task_get_task_data(G_TASK(res));
    (void)src;
    ui->listing = FALSE;
    int n = job->n < 0 ? 0 : job->n > MAX_DEVICES ? MAX_DEVICES : job->n;
    memcpy(ui->devices, job->devs, sizeof ui->devices[0] * (size_t)n);
    ui->n_devices = n;
    ui->devices_known = TRUE;
    ui_log(ui, "cameras: %d", n);
    devices_changed(ui);
    if (ui->relist) {
        ui->relist = FALSE;
        start_listing(ui);
    }
}

/* Listing opens every node: off the UI thread. */
static void start_listing(app_ui *ui)
{
    if (ui->listing) {
        ui->relist = TRUE;
        return;
    }
    ui->listing = TRUE;
    list_job *job = g_new0(list_job, 1);
    job->dir = g_strdup(ui->dev_dir);
    GTask *t = g_task_new(NULL, NULL, list_done, ui);
    g_task_set_task_data(t, job, list_job_free);
    g_task_run_in_thread(t, list_thread);
    g_object_unref(t);
}

/* Hotplug: a readdir + stat fingerprint each second (no device is opened). */
static gboolean poll_devices(gpointer data)
{
    app_ui *ui = data;
    uint64_t stamp = cap_v4l2_dir_stamp(ui->dev_dir);
    if (stamp != ui->dir_stamp) {
        ui->dir_stamp = stamp;
        ui_log(ui, "device folder changed");
        start_listing(ui);
    }
    return G_SOURCE_CONTINUE;
}

static void on_camera_changed(GtkComboBox *cb, app_ui *ui)
{
    if (ui->updating)
        return;
    const char *id = gtk_combo_box_get_active_id(cb);
    if (!id || !strcmp(id, "file") || !g_strcmp0(id, ui->cur_path))
        return;
    const cap_v4l2_device *d = find_device(ui, id, NULL);
    if (d) {
        open_camera(ui, d, FALSE);
        fill_combo(ui);
    }
}

/* ------------------------------------------------------------ modes */

typedef struct {
    char *path;
    cap_v4l2_mode *modes;
    int n;
} modes_job;

static void modes_thread(GTask *t, gpointer src, gpointer data, GCancellable *c)
{
    modes_job *job = data;
    char err[256];
    (void)src;
    (void)c;
    if (cap_v4l2_list_modes(job->path, &job->modes, &job->n, err, sizeof err) != CAP_OK) {
        job->modes = NULL;
        job->n = 0;
    }
    g_task_return_boolean(t, TRUE);
}

static void modes_job_free(gpointer data)
{
    modes_job *job = data;
    g_free(job->path);
    free(job->modes);
    g_free(job);
}

static char *fourcc_str(uint32_t f)
{
    return g_strdup_printf("%c%c%c%c", f & 0xff, (f >> 8) & 0xff, (f >> 16) & 0xff, f >> 24);
}

static const char *format_label(uint32_t fourcc)
{
    switch (fourcc) {
    case V4L2_PIX_FMT_MJPEG:
    case V4L2_PIX_FMT_JPEG: return "MJPEG";
    case V4L2_PIX_FMT_YUYV: return "YUYV";
    case V4L2_PIX_FMT_GREY: return _("Grey");
    case V4L2_PIX_FMT_YUV420: return "YUV 4:2:0";
    default: return "?";
    }
}

static void modes_done(GObject *src, GAsyncResult *res, gpointer data)
{
    app_ui *ui = data;
    modes_job *job = g_task_get_task_data(G_TASK(res));
    (void)src;
    if (g_strcmp0(job->path, ui->cur_path) != 0)
        return; /* the camera changed meanwhile */
    g_menu_remove_all(ui->mode_menu);
    /* one entry per format and size, at its best frame rate */
    for (int i = 0; i < job->n; i++) {
        const cap_v4l2_mode *m = &job->modes[i];
        gboolean dup = FALSE;
        double best = cap_v4l2_mode_fps(m);
        for (int j = 0; j < job->n; j++) {
            const cap_v4l2_mode *o = &job->modes[j];
            if (o->fourcc == m->fourcc && o->width == m->width && o->height == m->height) {
                if (j < i)
                    dup = TRUE;
                best = fmax(best, cap_v4l2_mode_fps(o));
            }
        }
        if (dup)
            continue;
        char *fcc = fourcc_str(m->fourcc);
        char *target = g_strdup_printf("%s:%dx%d", fcc, m->width, m->height);
        char *label = best > 0 ? g_strdup_printf(_("%d × %d · %s · %.0f fps"), m->width, m->height,
                                                 format_label(m->fourcc), best)
                               : g_strdup_printf("%d × %d · %s", m->width, m->height,
                                                 format_label(m->fourcc));
        GMenuItem *it = g_menu_item_new(label, NULL);
        g_menu_item_set_action_and_target_value(it, "win.mode", g_variant_new_string(target));
        g_menu_append_item(ui->mode_menu, it);
        g_object_unref(it);
        g_free(fcc);
        g_free(target);
        g_free(label);
    }
    gtk_widget_set_sensitive(ui->mode_button, job->n > 0);
    ui_log(ui, "modes: %d in the menu", g_menu_model_get_n_items(G_MENU_MODEL(ui->mode_menu)));
}

static void on_mode(GSimpleAction *a, GVariant *v, gpointer data)
{
    app_ui *ui = data;
    const char *s = g_variant_get_string(v, NULL);
    char fcc[5] = {0};
    int w = 0, h = 0;
    if (sscanf(s, "%4[^:]:%dx%d", fcc, &w, &h) != 3 || !ui->cur_path)
        return;
    g_simple_action_set_state(a, v);
    g_free(ui->settings.format);
    ui->settings.format = g_strdup(fcc);
    ui->settings.width = w;
    ui->settings.height = h;
    save_settings(ui);
    ui_log(ui, "mode %s", s);
    app_worker_open_camera(ui->worker, ui->cur_path, v4l2_fourcc(fcc[0], fcc[1], fcc[2], fcc[3]),
                           w, h);
}

/* ------------------------------------------------------------ worker events */

/* What to call the camera in a sentence: its card name when we know it. */
static const char *camera_name(app_ui *ui, const char *name)
{
    if (name && *name && name[0] != '/')
        return name;
    const cap_v4l2_device *d = name ? find_device(ui, name, NULL) : NULL;
    if (d && d->card[0])
        return d->card;
    if (name && ui->settings.camera_name && !g_strcmp0(ui->settings.camera_path, name))
        return ui->settings.camera_name;
    return _("The camera");
}

static void state_in_words(app_ui *ui, const app_event *ev)
{
    const char *name = camera_name(ui, ev->name);
    char *msg = NULL;
    switch (ev->state) {
    case WK_IDLE:
        device_bar_hide(ui);
        if (ui->devices_known && !ui->cur_path && !ui->file_path)
            no_camera_state(ui);
        break;
    case WK_OPENING:
        if (!ui->shown && !ui->file_path)
            show_empty(ui, "camera-web-symbolic", _("Opening the camera…"), "");
        break;
    case WK_LIVE:
        device_bar_hide(ui);
        show_live(ui);
        break;
    case WK_DISCONNECTED:
        ui->was_lost = TRUE;
        device_bar_show(ui, GTK_MESSAGE_WARNING,
                        _("The camera was disconnected. Waiting for it to come back…"));
        break;
    case WK_NO_DEVICE:
        if (ui->file_path) {
            msg = g_strdup_printf(_("The video “%s” could not be found."), ui->file_path);
            show_empty(ui, "video-x-generic-symbolic", _("Cannot open the video"), msg);
        } else if (ui->shown) {
            device_bar_show(ui, GTK_MESSAGE_WARNING,
                            _("The camera was disconnected. Waiting for it to come back…"));
        } else {
            msg = g_strdup_printf(_("“%s” is not connected. Plug it in, choose another camera, "
                                    "or open a recorded video."),
                                  name);
            show_empty(ui, "camera-disabled-symbolic", _("No camera found"), msg);
        }
        break;
    case WK_BUSY:
        msg = g_strdup_printf(_("%s is being used by another program. Close that program and "
                                "the picture will appear here."),
                              name);
        if (ui->shown)
            device_bar_show(ui, GTK_MESSAGE_WARNING, msg);
        else
            show_empty(ui, "camera-web-symbolic", _("The camera is busy"), msg);
        break;
    case WK_PERMISSION:
        msg = g_strdup(_("You are not allowed to use the camera. Ask your administrator to add "
                         "you to the “video” group, then log out and back in."));
        if (ui->shown)
            device_bar_show(ui, GTK_MESSAGE_ERROR, msg);
        else
            show_empty(ui, "action-unavailable-symbolic", _("The camera cannot be opened"), msg);
        break;
    case WK_UNSUPPORTED:
        if (ui->file_path) {
            char *base = g_path_get_basename(ui->file_path);
            msg = g_strdup_printf(_("“%s” is not a video this app can play (%s)."), base,
                                  ev->text ? ev->text : "");
            g_free(base);
            show_empty(ui, "video-x-generic-symbolic", _("Cannot open the video"), msg);
        } else {
            msg = g_strdup_printf(_("%s sends pictures in a format this app cannot read (%s)."),
                                  name, ev->text ? ev->text : "");
            show_empty(ui, "camera-disabled-symbolic", _("The camera cannot be used"), msg);
        }
        break;
    case WK_ERROR:
        msg = g_strdup_printf(_("Something went wrong with %s: %s. Trying again…"), name,
                              ev->text ? ev->text : "");
        if (ui->shown && !ui->file_path)
            device_bar_show(ui, GTK_MESSAGE_WARNING, msg);
        else
            show_empty(ui, "dialog-warning-symbolic", _("The picture cannot be shown"), msg);
        break;
    }
    g_free(msg);
}

static void on_event(const app_event *ev, void *user)
{
    app_ui *ui = user;
    char *msg = NULL;
    switch (ev->kind) {
    case EV_STATE:
        ui->state = ev->state;
        if (ev->state != WK_LIVE) {
            ui->fps = -1; /* counted afresh when frames come back */
            ui->fps_t0 = 0;
            ui->fps_count = 0;
        }
        gtk_widget_queue_draw(ui->area);
        /* photos and recordings only of a live picture */
        for (const char *const *a = (const char *const[]){"snapshot", "record", NULL}; *a; a++)
            g_simple_action_set_enabled(
                G_SIMPLE_ACTION(g_action_map_lookup_action(G_ACTION_MAP(ui->window), *a)),
                ev->state == WK_LIVE);
        ui_log(ui, "ui-state: %s", app_worker_state_name(ev->state));
        state_in_words(ui, ev);
        break;
    case EV_MODEL:
        ui->have_scores = ev->ok;
        if (!ev->ok) {
            if (ev->path && !g_file_test(ev->path, G_FILE_TEST_EXISTS))
                msg = g_strdup_printf(_("No smile model was found at %s. Faces are shown "
                                        "without scores."),
                                      ev->path);
            else
                msg = g_strdup_printf(_("The smile model could not be loaded, so faces are "
                                        "shown without scores. %s"),
                                      ev->text ? ev->text : "");
            ui_log(ui, "model-bar: %s", msg);
            gtk_label_set_text(GTK_LABEL(ui->model_label), msg);
            gtk_info_bar_set_revealed(GTK_INFO_BAR(ui->model_bar), TRUE);
        }
        break;
    case EV_DETECTOR:
        msg = g_strdup_printf(_("Faces cannot be found: %s"), ev->text ? ev->text : "");
        gtk_label_set_text(GTK_LABEL(ui->model_label), msg);
        gtk_info_bar_set_revealed(GTK_INFO_BAR(ui->model_bar), TRUE);
        break;
    case EV_SNAPSHOT:
        if (ev->ok) {
            char *base = g_path_get_basename(ev->path);
            char *uri = g_filename_to_uri(ev->path, NULL, NULL);
            msg = g_strdup_printf(_("Saved snapshot %s"), base);
            show_toast(ui, msg, uri);
            g_free(base);
            g_free(uri);
        } else {
            msg = g_strdup_printf(_("The snapshot could not be saved: %s"),
                                  ev->text ? ev->text : "");
            show_toast(ui, msg, NULL);
        }
        break;
    case EV_RECORDING:
        if (ev->on) {
            ui->recording = TRUE;
            gtk_style_context_add_class(gtk_widget_get_style_context(ui->record_button),
                                        "destructive-action");
        } else {
            ui->recording = FALSE;
            gtk_style_context_remove_class(gtk_widget_get_style_context(ui->record_button),
                                           "destructive-action");
            GAction *a = g_action_map_lookup_action(G_ACTION_MAP(ui->window), "record");
            g_simple_action_set_state(G_SIMPLE_ACTION(a), g_variant_new_boolean(FALSE));
            if (ev->ok && ev->path) {
                char *base = g_path_get_basename(ev->path);
                char *uri = g_filename_to_uri(ev->path, NULL, NULL);
                msg = g_strdup_printf(_("Saved video %s"), base);
                show_toast(ui, msg, uri);
                g_free(base);
                g_free(uri);
            } else {
                /* the worker's own reasons are marked N_() */
                msg = g_strdup_printf(_("Recording stopped: %s"), ev->text ? _(ev->text) : "");
                show_toast(ui, msg, NULL);
            }
        }
        gtk_widget_queue_draw(ui->area);
        break;
    case EV_MODE:
        ui_log(ui, "mode: %dx%d %s %.1f fps on %s", ev->width, ev->height,
               ev->text ? ev->text : "", ev->fps, ev->path ? ev->path : "");
        if (ev->width > 0) {
            /* The nominal rate goes to the tooltip only: the HUD already shows
             * the measured one, and with it the subtitle was cut at 640 px. */
            char *sub = g_strdup_printf("%d × %d · %s", ev->width, ev->height,
                                        format_label(ev->fourcc));
            char *full = ev->fps > 0
                             ? g_strdup_printf(_("%d × %d · %s · %.0f fps"), ev->width, ev->height,
                                               format_label(ev->fourcc), ev->fps)
                             : NULL;
            gtk_header_bar_set_subtitle(GTK_HEADER_BAR(ui->header), sub);
            gtk_widget_set_tooltip_text(ui->header, full ? full : sub);
            g_free(sub);
            g_free(full);
        } else {
            gtk_header_bar_set_subtitle(GTK_HEADER_BAR(ui->header), ev->name);
            gtk_widget_set_tooltip_text(ui->header, NULL);
        }
        if (ev->fourcc) { /* the menu's radio mark follows the mode in use */
            char *fcc = fourcc_str(ev->fourcc);
            char *target = g_strdup_printf("%s:%dx%d", fcc, ev->width, ev->height);
            g_simple_action_set_state(
                G_SIMPLE_ACTION(g_action_map_lookup_action(G_ACTION_MAP(ui->window), "mode")),
                g_variant_new_string(target));
            g_free(fcc);
            g_free(target);
        }
        if (ev->path && g_strcmp0(ev->path, ui->cur_path) == 0) {
            modes_job *job = g_new0(modes_job, 1);
            job->path = g_strdup(ev->path);
            GTask *t = g_task_new(NULL, NULL, modes_done, ui);
            g_task_set_task_data(t, job, modes_job_free);
            g_task_run_in_thread(t, modes_thread);
            g_object_unref(t);
        }
        break;
    }
    g_free(msg);
}

/* ------------------------------------------------------------ actions */

static void on_snapshot(GSimpleAction *a, GVariant *v, gpointer data)
{
    app_ui *ui = data;
    (void)a;
    (void)v;
    if (!ui->shown)
        return;
    app_worker_snapshot(ui->worker);
}

static void on_record(GSimpleAction *a, GVariant *v, gpointer data)
{
    app_ui *ui = data;
    gboolean on = g_variant_get_boolean(v);
    g_simple_action_set_state(a, v);
    ui_log(ui, "record: %s", on ? "on" : "off");
    app_worker_set_recording(ui->worker, on);
}

static void on_mirror(GSimpleAction *a, GVariant *v, gpointer data)
{
    app_ui *ui = data;
    g_simple_action_set_state(a, v);
    ui->settings.mirror = g_variant_get_boolean(v);
    settings_changed(ui);
}

static void file_chosen(GtkNativeDialog *d, int response, app_ui *ui)
{
    if (response == GTK_RESPONSE_ACCEPT) {
        char *path = gtk_file_chooser_get_filename(GTK_FILE_CHOOSER(d));
        if (path) {
            open_file(ui, path);
            fill_combo(ui);
        }
        g_free(path);
    }
    g_object_unref(d);
}

static void on_open(GSimpleAction *a, GVariant *v, gpointer data)
{
    app_ui *ui = data;
    (void)a;
    (void)v;
    GtkFileChooserNative *d = gtk_file_chooser_native_new(
        _("Open Video"), GTK_WINDOW(ui->window), GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"),
        _("_Cancel"));
    GtkFileFilter *f = gtk_file_filter_new();
    gtk_file_filter_set_name(f, _("Videos"));
    gtk_file_filter_add_mime_type(f, "video/*");
    gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(d), f);
    f = gtk_file_filter_new();
    gtk_file_filter_set_name(f, _("All files"));
    gtk_file_filter_add_pattern(f, "*");
    gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(d), f);
    const char *vids = g_get_user_special_dir(G_USER_DIRECTORY_VIDEOS);
    if (vids)
        gtk_file_chooser_set_current_folder(GTK_FILE_CHOOSER(d), vids);
    g_signal_connect(d, "response", G_CALLBACK(file_chosen), ui);
    gtk_native_dialog_show(GTK_NATIVE_DIALOG(d));
}

static void prefs_destroyed(GtkWidget *w, app_ui *ui)
{
    (void)w;
    ui->prefs = NULL;
}

static void on_prefs(GSimpleAction *a, GVariant *v, gpointer data)
{
    app_ui *ui = data;
    (void)a;
    (void)v;
    if (!ui->prefs) {
        ui->prefs = app_prefs_dialog_new(GTK_WINDOW(ui->window), &ui->settings,
                                         settings_changed, ui);
        g_signal_connect(ui->prefs, "destroy", G_CALLBACK(prefs_destroyed), ui);
    }
    gtk_window_present(GTK_WINDOW(ui->prefs));
}

static void on_shortcuts(GSimpleAction *a, GVariant *v, gpointer data)
{
    app_ui *ui = data;
    (void)a;
    (void)v;
    GtkWidget *w = app_shortcuts_window_new(GTK_WINDOW(ui->window));
    gtk_widget_show_all(w);
}

static void on_about(GSimpleAction *a, GVariant *v, gpointer data)
{
    app_ui *ui = data;
    (void)a;
    (void)v;
    static const char *authors[] = {"The smile-detector authors", NULL};
    gtk_show_about_dialog(GTK_WINDOW(ui->window), "program-name", _("Smile Detector"),
                          "logo-icon-name", APP_ID, "version", PACKAGE_VERSION, "comments",
                          _("Watches a webcam and shows how much each face is laughing."),
                          "license-type", GTK_LICENSE_MIT_X11, "authors", authors,
                          /* TRANSLATORS: your name(s), one a line */
                          "translator-credits", _("translator-credits"), NULL);
}

static void on_fullscreen(GSimpleAction *a, GVariant *v, gpointer data)
{
    app_ui *ui = data;
    (void)a;
    (void)v;
    GdkWindow *gw = gtk_widget_get_window(ui->window);
    if (gw && (gdk_window_get_state(gw) & GDK_WINDOW_STATE_FULLSCREEN))
        gtk_window_unfullscreen(GTK_WINDOW(ui->window));
    else
        gtk_window_fullscreen(GTK_WINDOW(ui->window));
}

/* ------------------------------------------------------------ building */

static GtkWidget *header_bar(app_ui *ui)
{
    GtkWidget *hb = gtk_header_bar_new();
    gtk_header_bar_set_show_close_button(GTK_HEADER_BAR(hb), TRUE);
    gtk_header_bar_set_title(GTK_HEADER_BAR(hb), _("Smile Detector"));

    ui->camera_combo = gtk_combo_box_text_new();
    gtk_widget_set_tooltip_text(ui->camera_combo, _("Camera"));
    g_signal_connect(ui->camera_combo, "changed", G_CALLBACK(on_camera_changed), ui);
    /* A long camera or file name would otherwise take the title's room: at
     * the default 640 px the title read "Smile ..." beside a video's name. */
    GList *cells = gtk_cell_layout_get_cells(GTK_CELL_LAYOUT(ui->camera_combo));
    for (GList *c = cells; c; c = c->next)
        if (GTK_IS_CELL_RENDERER_TEXT(c->data))
            g_object_set(c->data, "ellipsize", PANGO_ELLIPSIZE_MIDDLE, "max-width-chars", 18, NULL);
    g_list_free(cells);
    gtk_header_bar_pack_start(GTK_HEADER_BAR(hb), ui->camera_combo);

    ui->mode_menu = g_menu_new();
    ui->mode_button = gtk_menu_button_new();
    gtk_menu_button_set_menu_model(GTK_MENU_BUTTON(ui->mode_button), G_MENU_MODEL(ui->mode_menu));
    gtk_button_set_image(GTK_BUTTON(ui->mode_button),
                         gtk_image_new_from_icon_name("emblem-system-symbolic",
                                                      GTK_ICON_SIZE_BUTTON));
    gtk_widget_set_tooltip_text(ui->mode_button, _("Resolution and format"));
    gtk_widget_set_sensitive(ui->mode_button, FALSE);
    gtk_header_bar_pack_start(GTK_HEADER_BAR(hb), ui->mode_button);

    GMenu *menu = g_menu_new();
    GMenu *sec = g_menu_new();
    g_menu_append(sec, _("_Open Video…"), "win.open");
    g_menu_append(sec, _("_Mirror View"), "win.mirror");
    g_menu_append(sec, _("_Fullscreen"), "win.fullscreen");
    g_menu_append_section(menu, NULL, G_MENU_MODEL(sec));
    g_object_unref(sec);
    sec = g_menu_new();
    g_menu_append(sec, _("_Preferences"), "win.preferences");
    g_menu_append(sec, _("_Keyboard Shortcuts"), "win.shortcuts");
    g_menu_append(sec, _("_About Smile Detector"), "win.about");
    g_menu_append_section(menu, NULL, G_MENU_MODEL(sec));
    g_object_unref(sec);
    GtkWidget *mb = gtk_menu_button_new();
    gtk_menu_button_set_menu_model(GTK_MENU_BUTTON(mb), G_MENU_MODEL(menu));
    gtk_button_set_image(GTK_BUTTON(mb),
                         gtk_image_new_from_icon_name("open-menu-symbolic", GTK_ICON_SIZE_BUTTON));
    gtk_widget_set_tooltip_text(mb, _("Main menu"));
    g_object_unref(menu);
    gtk_header_bar_pack_end(GTK_HEADER_BAR(hb), mb);

    ui->record_button = gtk_toggle_button_new();
    gtk_button_set_image(GTK_BUTTON(ui->record_button),
                         gtk_image_new_from_icon_name("media-record-symbolic",
                                                      GTK_ICON_SIZE_BUTTON));
    gtk_actionable_set_action_name(GTK_ACTIONABLE(ui->record_button), "win.record");
    gtk_widget_set_tooltip_text(ui->record_button, _("Record video"));
    gtk_header_bar_pack_end(GTK_HEADER_BAR(hb), ui->record_button);

    ui->snap_button = gtk_button_new_from_icon_name("camera-photo-symbolic", GTK_ICON_SIZE_BUTTON);
    gtk_actionable_set_action_name(GTK_ACTIONABLE(ui->snap_button), "win.snapshot");
    gtk_widget_set_tooltip_text(ui->snap_button, _("Take a snapshot"));
    gtk_style_context_add_class(gtk_widget_get_style_context(ui->snap_button),
                                "suggested-action");
    gtk_header_bar_pack_end(GTK_HEADER_BAR(hb), ui->snap_button);
    return hb;
}

static GtkWidget *empty_page(app_ui *ui)
{
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 12);
    gtk_widget_set_valign(box, GTK_ALIGN_CENTER);
    gtk_widget_set_halign(box, GTK_ALIGN_CENTER);
    gtk_widget_set_margin_start(box, 36);
    gtk_widget_set_margin_end(box, 36);
    ui->empty_icon = gtk_image_new_from_icon_name("camera-web-symbolic", GTK_ICON_SIZE_DIALOG);
    gtk_image_set_pixel_size(GTK_IMAGE(ui->empty_icon), 128);
    gtk_style_context_add_class(gtk_widget_get_style_context(ui->empty_icon), "dim-label");
    ui->empty_title = gtk_label_new(_("Looking for cameras…"));
    PangoAttrList *attrs = pango_attr_list_new();
    pango_attr_list_insert(attrs, pango_attr_scale_new(1.6));
    pango_attr_list_insert(attrs, pango_attr_weight_new(PANGO_WEIGHT_BOLD));
    gtk_label_set_attributes(GTK_LABEL(ui->empty_title), attrs);
    pango_attr_list_unref(attrs);
    ui->empty_hint = gtk_label_new("");
    gtk_label_set_line_wrap(GTK_LABEL(ui->empty_hint), TRUE);
    gtk_label_set_max_width_chars(GTK_LABEL(ui->empty_hint), 50);
    gtk_label_set_justify(GTK_LABEL(ui->empty_hint), GTK_JUSTIFY_CENTER);
    gtk_style_context_add_class(gtk_widget_get_style_context(ui->empty_hint), "dim-label");
    GtkWidget *open = gtk_button_new_with_mnemonic(_("_Open Video…"));
    gtk_actionable_set_action_name(GTK_ACTIONABLE(open), "win.open");
    gtk_widget_set_halign(open, GTK_ALIGN_CENTER);
    gtk_style_context_add_class(gtk_widget_get_style_context(open), "suggested-action");
    gtk_box_pack_start(GTK_BOX(box), ui->empty_icon, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(box), ui->empty_title, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(box), ui->empty_hint, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(box), open, FALSE, FALSE, 12);
    return box;
}

static GtkWidget *toast(app_ui *ui)
{
    ui->toast = gtk_revealer_new();
    gtk_widget_set_halign(ui->toast, GTK_ALIGN_CENTER);
    gtk_widget_set_valign(ui->toast, GTK_ALIGN_END);
    gtk_widget_set_margin_bottom(ui->toast, 24);
    GtkWidget *frame = gtk_frame_new(NULL);
    gtk_style_context_add_class(gtk_widget_get_style_context(frame), "app-notification");
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 12);
    ui->toast_label = gtk_label_new("");
    gtk_label_set_ellipsize(GTK_LABEL(ui->toast_label), PANGO_ELLIPSIZE_MIDDLE);
    ui->toast_open = gtk_button_new_with_mnemonic(_("_Open"));
    g_signal_connect(ui->toast_open, "clicked", G_CALLBACK(on_toast_open), ui);
    gtk_box_pack_start(GTK_BOX(box), ui->toast_label, TRUE, TRUE, 0);
    gtk_box_pack_start(GTK_BOX(box), ui->toast_open, FALSE, FALSE, 0);
    gtk_container_add(GTK_CONTAINER(frame), box);
    gtk_container_add(GTK_CONTAINER(ui->toast), frame);
    gtk_widget_set_no_show_all(ui->toast_open, TRUE);
    return ui->toast;
}

static GtkWidget *info_bar(GtkWidget **label, GtkMessageType type, gboolean closable)
{
    GtkWidget *bar = gtk_info_bar_new();
    gtk_info_bar_set_message_type(GTK_INFO_BAR(bar), type);
    gtk_info_bar_set_show_close_button(GTK_INFO_BAR(bar), closable);
    *label = gtk_label_new("");
    gtk_label_set_line_wrap(GTK_LABEL(*label), TRUE);
    gtk_label_set_xalign(GTK_LABEL(*label), 0);
    gtk_container_add(GTK_CONTAINER(gtk_info_bar_get_content_area(GTK_INFO_BAR(bar))), *label);
    gtk_info_bar_set_revealed(GTK_INFO_BAR(bar), FALSE);
    return bar;
}

static void bar_response(GtkInfoBar *bar, int response, gpointer data)
{
    (void)data;
    if (response == GTK_RESPONSE_CLOSE)
        gtk_info_bar_set_revealed(bar, FALSE);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void log_stats(app_ui *ui)
{
    if (!ui->opt.verbose)
        return;
    int n = ui->n_lat < (int)G_N_ELEMENTS(ui->lat_ms) ? ui->n_lat : (int)G_N_ELEMENTS(ui->lat_ms);
    if (n > 0) { /* the latest samples: mean, median, 95th percentile, max */
        float *v = g_memdup2(ui->lat_ms, sizeof(float) * (size_t)n);
        qsort(v, (size_t)n, sizeof *v, cmp_float);
        double sum = 0;
        for (int i = 0; i < n; i++)
            sum += v[i];
        ui_log(ui, "latency: n=%d mean_ms=%.2f p50_ms=%.2f p95_ms=%.2f max_ms=%.2f", n, sum / n,
               v[n / 2], v[(int)(n * 0.95)], v[n - 1]);
        g_free(v);
    }
    app_worker_stats st;
    app_worker_get_stats(ui->worker, &st);
    ui_log(ui,
           "stats: processed=%llu published=%llu replaced=%llu taken=%llu drawn=%llu "
           "corrupt=%llu skipped=%llu process_ms=%.2f decode_ms=%.2f detect_ms=%.2f "
           "latency_ms=%.2f fps=%.1f",
           (unsigned long long)st.processed, (unsigned long long)st.published,
           (unsigned long long)st.replaced, (unsigned long long)ui->taken,
           (unsigned long long)ui->drawn, (unsigned long long)st.corrupt,
           (unsigned long long)st.skipped, st.process_ms, st.decode_ms, st.detect_ms,
           ui->latency_ms, ui->fps);
}

static gboolean quit_timeout(gpointer data)
{
    app_ui *ui = data;
    ui->quit_timer = 0;
    g_application_quit(G_APPLICATION(ui->app));
    return G_SOURCE_REMOVE;
}

static const GActionEntry win_actions[] = {
    {"snapshot", on_snapshot, NULL, NULL, NULL, {0}},
    {"record", NULL, NULL, "false", on_record, {0}},
    {"mirror", NULL, NULL, "true", on_mirror, {0}},
    {"open", on_open, NULL, NULL, NULL, {0}},
    {"preferences", on_prefs, NULL, NULL, NULL, {0}},
    {"shortcuts", on_shortcuts, NULL, NULL, NULL, {0}},
    {"about", on_about, NULL, NULL, NULL, {0}},
    {"fullscreen", on_fullscreen, NULL, NULL, NULL, {0}},
    {"mode", on_mode, "s", "''", NULL, {0}},
};

app_ui *app_ui_new(GtkApplication *app, const app_options *opt)
{
    app_ui *ui = g_new0(app_ui, 1);
    ui->app = app;
    ui->opt = *opt;
    ui->latency_ms = -1;
    ui->fps = -1;
    ui->state = WK_IDLE;
    ui->start_us = opt->started_us ? opt->started_us : g_get_monotonic_time();
    app_settings_init(&ui->settings);
    ui->settings_path = app_settings_path();
    GError *err = NULL;
    if (!app_settings_load(&ui->settings, ui->settings_path, &err)) {
        g_warning("%s (using the defaults)", err->message);
        g_error_free(err);
    }
    ui->dev_dir = g_strdup(cap_v4l2_dir(NULL));

    ui->window = gtk_application_window_new(app);
    gtk_window_set_title(GTK_WINDOW(ui->window), _("Smile Detector"));
    gtk_window_set_icon_name(GTK_WINDOW(ui->window), APP_ID);
    /* the content below the header bar: a 640x480 camera fills it 1:1 */
    gtk_window_set_default_size(GTK_WINDOW(ui->window), 640, 480);
    g_action_map_add_action_entries(G_ACTION_MAP(ui->window), win_actions,
                                    G_N_ELEMENTS(win_actions), ui);
    GAction *mirror = g_action_map_lookup_action(G_ACTION_MAP(ui->window), "mirror");
    g_simple_action_set_state(G_SIMPLE_ACTION(mirror), g_variant_new_boolean(ui->settings.mirror));
    ui->header = header_bar(ui);
    gtk_window_set_titlebar(GTK_WINDOW(ui->window), ui->header);

    GtkWidget *vbox = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
    ui->device_bar = info_bar(&ui->device_label, GTK_MESSAGE_WARNING, FALSE);
    ui->model_bar = info_bar(&ui->model_label, GTK_MESSAGE_INFO, TRUE);
    g_signal_connect(ui->model_bar, "response", G_CALLBACK(bar_response), NULL);
    gtk_box_pack_start(GTK_BOX(vbox), ui->device_bar, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(vbox), ui->model_bar, FALSE, FALSE, 0);

    GtkWidget *overlay = gtk_overlay_new();
    ui->stack = gtk_stack_new();
    gtk_stack_set_transition_type(GTK_STACK(ui->stack), GTK_STACK_TRANSITION_TYPE_CROSSFADE);
    ui->area = gtk_drawing_area_new();
    gtk_widget_set_size_request(ui->area, 320, 240);
    g_signal_connect(ui->area, "draw", G_CALLBACK(on_draw), ui);
    gtk_stack_add_named(GTK_STACK(ui->stack), empty_page(ui), "empty");
    gtk_stack_add_named(GTK_STACK(ui->stack), ui->area, "live");
    gtk_container_add(GTK_CONTAINER(overlay), ui->stack);
    gtk_overlay_add_overlay(GTK_OVERLAY(overlay), toast(ui));
    gtk_box_pack_start(GTK_BOX(vbox), overlay, TRUE, TRUE, 0);
    gtk_container_add(GTK_CONTAINER(ui->window), vbox);

    static const struct {
        const char *action;
        const char *accels[3];
    } accels[] = {
        {"win.snapshot", {"space", "<Primary>s", NULL}},
        {"win.record", {"<Primary>r", NULL, NULL}},
        {"win.mirror", {"<Primary>m", NULL, NULL}},
        {"win.open", {"<Primary>o", NULL, NULL}},
        {"win.preferences", {"<Primary>comma", NULL, NULL}},
        {"win.shortcuts", {"<Primary>question", "<Primary>F1", NULL}},
        {"win.fullscreen", {"F11", NULL, NULL}},
        {"app.quit", {"<Primary>q", NULL, NULL}},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(accels); i++)
        gtk_application_set_accels_for_action(app, accels[i].action, accels[i].accels);

    gtk_widget_show_all(ui->window);
    ui_log(ui, "window shown %.0f ms after start",
           (double)(g_get_monotonic_time() - ui->start_us) / 1000.0);
    gtk_stack_set_visible_child_name(GTK_STACK(ui->stack), "empty");
    gtk_widget_set_sensitive(ui->snap_button, FALSE);
    gtk_widget_set_sensitive(ui->record_button, FALSE);
    /* an uninstalled build still finds its icon */
    gtk_icon_theme_append_search_path(gtk_icon_theme_get_default(), SMILE_SOURCE_DATADIR);

    app_worker_config wc = {.model_path = app_model_path(opt->model), .verbose = opt->verbose};
    app_worker_callbacks cb = {.frame_ready = on_frame_ready, .event = on_event, .user = ui};
    ui->worker = app_worker_new(&wc, &cb);
    push_params(ui);

    if (opt->source) {
        gtk_label_set_text(GTK_LABEL(ui->empty_title), _("Opening the video…"));
        open_file(ui, opt->source);
    }
    ui->dir_stamp = cap_v4l2_dir_stamp(ui->dev_dir);
    start_listing(ui);
    ui->poll_timer = g_timeout_add_seconds(1, poll_devices, ui);
    if (opt->open_dialog)
        g_action_group_activate_action(G_ACTION_GROUP(ui->window), opt->open_dialog, NULL);
    if (opt->quit_after >= 0)
        ui->quit_timer = g_timeout_add((guint)(opt->quit_after * 1000), quit_timeout, ui);
    return ui;
}

void app_ui_free(app_ui *ui)
{
    if (!ui)
        return;
    if (ui->poll_timer)
        g_source_remove(ui->poll_timer);
    if (ui->quit_timer)
        g_source_remove(ui->quit_timer);
    if (ui->toast_timer)
        g_source_remove(ui->toast_timer);
    log_stats(ui);
    app_worker_free(ui->worker); /* bounded: one read timeout */
    ui->worker = NULL;
    ui->shown = NULL; /* it belonged to the worker's pool */
    if (ui->save_timer)
        g_source_remove(ui->save_timer);
    /* on the way out a direct write is fine */
    gsize len;
    char *data = app_settings_to_data(&ui->settings, &len);
    write_settings(ui->settings_path, data, len, ++ui->save_gen);
    g_free(data);
    app_settings_clear(&ui->settings);
    g_free(ui->settings_path);
    g_free(ui->cur_path);
    g_free(ui->file_path);
    g_free(ui->dev_dir);
    g_free(ui->toast_uri);
    g_clear_object(&ui->mode_menu);
    /* pending GTasks and events keep pointing at ui: it stays allocated */
}

/* app.h - the smile-detector application: options, the main window and the
 * dialogs. Everything here runs on the GTK (UI) thread; the worker
 * (worker.h) does the capture and the maths. */
#ifndef APP_H
#define APP_H

#include <gtk/gtk.h>

#include "overlay.h"
#include "settings.h"
#include "worker.h"

#define APP_ID "io.github.smile_detector.SmileDetector"

/* Command-line choices (see main.c). */
typedef struct {
    char *device;       /* --device */
    char *source;       /* --source FILE */
    char *model;        /* --model */
    double snapshot_after; /* test aid: seconds after the first frame; < 0 off */
    double record_for;     /* test aid: record this long from the first frame; < 0 off */
    double quit_after;     /* test aid: seconds after start; < 0 off */
    char *screenshot;      /* test aid: PNG of the drawing area once faces show */
    char *open_dialog;     /* test aid: "preferences", "shortcuts" or "about" */
    gboolean verbose;
    int64_t started_us;    /* g_get_monotonic_time() at main() */
} app_options;

typedef struct app_ui app_ui;

/* Builds and shows the main window for app. */
app_ui *app_ui_new(GtkApplication *app, const app_options *opt);
/* Stops the worker (bounded) and saves the settings; the window goes with the app. */
void app_ui_free(app_ui *ui);

/* The preferences dialog (prefs.c). changed() runs after every edit. */
GtkWidget *app_prefs_dialog_new(GtkWindow *parent, app_settings *s,
                                void (*changed)(void *user), void *user);
/* The keyboard shortcuts window (prefs.c). */
GtkWidget *app_shortcuts_window_new(GtkWindow *parent);

/* Attributes that let a wrapped label break lines only between words (CSS's
 * word-break: keep-all). Pango breaks Hangul between any two syllables, which
 * splits Korean words across lines. Add other attributes to the list; free it
 * with pango_attr_list_unref. */
PangoAttrList *app_keep_words_attrs(const char *text);

/* The model file the app loads: --model, else $SMILE_MODEL, else the
 * installed model if it exists, else the one in the source tree. */
const char *app_model_path(const char *option);

#endif

/* main.c - smile-detector: the GtkApplication, its command line and the
 * translation setup. */
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>

#include "app.h"

static app_options opts = {.snapshot_after = -1, .record_for = -1, .quit_after = -1};
static app_ui *the_ui;

const char *app_model_path(const char *option)
{
    if (option && *option)
        return option;
    const char *env = g_getenv("SMILE_MODEL");
    if (env && *env)
        return env;
    if (g_file_test(SMILE_INSTALLED_MODEL, G_FILE_TEST_EXISTS))
        return SMILE_INSTALLED_MODEL;
    return SMILE_SOURCE_MODEL;
}

static const GOptionEntry entries[] = {
    {"device", 'd', 0, G_OPTION_ARG_FILENAME, &opts.device,
     N_("Use this camera (a device such as /dev/video0, or its name)"), N_("DEVICE")},
    {"source", 's', 0, G_OPTION_ARG_FILENAME, &opts.source,
     N_("Play a recorded video instead of a camera"), N_("FILE")},
    {"model", 'm', 0, G_OPTION_ARG_FILENAME, &opts.model,
     N_("Score smiles with this model file (default: $SMILE_MODEL, then the installed model)"),
     N_("FILE")},
    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &opts.verbose,
     N_("Print state changes and frame counters on standard error"), NULL},
    {"snapshot-after", 0, 0, G_OPTION_ARG_DOUBLE, &opts.snapshot_after,
     N_("For testing: take a snapshot this many seconds after the first frame"), N_("SECONDS")},
    {"record-for", 0, 0, G_OPTION_ARG_DOUBLE, &opts.record_for,
     N_("For testing: record from the first frame for this many seconds"), N_("SECONDS")},
    {"quit-after", 0, 0, G_OPTION_ARG_DOUBLE, &opts.quit_after,
     N_("For testing: quit after this many seconds, printing frame counters"), N_("SECONDS")},
    {"screenshot", 0, 0, G_OPTION_ARG_FILENAME, &opts.screenshot,
     N_("For testing: write the live view as a PNG once faces are shown"), N_("FILE")},
    {"open-dialog", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opts.open_dialog,
     "For testing: open preferences, shortcuts or about at start", "NAME"},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};

static void on_activate(GtkApplication *app, gpointer data)
{
    (void)data;
    if (the_ui) {
        GList *w = gtk_application_get_windows(app);
        if (w)
            gtk_window_present(GTK_WINDOW(w->data));
        return;
    }
    the_ui = app_ui_new(app, &opts);
}

static void on_quit(GSimpleAction *a, GVariant *v, gpointer data)
{
    (void)a;
    (void)v;
    g_application_quit(G_APPLICATION(data));
}

/* Ctrl+C or a session's TERM: quit cleanly so settings and recordings are saved */
static gboolean on_signal(gpointer data)
{
    g_application_quit(G_APPLICATION(data));
    return G_SOURCE_CONTINUE;
}

static void on_startup(GtkApplication *app, gpointer data)
{
    (void)data;
    g_unix_signal_add(SIGTERM, on_signal, app);
    g_unix_signal_add(SIGINT, on_signal, app);
    static const GActionEntry app_actions[] = {{"quit", on_quit, NULL, NULL, NULL, {0}}};
    g_action_map_add_action_entries(G_ACTION_MAP(app), app_actions, 1, app);
    /* a dark canvas suits a live video view */
    g_object_set(gtk_settings_get_default(), "gtk-application-prefer-dark-theme", TRUE, NULL);
}

static void on_shutdown(GtkApplication *app, gpointer data)
{
    (void)app;
    (void)data;
    app_ui_free(the_ui); /* stops the worker before the windows go */
}

int main(int argc, char **argv)
{
    opts.started_us = g_get_monotonic_time();
    setlocale(LC_ALL, "");
    /* SMILE_LOCALEDIR lets an uninstalled build find its translations */
    const char *localedir = g_getenv("SMILE_LOCALEDIR");
    bindtextdomain(GETTEXT_PACKAGE, localedir && *localedir ? localedir : LOCALEDIR);
    bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
    textdomain(GETTEXT_PACKAGE);
    g_set_application_name(_("Smile Detector"));

    GtkApplication *app = gtk_application_new(APP_ID, G_APPLICATION_NON_UNIQUE);
    g_application_add_main_option_entries(G_APPLICATION(app), entries);
    g_application_set_option_context_parameter_string(G_APPLICATION(app), NULL);
    g_application_set_option_context_summary(
        G_APPLICATION(app),
        _("Shows a webcam with a live laughter score for every face.\n\n"
          "Environment: SMILE_MODEL (model file), SMILE_V4L2_DIR (where cameras are looked for)."));
    g_signal_connect(app, "startup", G_CALLBACK(on_startup), NULL);
    g_signal_connect(app, "activate", G_CALLBACK(on_activate), NULL);
    g_signal_connect(app, "shutdown", G_CALLBACK(on_shutdown), NULL);
    int status = g_application_run(G_APPLICATION(app), argc, argv);
    g_object_unref(app);
    g_free(the_ui);
    return status;
}

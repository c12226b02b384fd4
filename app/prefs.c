/* prefs.c - the Preferences dialog and the Keyboard Shortcuts window. */
#include <glib/gi18n.h>

#include "app.h"

typedef struct {
    app_settings *s;
    void (*changed)(void *user);
    void *user;
} prefs_ctx;

static void notify(prefs_ctx *p)
{
    p->changed(p->user);
}

static void on_switch(GObject *sw, GParamSpec *ps, prefs_ctx *p)
{
    (void)ps;
    gboolean *field = g_object_get_data(sw, "field");
    *field = gtk_switch_get_active(GTK_SWITCH(sw));
    notify(p);
}

static void on_threshold(GtkRange *r, prefs_ctx *p)
{
    p->s->threshold = gtk_range_get_value(r) / 100.0;
    notify(p);
}

static void on_hold(GtkRange *r, prefs_ctx *p)
{
    p->s->hold_s = gtk_range_get_value(r);
    notify(p);
}

static char *fmt_percent(GtkScale *s, double v, gpointer d)
{
    (void)s;
    (void)d;
    return g_strdup_printf("%.0f %%", v);
}

static char *fmt_seconds(GtkScale *s, double v, gpointer d)
{
    (void)s;
    (void)d;
    /* TRANSLATORS: a duration in seconds, e.g. "0.7 s" */
    return g_strdup_printf(_("%.1f s"), v);
}

/* A row: a title with a dimmed explanation under it, and a control. */
static void add_row(GtkGrid *grid, int row, const char *title, const char *hint, GtkWidget *ctl)
{
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
    GtkWidget *t = gtk_label_new(title);
    gtk_label_set_xalign(GTK_LABEL(t), 0);
    gtk_box_pack_start(GTK_BOX(box), t, FALSE, FALSE, 0);
    if (hint) {
        GtkWidget *h = gtk_label_new(hint);
        gtk_label_set_xalign(GTK_LABEL(h), 0);
        gtk_label_set_line_wrap(GTK_LABEL(h), TRUE);
        gtk_label_set_max_width_chars(GTK_LABEL(h), 44);
        gtk_style_context_add_class(gtk_widget_get_style_context(h), "dim-label");
        PangoAttrList *a = app_keep_words_attrs(hint);
        pango_attr_list_insert(a, pango_attr_scale_new(0.9));
        gtk_label_set_attributes(GTK_LABEL(h), a);
        pango_attr_list_unref(a);
        gtk_box_pack_start(GTK_BOX(box), h, FALSE, FALSE, 0);
    }
    gtk_widget_set_hexpand(box, TRUE);
    gtk_widget_set_valign(ctl, GTK_ALIGN_CENTER);
    gtk_grid_attach(grid, box, 0, row, 1, 1);
    gtk_grid_attach(grid, ctl, 1, row, 1, 1);
}

static GtkWidget *bool_switch(prefs_ctx *p, gboolean *field)
{
    GtkWidget *sw = gtk_switch_new();
    gtk_switch_set_active(GTK_SWITCH(sw), *field);
    gtk_widget_set_halign(sw, GTK_ALIGN_END);
    g_object_set_data(G_OBJECT(sw), "field", field);
    g_signal_connect(sw, "notify::active", G_CALLBACK(on_switch), p);
    return sw;
}

static GtkWidget *heading(const char *text)
{
    GtkWidget *l = gtk_label_new(text);
    gtk_label_set_xalign(GTK_LABEL(l), 0);
    PangoAttrList *a = pango_attr_list_new();
    pango_attr_list_insert(a, pango_attr_weight_new(PANGO_WEIGHT_BOLD));
    gtk_label_set_attributes(GTK_LABEL(l), a);
    pango_attr_list_unref(a);
    gtk_widget_set_margin_top(l, 6);
    return l;
}

GtkWidget *app_prefs_dialog_new(GtkWindow *parent, app_settings *s, void (*changed)(void *user),
                                void *user)
{
    prefs_ctx *p = g_new0(prefs_ctx, 1);
    p->s = s;
    p->changed = changed;
    p->user = user;
    GtkWidget *d = gtk_dialog_new_with_buttons(_("Preferences"), parent,
                                               GTK_DIALOG_DESTROY_WITH_PARENT |
                                                   GTK_DIALOG_USE_HEADER_BAR,
                                               NULL, NULL);
    g_object_set_data_full(G_OBJECT(d), "prefs-ctx", p, g_free);
    g_signal_connect(d, "response", G_CALLBACK(gtk_widget_destroy), NULL);
    gtk_window_set_default_size(GTK_WINDOW(d), 460, -1);
    GtkWidget *grid = gtk_grid_new();
    gtk_grid_set_row_spacing(GTK_GRID(grid), 14);
    gtk_grid_set_column_spacing(GTK_GRID(grid), 24);
    gtk_container_set_border_width(GTK_CONTAINER(grid), 18);
    int row = 0;

    gtk_grid_attach(GTK_GRID(grid), heading(_("View")), 0, row++, 2, 1);
    add_row(GTK_GRID(grid), row++, _("Mirror view"),
            _("Show the picture like a mirror, as most people expect of a selfie camera."),
            bool_switch(p, &s->mirror));

    gtk_grid_attach(GTK_GRID(grid), heading(_("Smile Shutter")), 0, row++, 2, 1);
    add_row(GTK_GRID(grid), row++, _("Take photos of smiles"),
            _("A snapshot is taken by itself when the main face laughs long enough."),
            bool_switch(p, &s->shutter));
    GtkWidget *thr = gtk_scale_new_with_range(GTK_ORIENTATION_HORIZONTAL, 30, 99, 1);
    gtk_range_set_value(GTK_RANGE(thr), s->threshold * 100);
    gtk_widget_set_size_request(thr, 180, -1);
    g_signal_connect(thr, "format-value", G_CALLBACK(fmt_percent), NULL);
    g_signal_connect(thr, "value-changed", G_CALLBACK(on_threshold), p);
    add_row(GTK_GRID(grid), row++, _("Laughter threshold"),
            _("How strong the laughter must be to take a photo."), thr);
    GtkWidget *hold = gtk_scale_new_with_range(GTK_ORIENTATION_HORIZONTAL, 0.2, 3.0, 0.1);
    gtk_range_set_value(GTK_RANGE(hold), s->hold_s);
    gtk_widget_set_size_request(hold, 180, -1);
    g_signal_connect(hold, "format-value", G_CALLBACK(fmt_seconds), NULL);
    g_signal_connect(hold, "value-changed", G_CALLBACK(on_hold), p);
    add_row(GTK_GRID(grid), row++, _("Hold time"),
            _("How long the laughter must last before the photo is taken."), hold);

    gtk_grid_attach(GTK_GRID(grid), heading(_("Snapshots")), 0, row++, 2, 1);
    add_row(GTK_GRID(grid), row++, _("Draw the overlay on snapshots"),
            _("Save face boxes and scores into the photo, not only the picture."),
            bool_switch(p, &s->overlay_in_snapshot));
    const char *pics = g_get_user_special_dir(G_USER_DIRECTORY_PICTURES);
    char *where = g_strdup_printf(_("Snapshots are saved in %s, videos in %s."),
                                  pics ? pics : g_get_home_dir(),
                                  g_get_user_special_dir(G_USER_DIRECTORY_VIDEOS)
                                      ? g_get_user_special_dir(G_USER_DIRECTORY_VIDEOS)
                                      : g_get_home_dir());
    GtkWidget *wl = gtk_label_new(where);
    g_free(where);
    gtk_label_set_xalign(GTK_LABEL(wl), 0);
    gtk_label_set_line_wrap(GTK_LABEL(wl), TRUE);
    gtk_label_set_max_width_chars(GTK_LABEL(wl), 50);
    gtk_style_context_add_class(gtk_widget_get_style_context(wl), "dim-label");
    gtk_grid_attach(GTK_GRID(grid), wl, 0, row++, 2, 1);

    gtk_container_add(GTK_CONTAINER(gtk_dialog_get_content_area(GTK_DIALOG(d))), grid);
    gtk_widget_show_all(d);
    return d;
}

static void add_shortcut(GtkWidget *group, const char *accel, const char *title)
{
    GtkWidget *s = g_object_new(GTK_TYPE_SHORTCUTS_SHORTCUT, "accelerator", accel, "title", title,
                                "visible", TRUE, NULL);
    gtk_container_add(GTK_CONTAINER(group), s);
}

GtkWidget *app_shortcuts_window_new(GtkWindow *parent)
{
    GtkWidget *win = g_object_new(GTK_TYPE_SHORTCUTS_WINDOW, "modal", TRUE, "transient-for",
                                  parent, NULL);
    GtkWidget *sec = g_object_new(GTK_TYPE_SHORTCUTS_SECTION, "section-name", "main",
                                  "max-height", 12, "visible", TRUE, NULL);
    GtkWidget *g1 = g_object_new(GTK_TYPE_SHORTCUTS_GROUP, "title", _("Camera"), "visible", TRUE,
                                 NULL);
    add_shortcut(g1, "space", _("Take a snapshot"));
    add_shortcut(g1, "<Primary>s", _("Take a snapshot"));
    add_shortcut(g1, "<Primary>r", _("Start or stop recording"));
    add_shortcut(g1, "<Primary>o", _("Open a video"));
    GtkWidget *g2 = g_object_new(GTK_TYPE_SHORTCUTS_GROUP, "title", _("View"), "visible", TRUE,
                                 NULL);
    add_shortcut(g2, "<Primary>m", _("Mirror the view"));
    add_shortcut(g2, "F11", _("Fullscreen"));
    GtkWidget *g3 = g_object_new(GTK_TYPE_SHORTCUTS_GROUP, "title", _("General"), "visible",
                                 TRUE, NULL);
    add_shortcut(g3, "<Primary>comma", _("Preferences"));
    add_shortcut(g3, "<Primary>question", _("Keyboard shortcuts"));
    add_shortcut(g3, "<Primary>q", _("Quit"));
    gtk_container_add(GTK_CONTAINER(sec), g1);
    gtk_container_add(GTK_CONTAINER(sec), g2);
    gtk_container_add(GTK_CONTAINER(sec), g3);
    gtk_container_add(GTK_CONTAINER(win), sec);
    return win;
}

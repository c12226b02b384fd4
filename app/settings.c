/* settings.c - see settings.h. */
#include "settings.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>

#define GROUP "smile-detector"

void app_settings_init(app_settings *s)
{
    s->camera_name = NULL;
    s->camera_path = NULL;
    s->width = 0;
    s->height = 0;
    s->format = NULL;
    s->mirror = TRUE;
    s->shutter = FALSE;
    s->threshold = 0.8;
    s->hold_s = 0.7;
    s->overlay_in_snapshot = FALSE;
}

void app_settings_clear(app_settings *s)
{
    g_free(s->camera_name);
    g_free(s->camera_path);
    g_free(s->format);
    app_settings_init(s);
}

char *app_settings_path(void)
{
    return g_build_filename(g_get_user_config_dir(), "smile-detector", "settings.ini", NULL);
}

static void load_string(GKeyFile *kf, const char *key, char **out)
{
    char *v = g_key_file_get_string(kf, GROUP, key, NULL);
    if (v && *v) {
        g_free(*out);
        *out = v;
    } else {
        g_free(v);
    }
}

static void load_bool(GKeyFile *kf, const char *key, gboolean *out)
{
    GError *e = NULL;
    gboolean v = g_key_file_get_boolean(kf, GROUP, key, &e);
    if (!e)
        *out = v;
    g_clear_error(&e);
}

static void load_double(GKeyFile *kf, const char *key, double lo, double hi, double *out)
{
    GError *e = NULL;
    double v = g_key_file_get_double(kf, GROUP, key, &e);
    if (!e && isfinite(v))
        *out = v < lo ? lo : v > hi ? hi : v;
    g_clear_error(&e);
}

static void load_int(GKeyFile *kf, const char *key, int lo, int hi, int *out)
{
    GError *e = NULL;
    int v = g_key_file_get_integer(kf, GROUP, key, &e);
    if (!e && v >= lo && v <= hi)
        *out = v;
    g_clear_error(&e);
}

gboolean app_settings_load(app_settings *s, const char *path, GError **err)
{
    GKeyFile *kf = g_key_file_new();
    GError *e = NULL;
    if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &e)) {
        gboolean missing = g_error_matches(e, G_FILE_ERROR, G_FILE_ERROR_NOENT);
        if (!missing)
            g_propagate_prefixed_error(err, e, "%s: ", path);
        else
            g_error_free(e);
        g_key_file_free(kf);
        return missing;
    }
    load_string(kf, "camera-name", &s->camera_name);
    load_string(kf, "camera-path", &s->camera_path);
    load_string(kf, "format", &s->format);
    load_int(kf, "width", 0, 16384, &s->width);
    load_int(kf, "height", 0, 16384, &s->height);
    load_bool(kf, "mirror", &s->mirror);
    load_bool(kf, "smile-shutter", &s->shutter);
    load_double(kf, "threshold", 0.05, 0.99, &s->threshold);
    load_double(kf, "hold-seconds", 0.1, 10, &s->hold_s);
    load_bool(kf, "overlay-in-snapshot", &s->overlay_in_snapshot);
    g_key_file_free(kf);
    return TRUE;
}

char *app_settings_to_data(const app_settings *s, gsize *len)
{
    GKeyFile *kf = g_key_file_new();
    if (s->camera_name)
        g_key_file_set_string(kf, GROUP, "camera-name", s->camera_name);
    if (s->camera_path)
        g_key_file_set_string(kf, GROUP, "camera-path", s->camera_path);
    if (s->format)
        g_key_file_set_string(kf, GROUP, "format", s->format);
    g_key_file_set_integer(kf, GROUP, "width", s->width);
    g_key_file_set_integer(kf, GROUP, "height", s->height);
    g_key_file_set_boolean(kf, GROUP, "mirror", s->mirror);
    g_key_file_set_boolean(kf, GROUP, "smile-shutter", s->shutter);
    g_key_file_set_double(kf, GROUP, "threshold", s->threshold);
    g_key_file_set_double(kf, GROUP, "hold-seconds", s->hold_s);
    g_key_file_set_boolean(kf, GROUP, "overlay-in-snapshot", s->overlay_in_snapshot);
    char *data = g_key_file_to_data(kf, len, NULL);
    g_key_file_free(kf);
    return data;
}

gboolean app_settings_write_data(const char *path, const char *data, gsize len, GError **err)
{
    char *dir = g_path_get_dirname(path);
    gboolean ok = g_mkdir_with_parents(dir, 0700) == 0;
    if (!ok)
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", dir,
                    g_strerror(errno));
    /* g_file_set_contents writes a temporary file and renames it over */
    if (ok)
        ok = g_file_set_contents(path, data, (gssize)len, err);
    g_free(dir);
    return ok;
}

gboolean app_settings_save(const app_settings *s, const char *path, GError **err)
{
    gsize len;
    char *data = app_settings_to_data(s, &len);
    gboolean ok = app_settings_write_data(path, data, len, err);
    g_free(data);
    return ok;
}

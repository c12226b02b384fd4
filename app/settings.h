/* settings.h - what the app remembers across runs, in a GKeyFile at
 * $XDG_CONFIG_HOME/smile-detector/settings.ini, written atomically.
 * The camera is remembered by its name (the V4L2 card), so it is found again
 * when it comes back on another /dev/videoN. */
#ifndef APP_SETTINGS_H
#define APP_SETTINGS_H

#include <glib.h>

typedef struct {
    char *camera_name;      /* card name; NULL: the first camera */
    char *camera_path;      /* last node it was on, a hint only */
    int width, height;      /* 0: the camera's default */
    char *format;           /* "MJPEG", "YUYV"; NULL: automatic */
    gboolean mirror;
    gboolean shutter;       /* smile shutter on */
    double threshold;       /* 0..1 */
    double hold_s;          /* how long the smile must last */
    gboolean overlay_in_snapshot;
} app_settings;

void app_settings_init(app_settings *s);   /* the defaults */
void app_settings_clear(app_settings *s);
/* The file's path, newly allocated. */
char *app_settings_path(void);
/* A missing file leaves the defaults and succeeds; a damaged one sets *err
 * (the defaults stay for what could not be read). */
gboolean app_settings_load(app_settings *s, const char *path, GError **err);
/* Creates the folder; writes through a temporary file and rename. */
gboolean app_settings_save(const app_settings *s, const char *path, GError **err);
/* The same in two steps, so the writing can happen off the UI thread:
 * the file's text (g_free it), then the atomic write of that text. */
char *app_settings_to_data(const app_settings *s, gsize *len);
gboolean app_settings_write_data(const char *path, const char *data, gsize len, GError **err);

#endif

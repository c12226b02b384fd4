/* test_app_units.c - the app's parts that need no display: settings files,
 * the smile shutter, the overlay's geometry and colours drawn with cairo,
 * and the choice of the main face. */
#include <cairo.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overlay.h"
#include "settings.h"
#include "shutter.h"

#include "../test_check.h"
static void test_settings(void)
{
    char *dir = g_dir_make_tmp("smile-settings-XXXXXX", NULL);
    char *path = g_build_filename(dir, "sub", "settings.ini", NULL);
    app_settings s, t;
    GError *err = NULL;

    /* a missing file is the defaults, and fine */
    app_settings_init(&s);
    CHECK(app_settings_load(&s, path, &err));
    CHECK(s.mirror && !s.shutter && fabs(s.threshold - 0.8) < 1e-9 && !s.camera_name);

    s.camera_name = g_strdup("HD Webcam C270");
    s.camera_path = g_strdup("/dev/video2");
    s.format = g_strdup("MJPG");
    s.width = 1280;
    s.height = 720;
    s.mirror = FALSE;
    s.shutter = TRUE;
    s.threshold = 0.65;
    s.hold_s = 1.5;
    s.overlay_in_snapshot = TRUE;
    CHECK(app_settings_save(&s, path, &err)); /* creates sub/ */
    app_settings_init(&t);
    CHECK(app_settings_load(&t, path, &err));
    CHECK(t.camera_name && !strcmp(t.camera_name, "HD Webcam C270"));
    CHECK(t.camera_path && !strcmp(t.camera_path, "/dev/video2"));
    CHECK(t.format && !strcmp(t.format, "MJPG"));
    CHECK(t.width == 1280 && t.height == 720);
    CHECK(!t.mirror && t.shutter && t.overlay_in_snapshot);
    CHECK(fabs(t.threshold - 0.65) < 1e-9 && fabs(t.hold_s - 1.5) < 1e-9);
    app_settings_clear(&t);

    /* the write left no temporary file behind */
    char *sub = g_path_get_dirname(path);
    GDir *d = g_dir_open(sub, 0, NULL);
    int files = 0;
    while (d && g_dir_read_name(d))
        files++;
    if (d)
        g_dir_close(d);
    CHECK(files == 1);

    /* out-of-range and junk values keep the defaults, valid ones still load */
    const char *junk = "[smile-detector]\nthreshold=7\nwidth=-3\nmirror=perhaps\nsmile-shutter=true\n";
    CHECK(g_file_set_contents(path, junk, -1, NULL));
    app_settings_init(&t);
    CHECK(app_settings_load(&t, path, &err));
    CHECK(fabs(t.threshold - 0.99) < 1e-9); /* clamped */
    CHECK(t.width == 0 && t.mirror && t.shutter);
    app_settings_clear(&t);

    /* a file that is not a key file at all: an error naming it, defaults kept */
    CHECK(g_file_set_contents(path, "\x01\x02 not ini [[[", -1, NULL));
    app_settings_init(&t);
    CHECK(!app_settings_load(&t, path, &err));
    CHECK(err && strstr(err->message, path));
    g_clear_error(&err);
    CHECK(t.mirror && fabs(t.threshold - 0.8) < 1e-9);
    app_settings_clear(&t);

    app_settings_clear(&s);
    g_unlink(path);
    g_rmdir(sub);
    g_rmdir(dir);
    g_free(sub);
    g_free(path);
    g_free(dir);
}

static void test_shutter(void)
{
    app_shutter sh;
    double p;
    app_shutter_init(&sh, 0.7, 0.7);
    /* below the threshold: never */
    for (int i = 0; i < 100; i++)
        CHECK(!app_shutter_update(&sh, i / 30.0, 0.5f, &p));
    /* above it: a shot only once it was held 0.7 s */
    double t0 = 10.0;
    int shots = 0;
    double shot_at = -1;
    for (int i = 0; i <= 60; i++) {
        double t = t0 + i / 30.0;
        if (app_shutter_update(&sh, t, 0.9f, &p)) {
            shots++;
            shot_at = t;
        }
        CHECK(p >= 0 && p <= 1);
    }
    CHECK(shots == 1);
    CHECK(shot_at >= t0 + 0.7 - 1e-9 && shot_at < t0 + 0.7 + 0.05);
    /* a dip shorter than the hold does not count as a smile, and a face that
     * leaves (negative score) resets the hold */
    app_shutter_init(&sh, 0.7, 0.7);
    CHECK(!app_shutter_update(&sh, 0.0, 0.9f, NULL));
    CHECK(!app_shutter_update(&sh, 0.5, -1.0f, NULL));
    CHECK(!app_shutter_update(&sh, 0.6, 0.9f, NULL));
    CHECK(!app_shutter_update(&sh, 1.2, 0.9f, NULL)); /* 0.6 s held */
    CHECK(app_shutter_update(&sh, 1.31, 0.9f, NULL));
    /* re-armed only after dropping below, and after the cooldown */
    CHECK(!app_shutter_update(&sh, 5.0, 0.9f, NULL));
    CHECK(!app_shutter_update(&sh, 5.1, 0.2f, NULL));
    CHECK(!app_shutter_update(&sh, 5.2, 0.9f, NULL));
    CHECK(app_shutter_update(&sh, 5.95, 0.9f, NULL));
}

static void test_pick_main(void)
{
    face_result f[3] = {{.w = 50, .h = 50}, {.w = 90, .h = 90, .missed = 2}, {.w = 70, .h = 70}};
    CHECK(app_frame_pick_main(f, 3) == 2); /* the largest one seen this frame */
    f[2].missed = 1;
    f[0].missed = 1;
    CHECK(app_frame_pick_main(f, 3) == 1); /* none seen: the largest */
    CHECK(app_frame_pick_main(f, 0) == -1);
}

static uint32_t pixel(cairo_surface_t *s, int x, int y)
{
    const uint8_t *d = cairo_image_surface_get_data(s);
    return ((const uint32_t *)(d + (size_t)y * cairo_image_surface_get_stride(s)))[x] & 0xffffff;
}

static int close_rgb(uint32_t px, const double rgb[3])
{
    int r = (px >> 16) & 255, g = (px >> 8) & 255, b = px & 255;
    return abs(r - (int)lrint(rgb[0] * 255)) < 12 && abs(g - (int)lrint(rgb[1] * 255)) < 12 &&
           abs(b - (int)lrint(rgb[2] * 255)) < 12;
}

static void test_overlay(void)
{
    double ox, oy, s;
    overlay_fit(800, 400, 640, 480, &ox, &oy, &s);
    CHECK(fabs(s - 400.0 / 480) < 1e-9 && oy == 0 && fabs(ox - (800 - 640 * s) / 2) < 1);
    overlay_fit(640, 480, 640, 480, &ox, &oy, &s);
    CHECK(s == 1 && ox == 0 && oy == 0);

    double lo[3], hi[3], none[3];
    overlay_score_color(0, lo);
    overlay_score_color(1, hi);
    overlay_score_color(-1, none);
    CHECK(lo[2] > lo[1]);              /* calm: blue */
    CHECK(hi[1] > hi[0] && hi[1] > hi[2]); /* laughing: green */
    CHECK(none[0] > 0.9 && none[2] < 0.3); /* no model: yellow */

    /* a mid-grey frame with one face at (100, 120, 160, 160) */
    app_frame f = {0};
    CHECK(app_frame_reserve(&f, 640, 480) == 0);
    for (size_t i = 0; i < (size_t)640 * 480; i++)
        f.pixels[i] = 0xff808080u;
    f.n_faces = 1;
    f.faces[0] = (face_result){.x = 100, .y = 120, .w = 160, .h = 160, .score = 0.9f,
                               .smoothed = 0.9f};
    f.main_face = 0;
    f.has_scores = 1;
    double x, y, w, h;
    overlay_face_rect(640, 480, &f, 0, 0, &x, &y, &w, &h);
    CHECK(x == 100 && y == 120 && w == 160 && h == 160);
    overlay_face_rect(640, 480, &f, 0, 1, &x, &y, &w, &h);
    CHECK(x == 640 - 100 - 160); /* mirrored */

    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 640, 480);
    cairo_t *cr = cairo_create(surf);
    overlay_hud hud;
    overlay_hud_defaults(&hud);
    hud.mirror = 0;
    overlay_draw(cr, 640, 480, &f, &hud);
    cairo_surface_flush(surf);
    double col[3];
    overlay_score_color(0.9f, col);
    CHECK(close_rgb(pixel(surf, 180, 120), col));  /* top edge of the box */
    CHECK(close_rgb(pixel(surf, 100, 200), col));  /* left edge */
    CHECK(pixel(surf, 180, 200) == 0x808080);      /* inside: the picture itself */
    CHECK(pixel(surf, 400, 300) == 0x808080);      /* far from overlays */

    /* mirrored view: the box moves to the other side */
    hud.mirror = 1;
    overlay_draw(cr, 640, 480, &f, &hud);
    cairo_surface_flush(surf);
    CHECK(close_rgb(pixel(surf, 380, 200), col));
    CHECK(!close_rgb(pixel(surf, 100, 200), col));

    /* a stopped source: the last picture dimmed, its old boxes gone */
    hud.mirror = 0;
    hud.stale = 1;
    overlay_draw(cr, 640, 480, &f, &hud);
    cairo_surface_flush(surf);
    CHECK(!close_rgb(pixel(surf, 100, 200), col));
    CHECK((pixel(surf, 400, 300) & 0xff) < 0x80 && (pixel(surf, 400, 300) & 0xff) > 0x20);
    hud.stale = 0;

    /* no model: yellow boxes */
    f.has_scores = 0;
    hud.mirror = 0;
    overlay_draw(cr, 640, 480, &f, &hud);
    cairo_surface_flush(surf);
    CHECK(close_rgb(pixel(surf, 100, 200), none));

    /* A track coasting through missed frames over a face seen this frame
     * (a face that jumped) keeps its faint outline but not its label and bar,
     * which would sit on the live face's; a coasting face alone keeps both. */
    f.has_scores = 1;
    f.n_faces = 3;
    f.faces[1] = (face_result){.x = 140, .y = 160, .w = 160, .h = 160, .score = 0.1f,
                               .smoothed = 0.1f, .missed = 2};
    f.faces[2] = (face_result){.x = 400, .y = 100, .w = 100, .h = 100, .score = 0.1f,
                               .smoothed = 0.1f, .missed = 2};
    overlay_draw(cr, 640, 480, &f, &hud);
    cairo_surface_flush(surf);
    CHECK(pixel(surf, 220, 330) == 0x808080); /* under face 1: no bar */
    CHECK(pixel(surf, 450, 208) != 0x808080); /* under face 2: its bar */
    CHECK(pixel(surf, 140, 240) != 0x808080); /* face 1's outline */
    f.n_faces = 1;

    /* a pre-mirrored picture drawn for a mirrored view is not flipped again */
    for (int yy = 0; yy < 480; yy++)
        for (int xx = 0; xx < 320; xx++)
            f.pixels[yy * 640 + xx] = 0xffff0000u; /* left half red */
    f.n_faces = 0;
    f.mirrored = 1;
    hud.mirror = 1;
    overlay_draw(cr, 640, 480, &f, &hud);
    cairo_surface_flush(surf);
    CHECK(pixel(surf, 300, 240) == 0xff0000);
    hud.mirror = 0; /* the unmirrored view flips it back */
    overlay_draw(cr, 640, 480, &f, &hud);
    cairo_surface_flush(surf);
    CHECK(pixel(surf, 300, 240) == 0x808080 && pixel(surf, 340, 240) == 0xff0000);

    /* letterboxed in a wider area: bars on the sides, picture centred */
    cairo_surface_t *wide = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1000, 480);
    cairo_t *cw = cairo_create(wide);
    overlay_draw(cw, 1000, 480, &f, &hud);
    cairo_surface_flush(wide);
    CHECK(pixel(wide, 10, 240) != 0x808080 && pixel(wide, 10, 240) != 0xff0000);
    CHECK(pixel(wide, 500, 240) == 0x808080 || pixel(wide, 500, 240) == 0xff0000);
    cairo_destroy(cw);
    cairo_surface_destroy(wide);

    cairo_destroy(cr);
    cairo_surface_destroy(surf);
    app_frame_clear(&f);
}

int main(void)
{
    test_settings();
    test_shutter();
    test_pick_main();
    test_overlay();
    if (test_failures) {
        fprintf(stderr, "%d checks failed\n", test_failures);
        return 1;
    }
    printf("app units: all checks passed\n");
    return 0;
}

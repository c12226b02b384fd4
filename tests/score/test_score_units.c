/* test_score_units.c - smile-score's pieces without the CLI: laughter events
 * with hysteresis on synthetic score sequences, the CSV/JSON row rules and
 * escaping, .partial-then-rename output files, and the bounded plot series. */
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "score_events.h"
#include "score_output.h"
#include "score_plot.h"
#include "test_helpers.h"

/* Runs a sequence at 10 frames/s; returns the number of events. */
static int run(const float *v, int n, float on, float off, sev_event *ev, int max) {
    sev_detector d;
    sev_init(&d, on, off);
    int k = 0;
    sev_event e;
    for (int i = 0; i < n; i++)
        if (sev_push(&d, i * 0.1, v[i], &e) && k < max) ev[k++] = e;
    if (sev_finish(&d, n * 0.1, &e) && k < max) ev[k++] = e;
    return k;
}

static void test_events(void) {
    sev_event ev[8];
    /* A score hovering around 0.5: without hysteresis three events, with it one. */
    const float hover[] = {0.1f, 0.2f, 0.55f, 0.48f, 0.52f, 0.47f, 0.6f, 0.9f, 0.7f, 0.3f, 0.1f};
    int n = (int)(sizeof(hover) / sizeof(hover[0]));
    CHECKF(run(hover, n, 0.5f, 0.5f, ev, 8) == 3, "no hysteresis: %d events",
          run(hover, n, 0.5f, 0.5f, ev, 8));
    int k = run(hover, n, 0.5f, 0.4f, ev, 8);
    CHECKF(k == 1, "hysteresis: %d events", k);
    if (k == 1) {
        CHECKF(fabs(ev[0].start_s - 0.2) < 1e-9, "start %g", ev[0].start_s);
        CHECKF(fabs(ev[0].end_s - 0.9) < 1e-9, "end %g (first frame below off)", ev[0].end_s);
        CHECKF(fabsf(ev[0].peak - 0.9f) < 1e-6f && fabs(ev[0].peak_s - 0.7) < 1e-9, "peak %g at %g",
              ev[0].peak, ev[0].peak_s);
    }
    /* Two laughs separated by a real drop are two events. */
    const float two[] = {0.9f, 0.8f, 0.2f, 0.1f, 0.7f, 0.95f, 0.6f, 0.2f};
    k = run(two, 8, 0.5f, 0.4f, ev, 8);
    CHECKF(k == 2, "two laughs: %d", k);
    if (k == 2) {
        CHECKF(fabs(ev[0].start_s) < 1e-9 && fabs(ev[0].end_s - 0.2) < 1e-9, "first %g-%g",
              ev[0].start_s, ev[0].end_s);
        CHECKF(fabs(ev[1].start_s - 0.4) < 1e-9 && fabs(ev[1].peak_s - 0.5) < 1e-9, "second %g peak at %g",
              ev[1].start_s, ev[1].peak_s);
    }
    /* Still open at the end: closed at the end time. */
    const float tail[] = {0.1f, 0.6f, 0.7f};
    k = run(tail, 3, 0.5f, 0.4f, ev, 8);
    CHECKF(k == 1 && fabs(ev[0].end_s - 0.3) < 1e-9, "open event: %d, end %g", k, k ? ev[0].end_s : -1);
    /* Never above: none. Exactly at the threshold: one. */
    const float low[] = {0.1f, 0.49f, 0.3f};
    CHECKF(run(low, 3, 0.5f, 0.4f, ev, 8) == 0, "low");
    const float at[] = {0.5f};
    CHECKF(run(at, 1, 0.5f, 0.4f, ev, 8) == 1, "at threshold");
    /* off above on is clamped to on */
    sev_detector d;
    sev_init(&d, 0.5f, 0.9f);
    CHECKF(d.off == 0.5f, "off clamp %g", d.off);
}

static char *slurp(const char *path) {
    size_t n;
    uint8_t *b = test_read_file(path, &n);
    if (!b) return NULL;
    char *s = realloc(b, n + 1);
    if (s) s[n] = 0;
    return s;
}

static void test_rows(const char *dir) {
    char p[400];
    snprintf(p, sizeof(p), "%s/rows.csv", dir);
    so_file f;
    char err[256];
    CHECKF(so_open(&f, p, err, sizeof(err)) == 0, "%s", err);
    struct stat sb;
    CHECKF(stat(p, &sb) != 0, "final name exists while writing");
    so_csv_header(f.fp);
    so_row face = {"clip, \"one\".avi", 7, 0.2333, 2, 10.4f, 20.6f, 30, 40, 0.25f, 0.5f};
    so_row none = {"b.jpg", 0, 0, -1, 0, 0, 0, 0, 0, 0};
    so_csv_row(f.fp, &face);
    so_csv_row(f.fp, &none);
    char partial[420];
    snprintf(partial, sizeof(partial), "%s.partial", p);
    fflush(f.fp);
    CHECKF(stat(partial, &sb) == 0 && sb.st_size > 0, "rows are in %s as they go", partial);
    CHECKF(so_finish(&f, err, sizeof(err)) == 0, "%s", err);
    CHECKF(stat(partial, &sb) != 0, "partial left after finish");
    char *s = slurp(p);
    CHECKF(s != NULL, "read %s", p);
    if (s) {
        const char *want = SO_CSV_HEADER "\n"
                           "\"clip, \"\"one\"\".avi\",7,0.2333,2,10,21,30,40,0.2500,0.5000\n"
                           "b.jpg,0,0.0000,-1,,,,,,\n";
        CHECKF(strcmp(s, want) == 0, "csv was:\n%s\nwant:\n%s", s, want);
        free(s);
    }
    CHECKF(strcmp(SO_CSV_HEADER, "source,frame,time_s,face,x,y,w,h,score,smoothed") == 0, "header");

    snprintf(p, sizeof(p), "%s/rows.jsonl", dir);
    CHECKF(so_open(&f, p, err, sizeof(err)) == 0, "%s", err);
    so_row odd = {"a\\b\"c\n", 3, 1.5, 0, 1, 2, 3, 4, 0.125f, 0.25f};
    so_json_row(f.fp, &odd);
    so_json_row(f.fp, &none);
    CHECKF(so_finish(&f, err, sizeof(err)) == 0, "%s", err);
    s = slurp(p);
    if (s) {
        const char *want =
            "{\"source\":\"a\\\\b\\\"c\\n\",\"frame\":3,\"time_s\":1.5000,\"face\":0,\"x\":1,\"y\":2,"
            "\"w\":3,\"h\":4,\"score\":0.1250,\"smoothed\":0.2500}\n"
            "{\"source\":\"b.jpg\",\"frame\":0,\"time_s\":0.0000,\"face\":-1,\"x\":null,\"y\":null,"
            "\"w\":null,\"h\":null,\"score\":null,\"smoothed\":null}\n";
        CHECKF(strcmp(s, want) == 0, "json was:\n%s\nwant:\n%s", s, want);
        free(s);
    }
    CHECKF(so_open(&f, "/nonexistent-dir/out.csv", err, sizeof(err)) != 0 &&
              strstr(err, "/nonexistent-dir/out.csv"),
          "bad path: %s", err);
}

static void test_plot(const char *dir) {
    sp_series *s = sp_new("synthetic");
    CHECKF(s != NULL, "sp_new");
    if (!s) return;
    /* 100 000 points: the series stays bounded and still spans the whole time */
    for (int i = 0; i < 100000; i++)
        sp_add(s, i / 30.0, i % 2, 0.5f + 0.4f * sinf(i / 50.0f));
    CHECKF(sp_points(s) <= SP_MAX_POINTS && sp_points(s) >= SP_MAX_POINTS / 4, "points %zu",
          sp_points(s));
    sp_event(s, 10, 20);
    char p[400], err[256];
    snprintf(p, sizeof(p), "%s/plot.png", dir);
    sp_series *list[1] = {s};
    CHECKF(sp_write_png(p, list, 1, 0.5f, err, sizeof(err)) == 0, "%s", err);
    size_t n;
    uint8_t *b = test_read_file(p, &n);
    CHECKF(b && n > 1000 && memcmp(b, "\x89PNG", 4) == 0, "png %zu bytes", n);
    free(b);
    img_image im = {0};
    CHECKF(img_load(p, 3, &im, err, sizeof(err)) == IMG_OK && im.width == 1000, "%s", err);
    if (im.pixels) img_image_free(&im);
    sp_free(s);
}

int main(void) {
    char *dir = test_tmpdir();
    if (!dir) return 1;
    test_events();
    test_rows(dir);
    test_plot(dir);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    sp_shutdown();
    return test_done("score-units");
}

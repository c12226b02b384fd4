/* test_cli.c - smile-score end to end (argv[1] is the executable), with a
 * randomly initialised model saved here (scores are arbitrary; the rules
 * about rows, exit codes and robustness are what is checked):
 *  - usage errors exit 2;
 *  - a no-face picture gives one row with face -1 and empty fields;
 *  - a synthetic MJPEG AVI with one damaged frame: reported, skipped, the
 *    others scored; its truncated copy gives the frames before the cut;
 *  - an unreadable input is reported by name, exit 1, the others still run;
 *  - --json writes JSON Lines objects with every key, the same rows as CSV;
 *  - --annotate writes a readable AVI, --plot a PNG;
 *  - with SMILE_DATASETS: real faces in photos (smoothed == score, face
 *    0..n-1) and a 200-frame video of them, cut into 60-frame segments,
 *    scored identically with 1 and 3 threads (segment stitching does not
 *    depend on the thread count);
 *  - with SMILE_VIDEOS: SIGINT mid-run exits 130 and keeps the rows so far;
 *    the H.264 video through FFmpeg gives a row for each of its 1800 frames;
 *  - pictures FFmpeg decodes (BMP here) are photos, found in folders, and
 *    so are HEIC photos turned by their own orientation;
 *  - a video stored on its side with a display matrix, as phones film,
 *    is scored upright: the same face box and score as the upright file. */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "avi_writer.h"
#include "frame_source.h"
#include "nn.h"
#include "test_helpers.h"
#ifdef SMILE_HAVE_FFMPEG
#include "mov_fixture.h"
#endif
#ifdef SMILE_HAVE_HEIF
#include "../heif_fixture.h"
#endif

static const char *exe;
static int g_skipped; /* a part needed shared data that is absent */
static char dir[300];

static const char *g_interrupt_when; /* SIGINT once this file has grown past 2 KiB */

/* Runs exe with args; stdout/stderr to files; returns the exit code
 * (or 128+signal). interrupt != 0: SIGINT once g_interrupt_when has rows. */
static int run_ex(const char *out, const char *errf, int interrupt, char *const *args) {
    char *argv[64];
    int n = 0;
    argv[n++] = (char *)exe;
    for (; args[n - 1] && n < 63; n++) argv[n] = args[n - 1];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0) _exit(126);
        dup2(fo, 1);
        dup2(fe, 2);
        execv(exe, argv);
        _exit(127);
    }
    if (pid < 0) return -1;
    if (interrupt) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        for (int i = 0; i < 6000; i++) { /* up to 2 minutes */
            struct stat sb;
            if (stat(g_interrupt_when, &sb) == 0 && sb.st_size > 2048) break;
            if (waitpid(pid, NULL, WNOHANG) == pid) return -2; /* finished too early */
            nanosleep(&ts, NULL);
        }
        kill(pid, SIGINT);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0) return -1;
    /* A sanitizer's exit code (1) would pass for "damaged input": read stderr too. */
    size_t en;
    uint8_t *e = test_read_file(errf, &en);
    if (e) {
        char *z = realloc(e, en + 1);
        if (z) {
            z[en] = 0;
            CHECKF(!strstr(z, "Sanitizer") && !strstr(z, "runtime error"), "%s", z);
            e = (uint8_t *)z;
        }
        free(e);
    }
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

#define RUN(out, err, ...) run_ex(out, err, 0, (char *const[]){__VA_ARGS__, NULL})

static char *slurp(const char *path) {
    size_t n;
    uint8_t *b = test_read_file(path, &n);
    if (!b) return NULL;
    char *s = realloc(b, n + 1);
    if (s) s[n] = 0;
    return s;
}

static void P(char *out, const char *name) { snprintf(out, 400, "%s/%s", dir, name); }

/* ---------------------------------------------------------------- CSV rows */

typedef struct {
    char source[256];
    long frame;
    double t;
    int face;
    int empty; /* box and scores empty */
    double x, y, w, h, score, smoothed;
} row;

/* Splits one CSV line (no quoted fields in our test names). */
static int parse_row(const char *line, row *r) {
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", line);
    char *f[16];
    int n = 0;
    char *p = buf;
    f[n++] = p;
    for (; *p && n < 16; p++)
        if (*p == ',') {
            *p = 0;
            f[n++] = p + 1;
        }
    if (n != 10) return -1;
    memset(r, 0, sizeof(*r));
    snprintf(r->source, sizeof(r->source), "%.255s", f[0]);
    r->frame = strtol(f[1], NULL, 10);
    r->t = strtod(f[2], NULL);
    r->face = (int)strtol(f[3], NULL, 10);
    r->empty = 1;
    for (int i = 4; i < 10; i++)
        if (f[i][0]) r->empty = 0;
    if (!r->empty)
        for (int i = 4; i < 10; i++)
            if (!f[i][0]) return -1; /* all or nothing */
    r->x = strtod(f[4], NULL), r->y = strtod(f[5], NULL), r->w = strtod(f[6], NULL);
    r->h = strtod(f[7], NULL), r->score = strtod(f[8], NULL), r->smoothed = strtod(f[9], NULL);
    return 0;
}

/* Reads the CSV: checks the header, returns rows (malloc'd) and count. */
static row *read_csv(const char *path, int *n_out) {
    *n_out = 0;
    char *s = slurp(path);
    CHECKF(s != NULL, "no CSV at %s", path);
    if (!s) return NULL;
    const char *hdr = "source,frame,time_s,face,x,y,w,h,score,smoothed\n";
    CHECKF(strncmp(s, hdr, strlen(hdr)) == 0, "CSV header: %.60s", s);
    int cap = 64, n = 0;
    row *rows = malloc(sizeof(row) * cap);
    char *save = NULL;
    char *line = strtok_r(s + strlen(hdr), "\n", &save);
    for (; line; line = strtok_r(NULL, "\n", &save)) {
        if (n == cap) rows = realloc(rows, sizeof(row) * (cap *= 2));
        CHECKF(parse_row(line, &rows[n]) == 0, "bad CSV row: %s", line);
        n++;
    }
    free(s);
    *n_out = n;
    return rows;
}

static int ends_with(const char *s, const char *tail) {
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && strcmp(s + a - b, tail) == 0;
}

/* ---------------------------------------------------------------- JSON Lines */

/* A minimal parser for one flat JSON object of strings, numbers and null. */
static const char *skip_ws(const char *p) {
    while (*p == ' ' || *p == '\t') p++;
    return p;
}
static const char *json_string(const char *p) {
    if (*p != '"') return NULL;
    for (p++; *p && *p != '"'; p++)
        if (*p == '\\') {
            p++;
            if (!*p) return NULL;
        }
    return *p == '"' ? p + 1 : NULL;
}
static int json_object_keys(const char *line, char keys[][16], int max) {
    const char *p = skip_ws(line);
    if (*p++ != '{') return -1;
    int n = 0;
    for (;;) {
        p = skip_ws(p);
        const char *k0 = p;
        p = json_string(p);
        if (!p || n >= max) return -1;
        snprintf(keys[n++], 16, "%.*s", (int)(p - k0 - 2), k0 + 1);
        p = skip_ws(p);
        if (*p++ != ':') return -1;
        p = skip_ws(p);
        if (*p == '"') p = json_string(p);
        else if (strncmp(p, "null", 4) == 0) p += 4;
        else {
            char *end;
            strtod(p, &end);
            if (end == p) return -1;
            p = end;
        }
        if (!p) return -1;
        p = skip_ws(p);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '}') return *skip_ws(p + 1) == 0 ? n : -1;
        return -1;
    }
}

static void check_jsonl(const char *path, int want_lines) {
    char *s = slurp(path);
    CHECKF(s != NULL, "no JSON at %s", path);
    if (!s) return;
    static const char *want[] = {"source", "frame", "time_s", "face", "x",
                                 "y",      "w",     "h",      "score", "smoothed"};
    int n = 0;
    char *save = NULL;
    for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
        char keys[16][16];
        int k = json_object_keys(line, keys, 16);
        CHECKF(k == 10, "JSON line %d does not parse as the 10-key object: %s", n, line);
        for (int i = 0; i < 10 && k == 10; i++) CHECKF(strcmp(keys[i], want[i]) == 0, "key %s", keys[i]);
    }
    CHECKF(n == want_lines, "%d JSON lines, want %d", n, want_lines);
    free(s);
}

/* ---------------------------------------------------------------- inputs */

static int make_model(const char *path) {
    nn_net *net = NULL;
    nn_error e;
    if (nn_net_builtin("smilenet", 1, &net, &e) != NN_OK &&
        nn_net_builtin("seed", 1, &net, &e) != NN_OK) {
        fprintf(stderr, "model: %s\n", e.msg);
        return -1;
    }
    nn_net_init_params(net, 7);
    nn_status st = nn_net_save(net, path, &e);
    if (st != NN_OK) fprintf(stderr, "model: %s\n", e.msg);
    nn_net_free(net);
    return st == NN_OK ? 0 : -1;
}

/* 12 frames of 160x120, frame 5 damaged; returns the file size. */
static size_t make_clip(const char *path, size_t *cut_at) {
    char err[256];
    cap_status st;
    cap_avi_writer *w = cap_avi_writer_new(path, 160, 120, 30, &st, err, sizeof(err));
    if (!w) return 0;
    cap_avi_writer_allow_damaged(w, 1);
    size_t total = 224;
    for (int k = 0; k < 12; k++) {
        size_t n;
        uint8_t *j = test_jpeg_frame(k, 160, 120, &n);
        if (k == 5) memset(j, 0x55, 4); /* no SOI: damaged */
        cap_avi_writer_add(w, j, n);
        if (k == 8) *cut_at = total + 8 + n / 2; /* cut inside frame 8 */
        total += 8 + n + (n & 1);
        free(j);
    }
    cap_avi_writer_close(w, err, sizeof(err));
    return total;
}

static void test_usage(void) {
    char out[400], err[400];
    P(out, "u.out");
    P(err, "u.err");
    CHECKF(run_ex(out, err, 0, (char *const[]){NULL}) == 2, "no input");
    CHECKF(RUN(out, err, "--bogus", "x.jpg") == 2, "unknown option");
    CHECKF(RUN(out, err, "--threshold", "2", "x.jpg") == 2, "threshold 2");
    CHECKF(RUN(out, err, "--threshold", "abc", "x.jpg") == 2, "threshold abc");
    CHECKF(RUN(out, err, "--threads", "0", "x.jpg") == 2, "threads 0");
    CHECKF(RUN(out, err, "--min-face", "-5", "x.jpg") == 2, "min-face -5");
    CHECKF(RUN(out, err, "--csv") == 2, "missing value");
    CHECKF(RUN(out, err, "--model", "/nonexistent/m.nnm", "x.jpg") == 2, "missing model");
    char *e = slurp(err);
    CHECKF(e && strstr(e, "/nonexistent/m.nnm"), "model error names the file: %s", e ? e : "");
    /* the user gave --model: telling them to pass --model is noise */
    CHECKF(e && !strstr(e, "pass --model"), "an explicit --model got the generic hint: %s", e ? e : "");
    free(e);
    CHECKF(RUN(out, err, "--help") == 0, "--help");
    char *o = slurp(out);
    CHECKF(o && strstr(o, "--min-face") && strstr(o, "(30)"), "help documents --min-face default");
    free(o);
}

static void test_main_run(const char *model) {
    char out[400], err[400], csv[400], json[400], clip[400], cut[400], still[400];
    char nojpg[400], missing[400], ann[400], plot[400];
    P(out, "m.out"), P(err, "m.err"), P(csv, "m.csv"), P(json, "m.jsonl");
    P(clip, "clip.avi"), P(cut, "clip-cut.avi"), P(still, "noface.png"), P(nojpg, "noface.jpg");
    P(missing, "missing.avi"), P(ann, "ann.avi"), P(plot, "plot.png");
    /* inputs */
    uint8_t grey[80 * 60];
    for (int i = 0; i < 80 * 60; i++) grey[i] = (uint8_t)(i % 80 * 3);
    char e2[256];
    CHECKF(img_save(still, grey, 80, 60, 80, 1, e2, sizeof(e2)) == IMG_OK, "%s", e2);
    CHECKF(img_save(nojpg, grey, 80, 60, 80, 1, e2, sizeof(e2)) == IMG_OK, "%s", e2);
    size_t cut_at = 0;
    size_t clip_size = make_clip(clip, &cut_at);
    CHECKF(clip_size > 0 && cut_at > 0, "clip");
    size_t n;
    uint8_t *all = test_read_file(clip, &n);
    CHECKF(all && test_write_file(cut, all, cut_at) == 0, "cut copy");
    free(all);

    int rc = RUN(out, err, "--model", (char *)model, "--csv", csv, "--json", json, "--summary",
                 "--annotate", dir, "--plot", plot, "--threads", "2", still, clip, missing, cut,
                 nojpg);
    CHECKF(rc == 1, "exit %d, want 1 (missing and damaged inputs)", rc);
    char *e = slurp(err);
    CHECKF(e && strstr(e, "missing.avi"), "missing input not named: %s", e ? e : "");
    CHECKF(e && strstr(e, "frame 5"), "damaged frame 5 not reported: %s", e ? e : "");
    CHECKF(e && strstr(e, "truncated"), "truncation not reported: %s", e ? e : "");
    free(e);
    char *so = slurp(out);
    CHECKF(so && strstr(so, "UNREADABLE") && strstr(so, "laughter events"), "summary: %s",
          so ? so : "");
    CHECKF(so && strstr(so, "frames 11, ") && strstr(so, "damaged 1"), "clip summary: %s",
          so ? so : "");
    free(so);

    int nr;
    row *r = read_csv(csv, &nr);
    int n_still = 0, n_clip = 0, n_cut = 0, n_jpg = 0, ok_order = 1;
    long last_frame = -1;
    for (int i = 0; i < nr; i++) {
        if (ends_with(r[i].source, "noface.png") || ends_with(r[i].source, "noface.jpg")) {
            if (ends_with(r[i].source, "png")) n_still++;
            else n_jpg++;
            CHECKF(r[i].face == -1 && r[i].empty && r[i].frame == 0, "no-face still row: face %d",
                  r[i].face);
        } else if (ends_with(r[i].source, "clip.avi") || ends_with(r[i].source, "clip-cut.avi")) {
            int is_cut = ends_with(r[i].source, "clip-cut.avi");
            if (is_cut) n_cut++;
            else n_clip++;
            CHECKF(r[i].frame != 5, "damaged frame 5 has a row");
            CHECKF(fabs(r[i].t - r[i].frame / 30.0) < 1e-3, "time %g for frame %ld", r[i].t, r[i].frame);
            if (r[i].frame <= last_frame && r[i].face <= 0 && r[i].frame != 0) ok_order = 0;
            last_frame = r[i].frame;
            CHECKF(r[i].face == -1 ? r[i].empty : !r[i].empty, "row rule face %d", r[i].face);
        } else {
            CHECKF(0, "row for unexpected source %s", r[i].source);
        }
    }
    CHECKF(ok_order, "frames out of order");
    CHECKF(n_still == 1 && n_jpg == 1, "still rows %d %d", n_still, n_jpg);
    CHECKF(n_clip >= 11, "clip rows %d (11 frames)", n_clip);
    CHECKF(n_cut >= 7, "cut rows %d (frames 0-7 minus the damaged one)", n_cut);
    /* input order is kept: png, clip, cut, jpg */
    CHECKF(nr > 0 && ends_with(r[0].source, "noface.png") && ends_with(r[nr - 1].source, "noface.jpg"),
          "input order");
    free(r);
    check_jsonl(json, nr);
    /* annotated videos, one per input, in the folder */
    char a[400];
    P(a, "clip.avi.avi");
    cap_status st;
    char e3[256];
    cap_source *s = cap_file_open(a, &st, e3, sizeof(e3));
    CHECKF(s != NULL, "annotated AVI: %s", e3);
    if (s) {
        int k = 0;
        cap_frame f;
        while ((st = cap_source_read(s, &f, 0)) == CAP_OK) {
            CHECKF(f.width == 160 && f.height == 120, "annotated size %dx%d", f.width, f.height);
            k++;
        }
        CHECKF(st == CAP_EOF && k == 11, "annotated frames %d", k);
        cap_source_free(s);
    }
    size_t pn;
    uint8_t *pb = test_read_file(plot, &pn);
    CHECKF(pb && pn > 100 && memcmp(pb, "\x89PNG", 4) == 0, "plot");
    free(pb);
    struct stat sb;
    char partial[420];
    snprintf(partial, sizeof(partial), "%s.partial", csv);
    CHECKF(stat(partial, &sb) != 0, "partial left behind");

    /* all good inputs: exit 0; CSV to stdout by default */
    rc = RUN(out, err, "--model", (char *)model, still, nojpg);
    CHECKF(rc == 0, "good inputs exit %d", rc);
    char *o = slurp(out);
    CHECKF(o && strncmp(o, "source,frame,time_s,face,x,y,w,h,score,smoothed\n", 48) == 0,
          "default CSV on stdout: %.80s", o ? o : "");
    free(o);
    /* a folder: walked recursively, sorted, non-media files ignored */
    char sub[400], f1[512], f2[512], txt[512];
    P(sub, "tree");
    mkdir(sub, 0755);
    snprintf(f1, sizeof(f1), "%s/b.png", sub);
    snprintf(txt, sizeof(txt), "%s/notes.txt", sub);
    char deeper[420];
    snprintf(deeper, sizeof(deeper), "%s/a", sub);
    mkdir(deeper, 0755);
    snprintf(f2, sizeof(f2), "%s/a/z.jpg", sub);
    img_save(f1, grey, 80, 60, 80, 1, e2, sizeof(e2));
    img_save(f2, grey, 80, 60, 80, 1, e2, sizeof(e2));
    test_write_file(txt, "hi", 2);
    rc = RUN(csv, err, "--model", (char *)model, "--csv", "-", sub);
    CHECKF(rc == 0, "folder exit %d", rc);
    r = read_csv(csv, &nr);
    CHECKF(nr == 2 && ends_with(r[0].source, "a/z.jpg") && ends_with(r[1].source, "b.png"),
          "folder walk order (%d rows)", nr);
    free(r);
}

/* ---------------------------------------------------------------- real faces */

static int list_images(const char *d, char names[][512], int max) {
    DIR *dp = opendir(d);
    if (!dp) return 0;
    int n = 0;
    struct dirent *e;
    char tmp[512];
    while ((e = readdir(dp)) && n < 4 * max)
        if (ends_with(e->d_name, ".jpg") && n < max) {
            snprintf(names[n++], 512, "%.250s/%.250s", d, e->d_name);
        }
    closedir(dp);
    /* sort for repeatability */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(names[i], names[j]) > 0) {
                memcpy(tmp, names[i], 512);
                memcpy(names[i], names[j], 512);
                memcpy(names[j], tmp, 512);
            }
    return n;
}

static void test_faces(const char *model) {
    const char *ds = getenv("SMILE_DATASETS");
    char d[512];
    snprintf(d, sizeof(d), "%s/lfw-expressions/happiness", ds ? ds : "");
    static char names[8][512];
    int n = ds ? list_images(d, names, 8) : 0;
    if (n < 4) {
        fprintf(stderr, "note: %s absent, real-face checks skipped\n", d);
        g_skipped = 1;
        return;
    }
    char out[400], err[400], csv[400], csv1[400], csv3[400], vid[400];
    P(out, "f.out"), P(err, "f.err"), P(csv, "f.csv"), P(csv1, "f1.csv"), P(csv3, "f3.csv");
    P(vid, "faces.avi");
    int rc = RUN(out, err, "--model", (char *)model, "--csv", csv, names[0], names[1], names[2],
                 names[3]);
    CHECKF(rc == 0, "photos exit %d", rc);
    int nr;
    row *r = read_csv(csv, &nr);
    int faces = 0;
    for (int i = 0; i < nr; i++) {
        if (r[i].face < 0) continue;
        faces++;
        CHECKF(fabs(r[i].score - r[i].smoothed) < 1e-9, "still smoothed %g != score %g",
              r[i].smoothed, r[i].score);
        CHECKF(r[i].score >= 0 && r[i].score <= 1, "score %g", r[i].score);
        CHECKF(r[i].x >= 0 && r[i].y >= 0 && r[i].x + r[i].w <= 250 && r[i].y + r[i].h <= 250 &&
                  r[i].w >= 30,
              "box %g %g %g %g outside the 250x250 photo", r[i].x, r[i].y, r[i].w, r[i].h);
        /* face index within its photo: 0, 1, ... */
        if (i > 0 && strcmp(r[i - 1].source, r[i].source) == 0 && r[i - 1].face >= 0)
            CHECKF(r[i].face == r[i - 1].face + 1, "face index %d after %d", r[i].face, r[i - 1].face);
        else
            CHECKF(r[i].face == 0, "first face index %d", r[i].face);
    }
    CHECKF(faces >= 2, "only %d faces found in 4 LFW photos", faces);
    free(r);

    /* 200 frames cut into 60-frame segments (3 borders): each photo held 25 frames */
    setenv("SMILE_SCORE_SEGMENT_FRAMES", "60", 1);
    char e2[256];
    cap_status st;
    cap_avi_writer *w = cap_avi_writer_new(vid, 250, 250, 25, &st, e2, sizeof(e2));
    CHECKF(w != NULL, "%s", e2);
    if (!w) return;
    uint8_t *jp[8];
    size_t js[8];
    for (int k = 0; k < n; k++) jp[k] = test_read_file(names[k], &js[k]);
    for (int f = 0; f < 200; f++) cap_avi_writer_add(w, jp[(f / 25) % n], js[(f / 25) % n]);
    for (int k = 0; k < n; k++) free(jp[k]);
    CHECKF(cap_avi_writer_close(w, e2, sizeof(e2)) == CAP_OK, "%s", e2);
    CHECKF(RUN(out, err, "--model", (char *)model, "--csv", csv1, "--threads", "1", vid) == 0, "t1");
    CHECKF(RUN(out, err, "--model", (char *)model, "--csv", csv3, "--threads", "3", vid) == 0, "t3");
    char *a = slurp(csv1), *b = slurp(csv3);
    CHECKF(a && b && strcmp(a, b) == 0, "--threads 1 and 3 disagree");
    free(a);
    free(b);
    r = read_csv(csv1, &nr);
    int vfaces = 0, frames_seen = 0;
    long lastf = -1;
    for (int i = 0; i < nr; i++) {
        if (r[i].frame != lastf) frames_seen++;
        lastf = r[i].frame;
        if (r[i].face >= 0) vfaces++;
    }
    CHECKF(frames_seen == 200, "%d frames in the CSV", frames_seen);
    CHECKF(vfaces >= 80, "only %d face rows in 200 frames", vfaces);
    free(r);
}

static void test_interrupt(const char *model) {
    const char *vids = getenv("SMILE_VIDEOS");
    char v[512];
    snprintf(v, sizeof(v), "%s/smiles300_640x480_mjpeg.avi", vids ? vids : "");
    if (!vids || access(v, R_OK) != 0) {
        fprintf(stderr, "note: %s absent, interrupt check skipped\n", v);
        g_skipped = 1;
        return;
    }
    char out[400], err[400], csv[400];
    P(out, "i.out"), P(err, "i.err"), P(csv, "i.csv");
    char partial[420];
    snprintf(partial, sizeof(partial), "%s.partial", csv);
    g_interrupt_when = partial;
    int rc = run_ex(out, err, 1,
                    (char *const[]){"--model", (char *)model, "--csv", csv, "--threads", "1", v, NULL});
    CHECKF(rc == 130, "interrupted exit %d, want 130", rc);
    int nr;
    row *r = read_csv(csv, &nr);
    CHECKF(nr > 0 && nr < 1800, "interrupted run kept %d rows", nr);
    for (int i = 1; i < nr; i++)
        CHECKF(r[i].frame >= r[i - 1].frame, "rows out of order after interrupt");
    free(r);
}

/* The FFmpeg path through the CLI: every frame of the shared H.264 video has
 * its row(s), in order, at its presentation time, with two threads. */
static void test_h264(const char *model) {
    const char *vids = getenv("SMILE_VIDEOS");
    char v[512];
    snprintf(v, sizeof(v), "%s/smiles300_640x480_h264.mp4", vids ? vids : "");
    if (!vids || access(v, R_OK) != 0) {
        fprintf(stderr, "note: %s absent, H.264 check skipped\n", v);
        g_skipped = 1;
        return;
    }
    char out[400], err[400], csv[400], ann[400];
    P(out, "h.out"), P(err, "h.err"), P(csv, "h.csv"), P(ann, "h.avi");
    int rc = RUN(out, err, "--model", (char *)model, "--csv", csv, "--annotate", ann, "--threads", "2", v);
    CHECKF(rc == 0, "H.264 exit %d", rc);
    /* the annotated copy keeps the video's colours (its backgrounds are
     * coloured): every frame, and most samples of frame 100 far from grey */
    cap_status st;
    char e[256];
    cap_source *s = cap_file_open(ann, &st, e, sizeof(e));
    cap_convert *cv = cap_convert_new();
    uint8_t *rgb = malloc(640 * 480 * 3);
    CHECKF(s && cv && rgb, "annotated H.264: %s", e);
    if (s && cv && rgb) {
        int k = 0, coloured = 0, samples = 0;
        cap_frame f;
        while ((st = cap_source_read(s, &f, 0)) == CAP_OK) {
            if (k++ != 100) continue;
            CHECKF(cap_convert_rgb(cv, &f, rgb, 640 * 3) == CAP_OK, "annotated frame 100: %s",
                  cap_convert_error(cv));
            for (int p = 0; p < 640 * 480; p += 61, samples++) {
                const uint8_t *q = rgb + 3 * p;
                coloured += abs(q[0] - q[1]) + abs(q[1] - q[2]) + abs(q[0] - q[2]) > 60;
            }
        }
        CHECKF(st == CAP_EOF && k == 1800, "annotated H.264: %d frames", k);
        CHECKF(coloured > samples / 2, "annotated H.264 frame 100: %d of %d samples coloured", coloured, samples);
    }
    cap_source_free(s);
    cap_convert_free(cv);
    free(rgb);
    int nr;
    row *r = read_csv(csv, &nr);
    long frames = 0, faces = 0, last = -1;
    for (int i = 0; i < nr; i++) {
        if (r[i].frame != last) {
            CHECKF(r[i].frame == last + 1, "frame %ld after %ld", r[i].frame, last);
            frames++;
        }
        last = r[i].frame;
        CHECKF(fabs(r[i].t - r[i].frame / 30.0) < 0.01, "frame %ld at %g s", r[i].frame, r[i].t);
        faces += r[i].face >= 0;
    }
    CHECKF(frames == 1800, "%ld frames", frames);
    CHECKF(faces > 500, "%ld face rows", faces);
    free(r);
}

/* A 24-bit BMP of a grey image (rows bottom-up, padded to 4 bytes). */
static int write_bmp(const char *path, const uint8_t *grey, int w, int h, int stride) {
    int pad = (4 - (w * 3) % 4) % 4;
    uint32_t data = (uint32_t)((w * 3 + pad) * h), size = 54 + data;
    uint8_t hd[54] = {'B', 'M'};
    uint32_t v32[] = {size, 0, 54, 40, (uint32_t)w, (uint32_t)h};
    for (int i = 0; i < 6; i++)
        for (int b = 0; b < 4; b++) hd[2 + 4 * i + b] = (uint8_t)(v32[i] >> (8 * b));
    hd[26] = 1;  /* planes */
    hd[28] = 24; /* bits per pixel */
    for (int b = 0; b < 4; b++) hd[34 + b] = (uint8_t)(data >> (8 * b));
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    fwrite(hd, 1, sizeof(hd), f);
    for (int y = h - 1; y >= 0; y--) {
        for (int x = 0; x < w; x++) {
            uint8_t g = grey[(size_t)y * stride + x], px[3] = {g, g, g};
            fwrite(px, 1, 3, f);
        }
        fwrite("\0\0\0", 1, (size_t)pad, f);
    }
    return fclose(f);
}

/* Pictures only FFmpeg decodes are photos too: a folder's BMP is taken, and
 * a face that fills it is found by the photo searches (the video path finds
 * none), where the same pixels as a PNG put it; a truncated BMP is reported
 * by name and the others still score. */
static void test_pictures(const char *model) {
    /* two single-face photos whose 80 % cut the plain (video) scan misses */
    static const char *photos[] = {"Luis_Gonzalez_Macchi_0001.jpg", "Roh_Moo-hyun_0013.jpg"};
    const char *ds = getenv("SMILE_DATASETS");
    char src[2][512];
    for (int k = 0; k < 2; k++) {
        snprintf(src[k], sizeof(src[k]), "%s/lfw-expressions/happiness/%s", ds ? ds : "", photos[k]);
        if (!ds || access(src[k], R_OK) != 0) {
            fprintf(stderr, "note: %s absent, picture checks skipped\n", src[k]);
            g_skipped = 1;
            return;
        }
    }
    char out[400], err[400], csv[400], pics[400], broken[400], txt[400];
    P(out, "p.out"), P(err, "p.err"), P(csv, "p.csv"), P(pics, "pics");
    P(broken, "pics/c.bmp"), P(txt, "pics/notes.txt");
    CHECKF(mkdir(pics, 0755) == 0, "mkdir %s", pics);
    for (int k = 0; k < 2; k++) {
        CHECKF(RUN(out, err, "--model", (char *)model, "--csv", csv, src[k]) == 0, "%s", src[k]);
        int nr;
        row *r = read_csv(csv, &nr);
        REQUIRE(nr == 1 && r[0].face == 0, "not one face in %s", src[k]);
        /* the middle 80 % of the face box: no margin left around the face */
        int side = (int)(r[0].w * 0.8), x0 = (int)(r[0].x + r[0].w * 0.1), y0 = (int)(r[0].y + r[0].h * 0.1);
        free(r);
        img_image im;
        char e2[512], png[400], bmp[400], name[24];
        REQUIRE(img_load(src[k], 1, &im, e2, sizeof(e2)) == IMG_OK, "%s", e2);
        const uint8_t *cut = im.pixels + (size_t)y0 * im.stride + x0;
        snprintf(name, sizeof(name), "pics/%d.png", k);
        P(png, name);
        snprintf(name, sizeof(name), "pics/%d.bmp", k);
        P(bmp, name);
        CHECKF(img_save(png, cut, side, side, im.stride, 1, e2, sizeof(e2)) == IMG_OK, "%s", e2);
        CHECKF(write_bmp(bmp, cut, side, side, im.stride) == 0, "cannot write %s", bmp);
#ifdef SMILE_HAVE_HEIF
        /* as a phone saves it: stored turned, with a HEIF orientation (6) */
        char heic[400];
        snprintf(name, sizeof(name), "pics/%d.heic", k);
        P(heic, name);
        uint8_t *packed = malloc((size_t)side * side), *turned = malloc((size_t)side * side);
        REQUIRE(packed && turned, "out of memory");
        for (int y = 0; y < side; y++) memcpy(packed + (size_t)y * side, cut + (size_t)y * im.stride, (size_t)side);
        img_orient(packed, side, side, side, 1, 8, turned, side);
        CHECKF(heif_fixture_write(heic, turned, side, side, 1, 6) == 0, "cannot write %s", heic);
        free(packed);
        free(turned);
#endif
        if (k == 0)
            CHECKF(write_bmp(broken, cut, side, side, im.stride) == 0 && truncate(broken, 54 + side * 3 * 5) == 0,
                   "cannot write %s", broken);
        img_image_free(&im);
    }
    FILE *f = fopen(txt, "w");
    if (f) fputs("not a picture\n", f), fclose(f);

    int rc = RUN(out, err, "--model", (char *)model, "--csv", csv, pics);
    CHECKF(rc == 1, "a folder with a truncated BMP exits %d, want 1", rc);
    char *msg = slurp(err);
    CHECKF(msg && strstr(msg, "c.bmp"), "the truncated BMP is not named: %s", msg ? msg : "");
    free(msg);
    int nr;
    row *r = read_csv(csv, &nr);
    for (int k = 0; k < 2; k++) {
        char pn[24], bn[24];
        snprintf(pn, sizeof(pn), "/%d.png", k);
        snprintf(bn, sizeof(bn), "/%d.bmp", k);
        row *rp = NULL, *rb = NULL;
        for (int i = 0; i < nr; i++) {
            if (ends_with(r[i].source, pn)) rp = &r[i];
            if (ends_with(r[i].source, bn)) rb = &r[i];
        }
        CHECKF(rp && rb, "%s: the folder's PNG (%s) or BMP (%s) has no row", photos[k], rp ? "ok" : "none",
               rb ? "ok" : "none");
        if (!rp || !rb) continue;
        CHECKF(rp->face == 0 && rb->face == 0, "%s: the face filling the PNG (%d) or the BMP (%d) was not found",
               photos[k], rp->face, rb->face);
        CHECKF(fabs(rp->x - rb->x) <= 3 && fabs(rp->y - rb->y) <= 3 && fabs(rp->w - rb->w) <= 4,
               "%s: BMP box %g %g %g, PNG box %g %g %g", photos[k], rb->x, rb->y, rb->w, rp->x, rp->y, rp->w);
        CHECKF(fabs(rp->score - rb->score) < 0.05 && rb->smoothed == rb->score, "%s: BMP score %g (smoothed %g), PNG %g",
               photos[k], rb->score, rb->smoothed, rp->score);
#ifdef SMILE_HAVE_HEIF
        char hn[24];
        snprintf(hn, sizeof(hn), "/%d.heic", k);
        row *rh = NULL;
        for (int i = 0; i < nr; i++)
            if (ends_with(r[i].source, hn)) rh = &r[i];
        CHECKF(rh && rh->face == 0, "%s: the face filling the HEIC was not found", photos[k]);
        if (rh && rh->face == 0)
            CHECKF(fabs(rp->x - rh->x) <= 3 && fabs(rp->y - rh->y) <= 3 && fabs(rp->w - rh->w) <= 4 &&
                       fabs(rp->score - rh->score) < 0.05,
                   "%s: HEIC box %g %g %g score %g, PNG box %g %g %g score %g", photos[k], rh->x, rh->y,
                   rh->w, rh->score, rp->x, rp->y, rp->w, rp->score);
#endif
    }
    for (int i = 0; i < nr; i++)
        CHECKF(!ends_with(r[i].source, ".txt"), "a text file was scored");
    free(r);
}

#ifdef SMILE_HAVE_FFMPEG
/* Checks the --summary block of one input (from its "PATH:" line to the
 * next input's): it says `said`, or, with said NULL, says nothing was turned. */
static void check_turn_said(const char *sum, const char *path, const char *said) {
    char head[420];
    snprintf(head, sizeof(head), "%s:", path);
    const char *p = sum ? strstr(sum, head) : NULL;
    char *part = NULL;
    if (p) {
        const char *end = p + 1;
        while ((end = strchr(end, '\n')) && end[1] == ' ') end++; /* indented lines belong to it */
        size_t n = end ? (size_t)(end - p) : strlen(p);
        part = malloc(n + 1);
        if (part) memcpy(part, p, n), part[n] = 0;
    }
    CHECKF(part && (said ? strstr(part, said) != NULL : strstr(part, " turned ") == NULL),
           "summary of %s:\n%s", path, part ? part : "(none)");
    free(part);
}

/* An uncompressed grey TIFF (little-endian) with an Orientation tag, its
 * IFD after the pixels as libtiff writes it. */
static int write_tiff(const char *path, const uint8_t *grey, int w, int h, int stride, int orientation) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    uint32_t data = (uint32_t)w * (uint32_t)h, ifd = 8 + data + (data & 1);
    uint8_t hd[8] = {'I', 'I', 42, 0, (uint8_t)ifd, (uint8_t)(ifd >> 8), (uint8_t)(ifd >> 16), (uint8_t)(ifd >> 24)};
    fwrite(hd, 1, 8, f);
    for (int y = 0; y < h; y++) fwrite(grey + (size_t)y * stride, 1, (size_t)w, f);
    if (data & 1) fputc(0, f);
    /* tag, type (3 SHORT, 4 LONG), value; sorted by tag as TIFF requires */
    const uint32_t e[][3] = {{256, 4, (uint32_t)w}, {257, 4, (uint32_t)h}, {258, 3, 8}, {259, 3, 1},
                             {262, 3, 1}, {273, 4, 8}, {274, 3, (uint32_t)orientation}, {277, 3, 1},
                             {278, 4, (uint32_t)h}, {279, 4, data}};
    uint8_t b[2 + 10 * 12 + 4] = {10, 0};
    for (int i = 0; i < 10; i++) {
        uint8_t *p = b + 2 + 12 * i;
        p[0] = (uint8_t)e[i][0], p[1] = (uint8_t)(e[i][0] >> 8), p[2] = (uint8_t)e[i][1];
        p[4] = 1; /* count */
        for (int k = 0; k < 4; k++) p[8 + k] = (uint8_t)(e[i][2] >> (8 * k));
    }
    fwrite(b, 1, sizeof(b), f);
    return fclose(f);
}

/* A photo filmed with the phone turned: the file stores the picture turned
 * the other way, and its display matrix turns it back. Every frame must
 * give the upright file's face, at the same place, with the same score;
 * before the matrix was read, the quarter turns found no face and the half
 * turn scored a face upside down. */
static void test_rotated(const char *model) {
    const char *ds = getenv("SMILE_DATASETS");
    char photo[512];
    snprintf(photo, sizeof(photo), "%s/lfw-expressions/happiness/Luis_Gonzalez_Macchi_0001.jpg",
             ds ? ds : "");
    if (!ds || access(photo, R_OK) != 0) {
        fprintf(stderr, "note: %s absent, display matrix checks skipped\n", photo);
        g_skipped = 1;
        return;
    }
    img_image im;
    char e[512];
    REQUIRE(img_load(photo, 1, &im, e, sizeof(e)) == IMG_OK, "%s", e);
    /* shown turned clockwise by cw degrees; stored turned back by stored_o */
    static const struct { int cw, stored_o; } turns[] = {{0, 1}, {90, 8}, {180, 3}, {270, 6}};
    char paths[4][400];
    for (int k = 0; k < 4; k++) {
        int swap = turns[k].stored_o >= 5;
        int sw = swap ? im.height : im.width, sh = swap ? im.width : im.height;
        uint8_t *stored = malloc((size_t)sw * sh), *jpeg = NULL;
        size_t js = 0;
        REQUIRE(stored, "out of memory");
        img_orient(im.pixels, im.width, im.height, im.stride, 1, turns[k].stored_o, stored, sw);
        REQUIRE(img_jpeg_encode(stored, sw, sh, sw, 1, 95, &jpeg, &js) == IMG_OK, "encode");
        int32_t m[9];
        mov_fixture_matrix(m, turns[k].cw, 0);
        char name[32];
        snprintf(name, sizeof(name), "turned%d.mov", turns[k].cw);
        P(paths[k], name);
        REQUIRE(mov_fixture_write(paths[k], sw, sh, 5, 3, &jpeg, &js, 1, k ? m : NULL, e, sizeof(e)) == 0,
                "%s", e);
        free(stored);
        free(jpeg);
    }
    img_image_free(&im);
    char out[400], err[400], csv[400];
    P(out, "r.out"), P(err, "r.err"), P(csv, "r.csv");
    int rc = RUN(out, err, "--model", (char *)model, "--csv", csv, "--summary", "--threads", "1", paths[0],
                 paths[1], paths[2], paths[3]);
    CHECKF(rc == 0, "turned videos exit %d", rc);
    /* the summary says which files were turned, and how */
    char *sum = slurp(out);
    static const char *said[4] = {NULL, "frames turned a quarter clockwise, as the file says",
                                  "frames turned half round, as the file says",
                                  "frames turned a quarter anticlockwise, as the file says"};
    for (int k = 0; k < 4; k++)
        check_turn_said(sum, paths[k], said[k]);
    free(sum);
    int nr;
    row *r = read_csv(csv, &nr);
    CHECKF(nr == 12, "%d rows for 4 videos of 3 frames: one face each", nr);
    for (int i = 0; i < nr && nr == 12; i++) {
        const row *up = &r[i % 3], *t = &r[i];
        CHECKF(t->face == 0, "%s frame %ld: no face", t->source, t->frame);
        if (t->face != 0 || up->face != 0) continue;
        CHECKF(fabs(t->x - up->x) <= 3 && fabs(t->y - up->y) <= 3 && fabs(t->w - up->w) <= 4,
               "%s frame %ld: box %g %g %g, upright %g %g %g", t->source, t->frame, t->x, t->y, t->w,
               up->x, up->y, up->w);
        CHECKF(fabs(t->score - up->score) < 0.03, "%s frame %ld: score %g, upright %g", t->source,
               t->frame, t->score, up->score);
    }
    free(r);

    /* a TIFF photo stored turned with an Exif-style Orientation (FFmpeg
     * decodes it as stored) scores as the same photo stored upright */
    REQUIRE(img_load(photo, 1, &im, e, sizeof(e)) == IMG_OK, "%s", e);
    char tif[2][400];
    P(tif[0], "upright.tif"), P(tif[1], "turned.tif");
    uint8_t *side = malloc((size_t)im.width * im.height);
    REQUIRE(side, "out of memory");
    img_orient(im.pixels, im.width, im.height, im.stride, 1, 8, side, im.height);
    CHECKF(write_tiff(tif[0], im.pixels, im.width, im.height, im.stride, 1) == 0 &&
               write_tiff(tif[1], side, im.height, im.width, im.height, 6) == 0,
           "cannot write the TIFFs");
    free(side);
    img_image_free(&im);
    rc = RUN(out, err, "--model", (char *)model, "--csv", csv, "--summary", tif[0], tif[1]);
    CHECKF(rc == 0, "TIFFs exit %d", rc);
    sum = slurp(out);
    check_turn_said(sum, tif[0], NULL);
    check_turn_said(sum, tif[1], "picture turned a quarter clockwise, as the file says");
    free(sum);
    r = read_csv(csv, &nr);
    CHECKF(nr == 2 && r[0].face == 0 && r[1].face == 0, "TIFFs: %d rows, faces %d %d", nr,
           nr > 0 ? r[0].face : -2, nr > 1 ? r[1].face : -2);
    if (nr == 2 && r[0].face == 0 && r[1].face == 0)
        CHECKF(fabs(r[0].x - r[1].x) <= 1 && fabs(r[0].y - r[1].y) <= 1 && fabs(r[0].w - r[1].w) <= 1 &&
                   fabs(r[0].score - r[1].score) < 0.01,
               "turned TIFF: box %g %g %g score %g, upright %g %g %g score %g", r[1].x, r[1].y, r[1].w,
               r[1].score, r[0].x, r[0].y, r[0].w, r[0].score);
    free(r);
}
#endif

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_cli PATH/smile-score [basic|faces|interrupt|h264|pictures|rotated|all]\n");
        return 2;
    }
    exe = argv[1];
    char *d = test_tmpdir();
    if (!d) return 1;
    snprintf(dir, sizeof(dir), "%s", d);
    char model[400];
    P(model, "random.nnm");
    if (make_model(model) != 0) return 1;
    const char *part = argc > 2 ? argv[2] : "all";
    int all = strcmp(part, "all") == 0;
    if (all || strcmp(part, "basic") == 0) {
        test_usage();
        test_main_run(model);
    }
    if (all || strcmp(part, "faces") == 0) test_faces(model);
    if (all || strcmp(part, "interrupt") == 0) test_interrupt(model);
    if (all || strcmp(part, "h264") == 0) test_h264(model);
    if (all || strcmp(part, "pictures") == 0) test_pictures(model);
#ifdef SMILE_HAVE_FFMPEG
    if (all || strcmp(part, "rotated") == 0) test_rotated(model);
#endif
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (!test_failures && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    if (test_failures) fprintf(stderr, "%d checks failed (files kept in %s)\n", test_failures, dir);
    if (!test_failures && !all && g_skipped) return 77;
    return test_failures ? 1 : 0;
}

/* face-geometry [--pad F] [--limit N] DIR|FILE.npy ...
 *
 * Measures where our detector's box falls on face images, so the model's
 * crop geometry (nn_crop_geometry: a square of side w*scale centred at
 * (x + w*(0.5+dx), y + h*(0.5+dy))) can reproduce the training images from
 * a live detection. Each image is padded by replicating its border to F
 * times its size (default 2, so the 24x24-window cascade sees a tight crop
 * whole), the largest face is taken, and the image square is expressed
 * relative to that box. Prints per source: hit rate and mean/median of dx,
 * dy, scale, plus the box relative to the image. DIR is walked for .jpg/.png
 * (recursively, sorted); .npy must be uint8 (N, H, W). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "face_detect.h"
#include "image_io.h"

typedef struct {
    double *dx, *dy, *sc, *bx, *by, *bw;
    int n, tried, cap;
} stats;

static face_detector *det;
static double pad = 2.0;
static int limit = 2000;

static void add(stats *s, double dx, double dy, double sc, double bx, double by, double bw)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1024;
        s->dx = realloc(s->dx, sizeof(double) * s->cap);
        s->dy = realloc(s->dy, sizeof(double) * s->cap);
        s->sc = realloc(s->sc, sizeof(double) * s->cap);
        s->bx = realloc(s->bx, sizeof(double) * s->cap);
        s->by = realloc(s->by, sizeof(double) * s->cap);
        s->bw = realloc(s->bw, sizeof(double) * s->cap);
        if (!s->dx || !s->dy || !s->sc || !s->bx || !s->by || !s->bw) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
    }
    s->dx[s->n] = dx, s->dy[s->n] = dy, s->sc[s->n] = sc;
    s->bx[s->n] = bx, s->by[s->n] = by, s->bw[s->n] = bw;
    s->n++;
}

static void measure(stats *s, const uint8_t *img, int w, int h, int stride)
{
    int ox = (int)(w * (pad - 1) / 2 + 0.5), oy = (int)(h * (pad - 1) / 2 + 0.5);
    int pw = w + 2 * ox, ph = h + 2 * oy;
    uint8_t *p = malloc((size_t)pw * ph);
    if (!p)
        return;
    face_pad_edges(img, w, h, stride, ox, oy, p);
    face_detect_params prm;
    face_detect_params_defaults(&prm);
    prm.min_neighbors = 3;
    prm.min_w = prm.min_h = (w < h ? w : h) / 4;
    face_rect r[8];
    int n = face_detect(det, p, pw, ph, pw, &prm, r, 8);
    s->tried++;
    if (n > 0) {
        /* the image square (side = w, assuming square images) relative to the box */
        double cx = ox + w / 2.0, cy = oy + h / 2.0;
        double bcx = r[0].x + r[0].w / 2.0, bcy = r[0].y + r[0].h / 2.0;
        add(s, (cx - bcx) / r[0].w, (cy - bcy) / r[0].h, (double)w / r[0].w,
            (double)(r[0].x - ox) / w, (double)(r[0].y - oy) / h, (double)r[0].w / w);
    }
    free(p);
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void summary(const char *name, double *v, int n, const char *what)
{
    if (n == 0)
        return;
    double m = 0;
    for (int i = 0; i < n; i++)
        m += v[i];
    qsort(v, (size_t)n, sizeof(double), cmpd);
    printf("  %s_mean=%.4f %s_median=%.4f %s_p10=%.4f %s_p90=%.4f\n", what, m / n, what,
           v[n / 2], what, v[n / 10], what, v[(9 * n) / 10]);
    (void)name;
}

static int cmps(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void walk(stats *s, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            names = realloc(names, sizeof(char *) * cap);
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof(char *), cmps);
    for (int i = 0; i < n; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t l = strlen(names[i]);
        if (s->tried >= limit) {
        } else if (l > 4 && (strcmp(names[i] + l - 4, ".jpg") == 0 || strcmp(names[i] + l - 4, ".png") == 0)) {
            img_image im;
            char err[256];
            if (img_load(path, 1, &im, err, sizeof err) == IMG_OK) {
                measure(s, im.pixels, im.width, im.height, im.stride);
                img_image_free(&im);
            }
        } else {
            walk(s, path);
        }
        free(names[i]);
    }
    free(names);
}

static void npy(stats *s, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return;
    }
    unsigned char hdr[10];
    if (fread(hdr, 1, 10, f) != 10 || memcmp(hdr, "\x93NUMPY", 6) != 0) {
        fprintf(stderr, "%s: not a .npy file\n", path);
        fclose(f);
        return;
    }
    int hl = hdr[8] | hdr[9] << 8;
    char *h = calloc(1, (size_t)hl + 1);
    long n = 0, rows = 0, cols = 0;
    if (!h || fread(h, 1, (size_t)hl, f) != (size_t)hl || !strstr(h, "'|u1'") ||
        !strstr(h, "'shape': (") || sscanf(strstr(h, "'shape': (") + 10, "%ld, %ld, %ld", &n, &rows, &cols) != 3 ||
        n <= 0 || rows <= 0 || cols <= 0 || rows > 4096 || cols > 4096) {
        fprintf(stderr, "%s: need a uint8 (N, H, W) array\n", path);
        free(h);
        fclose(f);
        return;
    }
    uint8_t *img = malloc((size_t)rows * cols);
    for (long i = 0; i < n && s->tried < limit && img; i++) {
        if (fread(img, 1, (size_t)rows * cols, f) != (size_t)rows * cols)
            break;
        measure(s, img, (int)cols, (int)rows, (int)cols);
    }
    free(img);
    free(h);
    fclose(f);
}

int main(int argc, char **argv)
{
    char err[512];
    if (face_detector_new(NULL, &det, err, sizeof err) != FACE_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    int any = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--pad") == 0 && i + 1 < argc) {
            pad = atof(argv[++i]);
            continue;
        }
        if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            limit = atoi(argv[++i]);
            continue;
        }
        stats s;
        memset(&s, 0, sizeof s);
        size_t l = strlen(argv[i]);
        if (l > 4 && strcmp(argv[i] + l - 4, ".npy") == 0)
            npy(&s, argv[i]);
        else
            walk(&s, argv[i]);
        printf("source=%s pad=%.2f images=%d found=%d hit_rate=%.4f\n", argv[i], pad, s.tried, s.n,
               s.tried ? (double)s.n / s.tried : 0.0);
        summary(argv[i], s.dx, s.n, "dx");
        summary(argv[i], s.dy, s.n, "dy");
        summary(argv[i], s.sc, s.n, "scale");
        summary(argv[i], s.bx, s.n, "box_x_over_side");
        summary(argv[i], s.by, s.n, "box_y_over_side");
        summary(argv[i], s.bw, s.n, "box_w_over_side");
        free(s.dx), free(s.dy), free(s.sc), free(s.bx), free(s.by), free(s.bw);
        any = 1;
    }
    face_detector_free(det);
    if (!any) {
        fprintf(stderr, "usage: face-geometry [--pad F] [--limit N] DIR|FILE.npy ...\n");
        return 2;
    }
    return 0;
}

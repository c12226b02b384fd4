/* app_check.c - checks on what the app wrote, for the app test scripts:
 *   app_check colors PNG MIN          at least MIN distinct colours (not a blank window)
 *   app_check box PNG X Y W H #RRGGBB the box outline is drawn in that colour
 *   app_check jpeg FILE               a JPEG that decodes, and is not one flat colour
 *   app_check avi FILE MIN            a video with at least MIN frames that decode
 *   app_check region PNG X Y W H MIN  that area has at least MIN distinct colours
 *   app_check chroma PNG MIN          at least MIN % of the pixels are coloured, not grey
 * Exit 0 when the check holds, 1 (with the reason) when not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame_source.h"
#include "image_io.h"

static int load(const char *path, img_image *im)
{
    char err[512];
    if (img_load(path, 3, im, err, sizeof err) != IMG_OK) {
        fprintf(stderr, "app_check: %s\n", err);
        return -1;
    }
    return 0;
}

/* Distinct colours (quantised to 5 bits a channel) in a rectangle. */
static int count_colors(const img_image *im, int x0, int y0, int w, int h)
{
    static unsigned char seen[1 << 15];
    memset(seen, 0, sizeof seen);
    int n = 0;
    for (int y = y0; y < y0 + h && y < im->height; y++) {
        if (y < 0)
            continue;
        const uint8_t *row = im->pixels + (size_t)y * im->stride;
        for (int x = x0; x < x0 + w && x < im->width; x++) {
            if (x < 0)
                continue;
            unsigned k = (unsigned)(row[3 * x] >> 3) << 10 | (unsigned)(row[3 * x + 1] >> 3) << 5 |
                         (unsigned)(row[3 * x + 2] >> 3);
            if (!seen[k]) {
                seen[k] = 1;
                n++;
            }
        }
    }
    return n;
}

/* Per cent of the pixels whose channels spread over 40 levels: a grey
 * picture (and grey video under a few coloured overlays) has few. */
static double coloured_percent(const img_image *im)
{
    long n = 0;
    for (int y = 0; y < im->height; y++)
        for (int x = 0; x < im->width; x++) {
            const uint8_t *p = im->pixels + (size_t)y * im->stride + 3 * (size_t)x;
            int lo = p[0] < p[1] ? p[0] : p[1], hi = p[0] > p[1] ? p[0] : p[1];
            lo = p[2] < lo ? p[2] : lo;
            hi = p[2] > hi ? p[2] : hi;
            n += hi - lo > 40;
        }
    return 100.0 * (double)n / ((double)im->width * im->height);
}

static int near(const uint8_t *p, const int rgb[3], int tol)
{
    for (int c = 0; c < 3; c++)
        if (abs((int)p[c] - rgb[c]) > tol)
            return 0;
    return 1;
}

/* The outline is stroked a few pixels wide and centred on the box edge:
 * look for the colour within 3 px of each sampled edge point. */
static int check_box(const img_image *im, int x, int y, int w, int h, const int rgb[3])
{
    int samples = 0, hits = 0;
    for (int i = 0; i < 40; i++) {
        double t = 0.2 + 0.6 * i / 39.0; /* skip the rounded corners */
        int pts[4][2] = {{x + (int)(t * w), y},
                         {x + (int)(t * w), y + h},
                         {x, y + (int)(t * h)},
                         {x + w, y + (int)(t * h)}};
        for (int e = 0; e < 4; e++) {
            int found = 0;
            for (int dy = -3; dy <= 3 && !found; dy++)
                for (int dx = -3; dx <= 3 && !found; dx++) {
                    int px = pts[e][0] + dx, py = pts[e][1] + dy;
                    if (px < 0 || py < 0 || px >= im->width || py >= im->height)
                        continue;
                    found = near(im->pixels + (size_t)py * im->stride + 3 * px, rgb, 40);
                }
            samples++;
            hits += found;
        }
    }
    printf("box: %d of %d edge samples in the face colour\n", hits, samples);
    return hits * 10 >= samples * 8 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: app_check colors|box|jpeg|avi|region|chroma FILE ...\n");
        return 2;
    }
    const char *what = argv[1], *path = argv[2];
    img_image im = {0};
    int rc = 1;
    if (!strcmp(what, "colors") && argc == 4) {
        if (load(path, &im) == 0) {
            int n = count_colors(&im, 0, 0, im.width, im.height);
            printf("colors: %d in %dx%d\n", n, im.width, im.height);
            rc = n >= atoi(argv[3]) ? 0 : 1;
        }
    } else if (!strcmp(what, "chroma") && argc == 4) {
        if (load(path, &im) == 0) {
            double pc = coloured_percent(&im);
            printf("chroma: %.1f %% of %dx%d coloured\n", pc, im.width, im.height);
            rc = pc >= atof(argv[3]) ? 0 : 1;
        }
    } else if (!strcmp(what, "region") && argc == 8) {
        if (load(path, &im) == 0) {
            int n = count_colors(&im, atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
            printf("region colors: %d\n", n);
            rc = n >= atoi(argv[7]) ? 0 : 1;
        }
    } else if (!strcmp(what, "box") && argc == 8) {
        unsigned hex = 0;
        if (sscanf(argv[7], "#%6x", &hex) == 1 && load(path, &im) == 0) {
            int rgb[3] = {(int)(hex >> 16) & 255, (int)(hex >> 8) & 255, (int)hex & 255};
            rc = check_box(&im, atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]), rgb);
        }
    } else if (!strcmp(what, "jpeg") && argc == 3) {
        uint8_t head[2] = {0};
        FILE *f = fopen(path, "rb");
        int is_jpeg = f && fread(head, 1, 2, f) == 2 && head[0] == 0xff && head[1] == 0xd8;
        if (f)
            fclose(f);
        if (!is_jpeg)
            fprintf(stderr, "app_check: %s is not a JPEG file\n", path);
        else if (load(path, &im) == 0) {
            int n = count_colors(&im, 0, 0, im.width, im.height);
            printf("jpeg: %dx%d, %d colors\n", im.width, im.height, n);
            rc = im.width > 0 && n > 20 ? 0 : 1;
        }
    } else if (!strcmp(what, "avi") && argc == 4) {
        cap_status st;
        char err[512];
        cap_source *src = cap_file_open(path, &st, err, sizeof err);
        if (!src) {
            fprintf(stderr, "app_check: %s\n", err);
        } else {
            cap_convert *cv = cap_convert_new();
            int frames = 0, bad = 0;
            cap_frame fr;
            while ((st = cap_source_read(src, &fr, 1000)) == CAP_OK || st == CAP_CORRUPT) {
                uint8_t *rgb = st == CAP_OK ? malloc((size_t)fr.width * fr.height * 3) : NULL;
                if (rgb && cap_convert_rgb(cv, &fr, rgb, fr.width * 3) == CAP_OK)
                    frames++;
                else
                    bad++;
                free(rgb);
            }
            printf("avi: %d frames decode, %d do not\n", frames, bad);
            rc = frames >= atoi(argv[3]) && bad == 0 ? 0 : 1;
            cap_convert_free(cv);
            cap_source_free(src);
        }
    } else {
        fprintf(stderr, "app_check: bad arguments for %s\n", what);
        return 2;
    }
    img_image_free(&im);
    return rc;
}

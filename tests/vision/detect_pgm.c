/* detect-pgm [--cascade XML] [--scale F] [--neighbors N] [--min S] FILE.pgm...: print
 * "FILE x y w h" for each face our detector finds (used to compare with
 * tools/refgen/opencv_faces.py by hand). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "face_detect.h"
#include "face_frames.h"

int main(int argc, char **argv)
{
    face_detect_params p;
    face_detect_params_defaults(&p);
    p.min_neighbors = 5;
    p.min_w = p.min_h = 30;
    char err[512];
    face_detector *d = NULL;
    const char *cascade = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--cascade") == 0 && i + 1 < argc) {
            cascade = argv[++i];
            continue;
        }
        if (!d && face_detector_new(cascade, &d, err, sizeof err) != FACE_OK) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc) {
            p.scale_factor = (float)atof(argv[++i]);
            continue;
        }
        if (strcmp(argv[i], "--neighbors") == 0 && i + 1 < argc) {
            p.min_neighbors = atoi(argv[++i]);
            continue;
        }
        if (strcmp(argv[i], "--min") == 0 && i + 1 < argc) {
            p.min_w = p.min_h = atoi(argv[++i]);
            continue;
        }
        int w, h;
        uint8_t *img = ff_read_pgm(argv[i], &w, &h);
        if (!img) {
            fprintf(stderr, "%s: cannot read PGM\n", argv[i]);
            continue;
        }
        face_rect r[4096];
        int n = face_detect(d, img, w, h, w, &p, r, 4096);
        for (int k = 0; k < n && k < 4096; k++)
            printf("%s %d %d %d %d\n", argv[i], r[k].x, r[k].y, r[k].w, r[k].h);
        free(img);
    }
    face_detector_free(d);
    return 0;
}

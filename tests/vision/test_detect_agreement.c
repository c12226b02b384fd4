/* Our detector against OpenCV 4.6's detectMultiScale on the same frames and
 * settings (tests/vision/opencv_faces.txt, from tools/refgen/opencv_faces.py).
 * Settings: the default cascade at three scale/neighbour/size settings, alt2
 * (two-node trees) and the improved LBP cascade.
 * Bar: >= 95% of OpenCV's boxes matched at IoU >= 0.5, <= 5% extra boxes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "face_detect.h"
#include "face_frames.h"

typedef struct {
    int frame;
    char setting[32];
    int x, y, w, h;
} ref_box;

static double iou(int ax, int ay, int aw, int ah, int bx, int by, int bw, int bh)
{
    int ix = (ax + aw < bx + bw ? ax + aw : bx + bw) - (ax > bx ? ax : bx);
    int iy = (ay + ah < by + bh ? ay + ah : by + bh) - (ay > by ? ay : by);
    if (ix <= 0 || iy <= 0)
        return 0;
    double i = (double)ix * iy;
    return i / ((double)aw * ah + (double)bw * bh - i);
}

int main(int argc, char **argv)
{
    /* --scalar: check the portable path too (the AVX2 one is the default) */
    if (argc > 1 && strcmp(argv[1], "--scalar") == 0)
        setenv("FACE_DETECT_SCALAR", "1", 1);
    const char *ds = getenv("SMILE_DATASETS"), *src = getenv("SMILE_SOURCE_ROOT");
    if (!ds || !src) {
        printf("SKIP: SMILE_DATASETS / SMILE_SOURCE_ROOT not set\n");
        return 77;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/lfw-expressions/labels.csv", ds);
    FILE *probe = fopen(path, "r");
    if (!probe) {
        printf("SKIP: %s absent\n", path);
        return 77;
    }
    fclose(probe);
    snprintf(path, sizeof path, "%s/tests/vision/opencv_faces.txt", src);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "FAIL: cannot open %s\n", path);
        return 1;
    }
    static ref_box ref[4096];
    int nref = 0;
    char line[256];
    while (fgets(line, sizeof line, f) && nref < 4096) {
        if (line[0] == '#')
            continue;
        ref_box *r = &ref[nref];
        if (sscanf(line, "%d %31s %d %d %d %d", &r->frame, r->setting, &r->x, &r->y, &r->w,
                   &r->h) == 6)
            nref++;
    }
    fclose(f);
    if (nref < 100) {
        fprintf(stderr, "FAIL: only %d reference boxes in %s\n", nref, path);
        return 1;
    }
    char err[512];
    static uint8_t frame[FF_W * FF_H];
    /* the settings are the distinct setting strings of the file, in order */
    char settings[16][32];
    int nset = 0;
    for (int i = 0; i < nref; i++) {
        int seen = 0;
        for (int k = 0; k < nset; k++)
            seen |= strcmp(settings[k], ref[i].setting) == 0;
        if (!seen && nset < 16)
            snprintf(settings[nset++], sizeof settings[0], "%s", ref[i].setting);
    }
    int fail = nset < 5;
    if (fail)
        printf("FAIL: %d settings in %s, want 5\n", nset, path);
    for (int si = 0; si < nset; si++) {
        /* "[cascade:]scale,minNeighbors,minSize" */
        const char *cascade = NULL, *nums = settings[si];
        if (strncmp(nums, "alt2:", 5) == 0)
            cascade = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml", nums += 5;
        else if (strncmp(nums, "lbp:", 4) == 0)
            cascade = "/usr/share/opencv4/lbpcascades/lbpcascade_frontalface_improved.xml", nums += 4;
        face_detector *d;
        if (face_detector_new(cascade, &d, err, sizeof err) != FACE_OK) {
            fprintf(stderr, "FAIL: %s\n", err);
            return 1;
        }
        face_detect_params p;
        face_detect_params_defaults(&p);
        float sf;
        int mn, ms;
        if (sscanf(nums, "%f,%d,%d", &sf, &mn, &ms) != 3) {
            fprintf(stderr, "FAIL: bad setting '%s'\n", settings[si]);
            return 1;
        }
        p.scale_factor = sf;
        p.min_neighbors = mn;
        p.min_w = p.min_h = ms;
        int n_ref = 0, n_ours = 0, matched = 0, exact = 0, extra = 0;
        for (int k = 0; k < FF_COUNT; k++) {
            if (ff_compose(ds, k, frame, err, sizeof err) != 0) {
                fprintf(stderr, "FAIL: %s\n", err);
                return 1;
            }
            face_rect out[64];
            int n = face_detect(d, frame, FF_W, FF_H, FF_W, &p, out, 64);
            if (n < 0 || n > 64) {
                fprintf(stderr, "FAIL: face_detect returned %d on frame %d\n", n, k);
                return 1;
            }
            n_ours += n;
            for (int i = 0; i < nref; i++) {
                if (ref[i].frame != k || strcmp(ref[i].setting, settings[si]) != 0)
                    continue;
                n_ref++;
                int hit = 0;
                for (int j = 0; j < n; j++) {
                    if (iou(ref[i].x, ref[i].y, ref[i].w, ref[i].h, out[j].x, out[j].y, out[j].w,
                            out[j].h) >= 0.5)
                        hit = 1;
                    if (ref[i].x == out[j].x && ref[i].y == out[j].y && ref[i].w == out[j].w &&
                        ref[i].h == out[j].h)
                        exact++;
                }
                matched += hit;
                if (!hit)
                    printf("  frame %d: missed OpenCV box %d %d %d %d\n", k, ref[i].x, ref[i].y,
                           ref[i].w, ref[i].h);
            }
            for (int j = 0; j < n; j++) {
                int hit = 0;
                for (int i = 0; i < nref; i++)
                    if (ref[i].frame == k && strcmp(ref[i].setting, settings[si]) == 0 &&
                        iou(ref[i].x, ref[i].y, ref[i].w, ref[i].h, out[j].x, out[j].y, out[j].w,
                            out[j].h) >= 0.5)
                        hit = 1;
                if (!hit) {
                    extra++;
                    printf("  frame %d: extra box %d %d %d %d\n", k, out[j].x, out[j].y,
                           out[j].w, out[j].h);
                }
            }
        }
        double mr = n_ref ? (double)matched / n_ref : 0, er = n_ref ? (double)extra / n_ref : 1;
        printf("setting %s: opencv=%d ours=%d matched=%.4f exact=%.4f extra=%.4f\n", settings[si],
               n_ref, n_ours, mr, n_ref ? (double)exact / n_ref : 0, er);
        if (n_ref < 50 || mr < 0.95 || er > 0.05) {
            printf("FAIL: setting %s below the bar (>= 0.95 matched, <= 0.05 extra)\n",
                   settings[si]);
            fail = 1;
        }
        face_detector_free(d);
    }
    return fail;
}

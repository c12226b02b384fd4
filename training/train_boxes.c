/* train_boxes.c - `smile-train boxes`: where the face detector's box falls on
 * a data set's images (as fractions of the image), the number to give as
 * box=X/Y/W/H so tightly cropped sets are cut like detected faces. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "face_detect.h"
#include "train.h"

static const char boxes_help[] =
    "Usage: smile-train boxes --data KIND:PATH [--limit N] [--split test|train|all]\n"
    "\n"
    "Run the face detector (the app's settings) on each image, padded with grey\n"
    "so a face may reach past the edges, and print the median detector box as\n"
    "fractions of the image side: the box=X/Y/W/H option that maps this data\n"
    "set's images to a model's crop geometry as the app would cut a detected face.\n";

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

int tr_cmd_boxes(int argc, char **argv)
{
    static const struct option lo[] = {{"data", required_argument, 0, 'd'},
                                       {"limit", required_argument, 0, 'L'},
                                       {"split", required_argument, 0, 's'},
                                       {"face-cache", required_argument, 0, 'F'}, {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    const char *cmd = "boxes";
    tr_data data;
    memset(&data, 0, sizeof data);
    int splits = DS_LOAD_ALL, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(boxes_help, stdout); return TR_EXIT_OK;
        case 'd': if (tr_data_add(&data, optarg, cmd)) return TR_EXIT_USAGE; break;
        case 'L':
            if (tr_parse_int(optarg, 1, 1 << 30, &data.limit))
                return tr_usage_error(cmd, "--limit wants a positive count, not '%s'", optarg);
            break;
        case 's':
            if (!strcmp(optarg, "test")) splits = DS_LOAD_TEST;
            else if (!strcmp(optarg, "train")) splits = DS_LOAD_TRAIN;
            else if (!strcmp(optarg, "all")) splits = DS_LOAD_ALL;
            else return tr_usage_error(cmd, "--split is test, train or all, not '%s'", optarg);
            break;
        case 'F': tr_face_cache_path = optarg; break;
        case ':': return tr_usage_error(cmd, "%s needs a value", argv[optind - 1]);
        default: return tr_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc || data.n != 1)
        return tr_usage_error(cmd, "give exactly one --data");
    /* Images resized to S x S: fractions do not change with the size. */
    enum { S = 128, P = 64, PS = S + 2 * P };
    nn_input_spec spec = {.width = S, .height = S, .channels = 1, .norm = NN_NORM_UNIT,
                          .mean = 0, .std = 1, .crop = {0, 0, 1}, .equalize = 0};
    ds_set s;
    if (tr_data_load(&data, &spec, splits, &s))
        return TR_EXIT_FAIL;
    char err[512];
    face_detector *det = NULL;
    if (face_detector_new(NULL, &det, err, sizeof err) != FACE_OK) {
        tr_error("%s", err);
        ds_set_free(&s);
        return TR_EXIT_FAIL;
    }
    face_detect_params p;
    face_detect_params_defaults(&p);
    p.scale_factor = 1.1f;
    p.min_neighbors = 5;
    p.min_w = p.min_h = S / 3;
    uint8_t *pad = malloc((size_t)PS * PS);
    float *v[4];
    for (int k = 0; k < 4; k++)
        v[k] = malloc((size_t)(s.n ? s.n : 1) * sizeof *v[k]);
    int found = 0;
    for (int i = 0; pad && v[3] && i < s.n; i++) {
        memset(pad, 128, (size_t)PS * PS);
        for (int y = 0; y < S; y++)
            memcpy(pad + (size_t)(y + P) * PS + P, s.pixels + ((size_t)i * S + (size_t)y) * S, S);
        face_rect r[8];
        int n = face_detect(det, pad, PS, PS, PS, &p, r, 8);
        if (n <= 0)
            continue;
        /* the largest (first) box */
        v[0][found] = (float)(r[0].x - P) / S;
        v[1][found] = (float)(r[0].y - P) / S;
        v[2][found] = (float)r[0].w / S;
        v[3][found] = (float)r[0].h / S;
        found++;
    }
    float med[4] = {0, 0, 1, 1};
    for (int k = 0; k < 4 && found; k++) {
        qsort(v[k], (size_t)found, sizeof *v[k], cmp_float);
        med[k] = v[k][found / 2];
    }
    printf("images=%d detected=%d rate=%.3f box=%.3f/%.3f/%.3f/%.3f\n", s.n, found,
           s.n ? (double)found / s.n : 0.0, (double)med[0], (double)med[1], (double)med[2], (double)med[3]);
    for (int k = 0; k < 4; k++)
        free(v[k]);
    free(pad);
    face_detector_free(det);
    ds_set_free(&s);
    return found ? TR_EXIT_OK : TR_EXIT_FAIL;
}

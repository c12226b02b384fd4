/* test_ds_real.c - the readers on the shared data sets (skip 77 when absent):
 * counts, classes and the fixed splits of SMILEsmileD, Happy House, MNIST,
 * FER2013, and LFW's person split (no person on both sides).
 * Usage: test_ds_real smiles|happy|mnist|fer|lfw */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "datasets.h"

#include "../test_check.h"
static nn_input_spec spec = {.width = 28, .height = 28, .channels = 1, .norm = NN_NORM_UNIT,
                             .mean = 0, .std = 1, .crop = {0, 0, 1}, .equalize = 0};

static int load(const char *kind, const char *path, ds_set *s)
{
    char text[4200], err[1024];
    snprintf(text, sizeof text, "%s:%s", kind, path);
    ds_source src;
    if (ds_source_parse(text, &src, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    ds_load_options o = {.spec = &spec, .splits = DS_LOAD_ALL, .log = stderr};
    ds_set_init(s);
    if (ds_load(&src, &o, s, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    printf("%s: n=%d train=%d test=%d positives=%d skipped=%d\n", text, s->n, ds_count(s, DS_TRAIN, -1),
           ds_count(s, DS_TEST, -1), ds_count(s, -1, 1), s->n_skipped);
    return 0;
}

/* The LFW split from labels.csv alone: the person column must match the
 * person parsed from the file name, and no person may be on both sides. */
static void lfw(const char *root)
{
    char path[4200], line[1024];
    snprintf(path, sizeof path, "%s/labels.csv", root);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: cannot open\n", path);
        test_failures++;
        return;
    }
    int rows = 0, test = 0;
    if (!fgets(line, sizeof line, f))
        test_failures++;
    /* person hash -> side seen, in an open-addressing table */
    enum { CAP = 1 << 15 };
    static uint32_t key[CAP];
    static int8_t side[CAP];
    memset(side, -1, sizeof side);
    while (fgets(line, sizeof line, f)) {
        char *file = strtok(line, ",\r\n"), *person = strtok(NULL, ",\r\n");
        if (!file || !person) {
            test_failures++;
            continue;
        }
        char parsed[256];
        ds_person_from_file(file, parsed, sizeof parsed);
        if (strcmp(parsed, person)) {
            fprintf(stderr, "%s: person '%s' but the file name gives '%s'\n", file, person, parsed);
            test_failures++;
        }
        uint32_t h = ds_person_hash(parsed);
        int t = ds_person_is_test(h);
        rows++;
        test += t;
        uint32_t i = h & (CAP - 1);
        while (side[i] >= 0 && key[i] != h)
            i = (i + 1) & (CAP - 1);
        if (side[i] >= 0)
            CHECK(side[i] == t);
        key[i] = h;
        side[i] = (int8_t)t;
    }
    fclose(f);
    printf("lfw: %d rows, %d test (%.1f %%)\n", rows, test, 100.0 * test / (rows ? rows : 1));
    CHECK(rows == 12758);
    CHECK(test > rows / 7 && test < rows / 4);
}

int main(int argc, char **argv)
{
    const char *root = getenv("SMILE_DATASETS");
    if (argc < 2) {
        fprintf(stderr, "usage: %s smiles|happy|mnist|fer|lfw\n", argv[0]);
        return 2;
    }
    char path[4096];
    const char *which = argv[1];
    const char *sub = !strcmp(which, "smiles") ? "SMILEsmileD" : !strcmp(which, "happy") ? "happy-house"
                    : !strcmp(which, "mnist")  ? "mnist-10k"  : !strcmp(which, "fer")     ? "fer2013"
                                                                                         : "lfw-expressions";
    snprintf(path, sizeof path, "%s/%s", root ? root : "", sub);
    struct stat st;
    if (!root || stat(path, &st) || !S_ISDIR(st.st_mode)) {
        printf("SKIP: %s not found (set SMILE_DATASETS)\n", path);
        return 77;
    }
    ds_set s;
    if (!strcmp(which, "lfw")) {
        lfw(path);
        return test_failures ? 1 : 0;
    }
    if (load(!strcmp(which, "smiles") ? "smiles" : !strcmp(which, "happy") ? "happy"
             : !strcmp(which, "mnist") ? "mnist" : "folders", path, &s))
        return 1;
    CHECK(s.n_skipped == 0);
    if (!strcmp(which, "smiles")) {
        /* 3,690 smiling + 9,475 not (the shared README's 9,476 is one too many) */
        CHECK(s.n == 13165 && ds_count(&s, -1, 1) == 3690);
        CHECK(ds_count(&s, DS_TEST, -1) == 2634);
        CHECK(s.n_classes == 2);
    } else if (!strcmp(which, "happy")) {
        CHECK(ds_count(&s, DS_TRAIN, -1) == 600 && ds_count(&s, DS_TEST, -1) == 150);
        int pos = ds_count(&s, -1, 1);
        CHECK(pos > 300 && pos < 450);
    } else if (!strcmp(which, "mnist")) {
        CHECK(ds_count(&s, DS_TRAIN, -1) == 8004 && ds_count(&s, DS_TEST, -1) == 1996);
        CHECK(s.n_classes == 10);
        for (int c = 0; c < 10; c++)
            CHECK(ds_count(&s, DS_TEST, c) > 150);
    } else {
        CHECK(ds_count(&s, DS_TRAIN, -1) == 28709 && ds_count(&s, DS_TEST, -1) == 7178);
        CHECK(ds_count(&s, DS_TRAIN, 1) == 7215 && ds_count(&s, DS_TEST, 1) == 1774);
    }
    /* the images were really cut: hardly any is all one grey (FER2013
     * has a few blank ones) */
    int flat = 0, seen = 0;
    for (int i = 0; i < s.n; i += 97, seen++) {
        const uint8_t *im = s.pixels + (size_t)i * 28 * 28;
        int lo = 255, hi = 0;
        for (int p = 0; p < 28 * 28; p++) {
            lo = im[p] < lo ? im[p] : lo;
            hi = im[p] > hi ? im[p] : hi;
        }
        flat += hi == lo;
    }
    CHECK(flat * 100 <= seen);
    ds_set_free(&s);
    return test_done("ds-real");
}

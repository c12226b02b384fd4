/* test_ds_folders.c - class folders built here: labels from folder names (and
 * the --positive override), a corrupt JPEG reported with its path and
 * skipped and counted (fatal when strict), the person split, missing and
 * empty folders; and augmentation: seeded, repeatable, identity when off,
 * random erasing confined to one rectangle. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "datasets.h"
#include "image_io.h"

#include "../test_check.h"
#ifdef SMILE_HAVE_HEIF
#include "../heif_fixture.h"
#endif
static char dir[] = "/tmp/ds-folders-XXXXXX";

static void mk(const char *sub)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, sub);
    if (mkdir(p, 0755)) {
        perror(p);
        exit(1);
    }
}

/* A 40x40 image whose mean brightness says its class. */
static void image(const char *name, int value)
{
    uint8_t px[40 * 40];
    for (int i = 0; i < 40 * 40; i++)
        px[i] = (uint8_t)(value + (i % 40) / 4);
    char p[512], err[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    if (img_save(p, px, 40, 40, 40, 1, err, sizeof err) != IMG_OK) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
}

static nn_input_spec spec = {.width = 16, .height = 16, .channels = 1, .norm = NN_NORM_UNIT,
                             .mean = 0, .std = 1, .crop = {0, 0, 1}, .equalize = 0};

static ds_status load(const char *text, int strict, FILE *log, ds_set *s, char *err, size_t len)
{
    ds_source src;
    ds_status st = ds_source_parse(text, &src, err, len);
    if (st)
        return st;
    ds_load_options o = {.spec = &spec, .splits = DS_LOAD_ALL, .strict = strict, .log = log};
    ds_set_init(s);
    return ds_load(&src, &o, s, err, len);
}

static void test_folders(void)
{
    mk("set");
    mk("set/happy");
    mk("set/neutral");
    mk("set/sad");
    const char *people[] = {"Ann_Lee", "Bob_Stone", "Carl_Ito", "Dana_Vu", "Eve_Moor", "Finn_Hart"};
    char name[256];
    for (int p = 0; p < 6; p++)
        for (int k = 1; k <= 2; k++) {
            snprintf(name, sizeof name, "set/happy/%s_%04d.jpg", people[p], k);
            image(name, 200);
            snprintf(name, sizeof name, "set/neutral/%s_%04d.png", people[p], k + 2);
            image(name, 40);
        }
    image("set/sad/Ann_Lee_0009.png", 60);
    /* a corrupt JPEG: a valid start, then garbage */
    char bad[512];
    snprintf(bad, sizeof bad, "%s/set/neutral/Zed_Broken_0001.jpg", dir);
    FILE *f = fopen(bad, "wb");
    fwrite("\xff\xd8\xff\xe0garbage-not-a-jpeg", 1, 22, f);
    fclose(f);
    /* ignored: not an image, hidden */
    snprintf(name, sizeof name, "%s/set/happy/notes.txt", dir);
    f = fopen(name, "w");
    fputs("x", f);
    fclose(f);

    char text[600], err[1024];
    snprintf(text, sizeof text, "folders:%s/set", dir);
    ds_set s;
    char logbuf[4096] = "";
    FILE *log = fmemopen(logbuf, sizeof logbuf, "w");
    CHECK(load(text, 0, log, &s, err, sizeof err) == DS_OK);
    fclose(log);
    CHECK(s.n == 25 && s.n_skipped == 1 && s.n_classes == 2);
    CHECK(strstr(logbuf, bad) != NULL);
    CHECK(ds_count(&s, -1, 1) == 12 && ds_count(&s, -1, 0) == 13);
    /* labels follow the pixels: happy images are bright */
    for (int i = 0; i < s.n; i++) {
        const uint8_t *im = s.pixels + (size_t)i * 256;
        CHECK((im[0] > 128) == (s.labels[i] == 1));
    }
    /* the person split: a person's images are all on one side */
    for (int i = 0; i < s.n; i++)
        for (int j = 0; j < s.n; j++)
            if (s.group[i] == s.group[j])
                CHECK(s.split[i] == s.split[j]);
    for (int i = 0; i < s.n; i++)
        CHECK(s.split[i] == (ds_person_is_test(s.group[i]) ? DS_TEST : DS_TRAIN));
    ds_set_free(&s);

    /* strict: the corrupt file is fatal and named */
    CHECK(load(text, 1, NULL, &s, err, sizeof err) == DS_ERR_IMAGE);
    CHECK(strstr(err, bad) != NULL);
    ds_set_free(&s);

    /* positive override: neutral counts as smiling now, happy does not */
    snprintf(text, sizeof text, "folders,positive=neutral+sad:%s/set", dir);
    CHECK(load(text, 0, NULL, &s, err, sizeof err) == DS_OK);
    CHECK(ds_count(&s, -1, 1) == 13 && ds_count(&s, -1, 0) == 12);
    ds_set_free(&s);

    /* train/test subfolders (FER2013 layout) give the split */
    mk("fer");
    mk("fer/train");
    mk("fer/test");
    mk("fer/train/happy");
    mk("fer/train/angry");
    mk("fer/test/happy");
    mk("fer/test/angry");
    image("fer/train/happy/1.jpg", 200);
    image("fer/train/angry/2.jpg", 30);
    image("fer/train/angry/3.jpg", 30);
    image("fer/test/happy/4.png", 200);
    snprintf(text, sizeof text, "folders:%s/fer", dir);
    CHECK(load(text, 0, NULL, &s, err, sizeof err) == DS_OK);
    CHECK(s.n == 4 && ds_count(&s, DS_TEST, -1) == 1 && ds_count(&s, DS_TRAIN, 0) == 2 &&
          ds_count(&s, DS_TEST, 1) == 1);
    ds_set_free(&s);

    /* missing and empty folders, bad source texts */
    snprintf(text, sizeof text, "folders:%s/nothere", dir);
    CHECK(load(text, 0, NULL, &s, err, sizeof err) == DS_ERR_IO && strstr(err, "nothere"));
    mk("empty");
    snprintf(text, sizeof text, "folders:%s/empty", dir);
    CHECK(load(text, 0, NULL, &s, err, sizeof err) == DS_ERR_FORMAT && strstr(err, "empty"));
    snprintf(text, sizeof text, "smiles:%s/set", dir);
    CHECK(load(text, 0, NULL, &s, err, sizeof err) != DS_OK && strstr(err, "SMILEsmileD"));
    ds_source src;
    CHECK(ds_source_parse("pictures:/x", &src, err, sizeof err) == DS_ERR_ARG && strstr(err, "pictures"));
    CHECK(ds_source_parse("smiles", &src, err, sizeof err) == DS_ERR_ARG);
    CHECK(ds_source_parse("smiles,box=1/2:/x", &src, err, sizeof err) == DS_ERR_ARG);
    CHECK(ds_source_parse("folders,detect,box=0/0/1/1:/x", &src, err, sizeof err) == DS_ERR_ARG);
    CHECK(ds_source_parse("smiles,box=0.1/0.2/0.8/0.7:/x/y", &src, err, sizeof err) == DS_OK &&
          src.has_box && src.box[3] > 0.69f && !strcmp(src.path, "/x/y"));
    CHECK(ds_source_parse("folders,limit=5,positive=a+b:/x", &src, err, sizeof err) == DS_OK &&
          src.limit == 5 && src.n_positives == 2);
    CHECK(ds_source_parse("folders,limit=0:/x", &src, err, sizeof err) == DS_ERR_ARG);
    /* a per-source limit: at most 2 images per split and class */
    snprintf(text, sizeof text, "folders,limit=2:%s/set", dir);
    CHECK(load(text, 0, NULL, &s, err, sizeof err) == DS_OK);
    CHECK(ds_count(&s, DS_TRAIN, 1) <= 2 && ds_count(&s, DS_TEST, 0) <= 2 && s.n <= 8 && s.n >= 4);
    ds_set_free(&s);
    /* detect without a detector */
    snprintf(text, sizeof text, "folders,detect:%s/set", dir);
    CHECK(load(text, 0, NULL, &s, err, sizeof err) == DS_ERR_FACE);
    ds_set_free(&s);
}

static void touch(const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (!f || fputs("not read\n", f) < 0 || fclose(f)) {
        perror(p);
        exit(1);
    }
}

/* Files that are not JPEG, PNG or HEIF are left out, counted and named, not
 * passed over in silence; with nothing else, the error says so. */
static void test_other_files(void)
{
    char text[600], err[600];
    ds_set s;
    mk("mixed");
    mk("mixed/happy");
    mk("mixed/neutral");
    image("mixed/happy/a.png", 200);
    image("mixed/neutral/b.png", 40);
    touch("mixed/happy/c.bmp");
    touch("mixed/neutral/a.webp");
    touch("mixed/neutral/notes.txt");
    int heif = 0;
#ifdef SMILE_HAVE_HEIF
    /* a phone's photo is read, not left out */
    uint8_t px[40 * 40];
    for (int i = 0; i < 40 * 40; i++)
        px[i] = (uint8_t)(180 + (i % 40) / 4);
    char hp[512];
    snprintf(hp, sizeof hp, "%s/mixed/happy/d.HEIC", dir);
    REQUIRE(heif_fixture_write(hp, px, 40, 40, 1, 1) == 0, "cannot write %s", hp);
    heif = 1;
#endif
    snprintf(text, sizeof text, "folders:%s/mixed", dir);
    CHECK(load(text, 0, NULL, &s, err, sizeof err) == DS_OK);
    CHECKF(s.n == 2 + heif && s.n_other == 3 && s.n_skipped == 0, "%d images, %d other files, %d skipped", s.n,
           s.n_other, s.n_skipped);
    CHECKF(ds_count(&s, -1, 1) == 1 + heif, "%d smiling images", ds_count(&s, -1, 1));
    CHECKF(strstr(s.other_example, "/mixed/happy/c.bmp") != NULL, "first other file: %s", s.other_example);
    ds_set_free(&s);
    mk("bitmaps");
    mk("bitmaps/happy");
    touch("bitmaps/happy/1.bmp");
    touch("bitmaps/happy/2.bmp");
    snprintf(text, sizeof text, "folders:%s/bitmaps", dir);
    CHECK(load(text, 0, NULL, &s, err, sizeof err) == DS_ERR_FORMAT);
    CHECKF(strstr(err, "2 other files") && strstr(err, "1.bmp") && strstr(err, "PNG"), "%s", err);
    ds_set_free(&s);
}

static void test_person_names(void)
{
    char p[64];
    ds_person_from_file("happiness/Aaron_Eckhart_0001.jpg", p, sizeof p);
    CHECK(!strcmp(p, "Aaron_Eckhart"));
    ds_person_from_file("Abdullah_Gul_0013.jpg", p, sizeof p);
    CHECK(!strcmp(p, "Abdullah_Gul"));
    ds_person_from_file("1234.jpg", p, sizeof p);
    CHECK(!strcmp(p, "1234"));
    CHECK(ds_person_hash("a") == 0xe40c292cu); /* FNV-1a 32 reference value */
}

static void test_augment(void)
{
    uint8_t in[32 * 32], a[32 * 32], b[32 * 32];
    for (int i = 0; i < 32 * 32; i++)
        in[i] = (uint8_t)((i * 37) ^ (i >> 5));
    ds_augment_config cfg;
    ds_augment_defaults(&cfg);
    nn_rng r1, r2;
    nn_rng_seed(&r1, 42);
    nn_rng_seed(&r2, 42);
    int differ_from_input = 0;
    for (int k = 0; k < 20; k++) {
        ds_augment(&cfg, &r1, in, 32, 32, a);
        ds_augment(&cfg, &r2, in, 32, 32, b);
        CHECK(!memcmp(a, b, sizeof a));
        differ_from_input += memcmp(a, in, sizeof a) != 0;
    }
    CHECK(differ_from_input >= 19);
    nn_rng_seed(&r2, 43);
    ds_augment(&cfg, &r2, in, 32, 32, b);
    nn_rng_seed(&r1, 42);
    ds_augment(&cfg, &r1, in, 32, 32, a);
    CHECK(memcmp(a, b, sizeof a) != 0);
    /* everything off: the image passes unchanged */
    ds_augment_config off = {0};
    ds_augment(&off, &r1, in, 32, 32, a);
    CHECK(!memcmp(a, in, sizeof a));
    /* a flip only: rows mirror */
    ds_augment_config flip = {.flip = 1};
    nn_rng_seed(&r1, 7);
    int flipped = 0;
    for (int k = 0; k < 16; k++) {
        ds_augment(&flip, &r1, in, 32, 32, a);
        if (memcmp(a, in, sizeof a)) {
            flipped++;
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++)
                    CHECK(a[y * 32 + x] == in[y * 32 + 31 - x]);
        }
    }
    CHECK(flipped > 2 && flipped < 14);
}

/* Random erasing changes one rectangle of the augmented image and nothing
 * else, at about the asked rate, and leaves the other draws' stream alone. */
static void test_erase(void)
{
    enum { W = 48, H = 40 };
    uint8_t in[W * H], plain[W * H], erased[W * H];
    for (int i = 0; i < W * H; i++)
        in[i] = (uint8_t)((i * 37) ^ (i >> 5));
    ds_augment_config cfg, ecfg;
    ds_augment_defaults(&cfg);
    CHECKF(cfg.erase == 0, "erasing is on by default (%g)", (double)cfg.erase);
    ecfg = cfg;
    ecfg.erase = 1;
    int hit = 0;
    for (int k = 0; k < 50; k++) {
        nn_rng r1, r2;
        nn_rng_seed(&r1, 100 + (uint64_t)k);
        nn_rng_seed(&r2, 100 + (uint64_t)k);
        ds_augment(&cfg, &r1, in, W, H, plain);
        ds_augment(&ecfg, &r2, in, W, H, erased);
        int x0 = W, y0 = H, x1 = -1, y1 = -1;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                if (plain[y * W + x] != erased[y * W + x]) {
                    x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
                    y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
                }
        if (x1 < 0)
            continue;
        hit++;
        /* the differing pixels fit in one rectangle of at most 25 % (plus rounding) */
        int area = (x1 - x0 + 1) * (y1 - y0 + 1);
        CHECKF(area <= W * H / 4 + W + H, "seed %d: erased box %dx%d is over a quarter", k,
               x1 - x0 + 1, y1 - y0 + 1);
    }
    CHECKF(hit == 50, "probability 1 erased %d of 50 images", hit);
    /* probability 0.3 and nothing else on: about 30 of 100 images change */
    nn_rng r;
    nn_rng_seed(&r, 9);
    int changed = 0;
    for (int k = 0; k < 100; k++) {
        ds_augment_config off = {.erase = 0.3f};
        ds_augment(&off, &r, in, W, H, erased);
        changed += memcmp(erased, in, sizeof in) != 0;
    }
    CHECKF(changed >= 15 && changed <= 45, "probability 0.3 erased %d of 100 images", changed);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_person_names();
    test_augment();
    test_erase();
    test_folders();
    test_other_files();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return test_done("ds-folders");
}

/* test_display_matrix.c - a video whose track carries a display matrix (a
 * phone filming upright stores its picture on its side) comes out of the
 * FFmpeg source turned as players show it: for each quarter turn, with and
 * without a mirror, the grey and the I420 frames equal the unturned file's
 * frames turned by the matching Exif orientation, with width and height
 * swapped where they should be. A matrix at 30 degrees leaves the frames as
 * stored. Needs no shared data. */
#include <unistd.h>

#include "frame_source.h"
#include "mov_fixture.h"
#include "test_helpers.h"

enum { W = 70, H = 38, FRAMES = 2 }; /* odd chroma sizes (35 x 19) on purpose */

typedef struct {
    int format, width, height;
    uint8_t *planes[3];
    int stride[3], pw[3], ph[3];
} picture;

static void picture_free(picture *p) {
    for (int i = 0; i < 3; i++) free(p->planes[i]);
    memset(p, 0, sizeof(*p));
}

/* A copy of the frame's planes (1 for grey, 3 for I420), tightly packed. */
static int picture_copy(const cap_frame *f, picture *p) {
    memset(p, 0, sizeof(*p));
    p->format = f->format;
    p->width = f->width;
    p->height = f->height;
    int n = f->format == CAP_FMT_I420 ? 3 : 1;
    const uint8_t *src = f->data;
    for (int i = 0; i < n; i++) {
        int pw = i ? (f->width + 1) / 2 : f->width, ph = i ? (f->height + 1) / 2 : f->height;
        int ss = i ? f->stride / 2 : f->stride;
        p->pw[i] = pw, p->ph[i] = ph, p->stride[i] = pw;
        p->planes[i] = malloc((size_t)pw * ph);
        if (!p->planes[i]) return -1;
        for (int y = 0; y < ph; y++) memcpy(p->planes[i] + (size_t)y * pw, src + (size_t)y * ss, (size_t)pw);
        src += (size_t)ss * ph;
    }
    return 0;
}

/* Reads FRAMES frames of path (colour on or off) into pics; returns the
 * source's orientation, or -1 when it could not be read. */
static int read_pictures(const char *path, int colour, picture *pics) {
    char err[512];
    cap_status st;
    cap_source *s = cap_file_open(path, &st, err, sizeof(err));
    CHECKF(s != NULL, "open %s: %s", path, err);
    if (!s) return -1;
    cap_source_set_colour(s, colour);
    int before = cap_source_orientation(s), ok = 1;
    for (int k = 0; k < FRAMES && ok; k++) {
        cap_frame f;
        st = cap_source_read(s, &f, 0);
        CHECKF(st == CAP_OK, "%s frame %d: %s: %s", path, k, cap_status_str(st), cap_source_error(s));
        ok = st == CAP_OK && picture_copy(&f, &pics[k]) == 0;
        CHECKF(!ok || f.format == (colour ? CAP_FMT_I420 : CAP_FMT_GREY), "%s: format %d", path, f.format);
    }
    int after = cap_source_orientation(s);
    CHECKF(before == after, "%s: orientation %d at open, %d after reading", path, before, after);
    cap_source_free(s);
    return ok ? after : -1;
}

/* Every plane of got equals the same plane of stored turned by o. */
static void check_turned(const char *what, const picture *stored, const picture *got, int o) {
    int swap = o >= 5;
    int ow = swap ? stored->height : stored->width, oh = swap ? stored->width : stored->height;
    CHECKF(got->width == ow && got->height == oh, "%s: %dx%d, want %dx%d", what, got->width,
           got->height, ow, oh);
    if (got->width != ow || got->height != oh) return;
    int n = stored->format == CAP_FMT_I420 ? 3 : 1;
    for (int i = 0; i < n; i++) {
        int pw = stored->pw[i], ph = stored->ph[i];
        int tw = swap ? ph : pw, th = swap ? pw : ph;
        uint8_t *want = malloc((size_t)tw * th);
        REQUIRE(want, "out of memory");
        img_orient(stored->planes[i], pw, ph, stored->stride[i], 1, o, want, tw);
        CHECKF(got->pw[i] == tw && got->ph[i] == th && memcmp(want, got->planes[i], (size_t)tw * th) == 0,
               "%s: plane %d differs from the stored picture turned by orientation %d", what, i, o);
        free(want);
    }
}

int main(void) {
    char *dir = test_tmpdir();
    REQUIRE(dir, "no temporary folder");
    /* a colour picture that no turn or mirror maps onto itself */
    uint8_t *rgb = malloc((size_t)W * H * 3);
    REQUIRE(rgb, "out of memory");
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *p = rgb + ((size_t)y * W + x) * 3;
            p[0] = (uint8_t)(x * 255 / W);
            p[1] = (uint8_t)(y * 255 / H);
            p[2] = (x < W / 4 && y < H / 3) ? 255 : 40;
        }
    uint8_t *jpeg = NULL;
    size_t jsize = 0;
    REQUIRE(img_jpeg_encode(rgb, W, H, W * 3, 3, 95, &jpeg, &jsize) == IMG_OK, "cannot encode");
    free(rgb);
    char err[512], plain[400];
    snprintf(plain, sizeof(plain), "%s/plain.mov", dir);
    REQUIRE(mov_fixture_write(plain, W, H, 10, FRAMES, &jpeg, &jsize, 1, NULL, err, sizeof(err)) == 0, "%s", err);
    picture stored[2][FRAMES]; /* [colour][frame] */
    for (int c = 0; c < 2; c++)
        REQUIRE(read_pictures(plain, c, stored[c]) == 1, "%s: not read as stored", plain);

    /* (clockwise degrees, mirror) -> the Exif orientation that shows it */
    static const struct { double cw; int hflip, orientation; } cases[] = {
        {0, 0, 1}, {90, 0, 6}, {180, 0, 3}, {270, 0, 8},
        {0, 1, 2}, {90, 1, 5}, {180, 1, 4}, {270, 1, 7},
        {-90, 0, 8}, {30, 0, 1},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        char path[400], what[120];
        snprintf(path, sizeof(path), "%s/turned%zu.mov", dir, k);
        int32_t m[9];
        mov_fixture_matrix(m, cases[k].cw, cases[k].hflip);
        REQUIRE(mov_fixture_write(path, W, H, 10, FRAMES, &jpeg, &jsize, 1, m, err, sizeof(err)) == 0, "%s", err);
        for (int c = 0; c < 2; c++) {
            picture got[FRAMES];
            memset(got, 0, sizeof(got));
            int o = read_pictures(path, c, got);
            snprintf(what, sizeof(what), "%g degrees clockwise%s, %s", cases[k].cw,
                     cases[k].hflip ? " then mirrored" : "", c ? "I420" : "grey");
            CHECKF(o == cases[k].orientation, "%s: orientation %d, want %d", what, o, cases[k].orientation);
            if (o >= 0)
                for (int f = 0; f < FRAMES; f++) check_turned(what, &stored[c][f], &got[f], cases[k].orientation);
            for (int f = 0; f < FRAMES; f++) picture_free(&got[f]);
        }
        unlink(path);
    }
    for (int c = 0; c < 2; c++)
        for (int f = 0; f < FRAMES; f++) picture_free(&stored[c][f]);
    free(jpeg);
    unlink(plain);
    rmdir(dir);
    return test_done("display-matrix");
}

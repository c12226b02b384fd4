/* Round trips, marker checks and damaged input for imageio. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <turbojpeg.h>
#include <zlib.h>

#include "image_io.h"
#ifdef SMILE_HAVE_HEIF
#include "../heif_fixture.h"
#endif

#include "../test_check.h"
/* A smooth test card: JPEG keeps it close, so round-trip error stays small. */
static void make_card(uint8_t *px, int w, int h, int ch)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < ch; c++)
                px[(y * w + x) * ch + c] = (uint8_t)((x * 255 / (w - 1) + y * 3 + c * 40) % 256 / 2 + 60);
}

static double mean_abs_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += abs((int)a[i] - (int)b[i]);
    return s / (double)n;
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fclose(f);
}

/* Up to cap bytes of the file at path; 0 when it cannot be opened. */
static size_t read_file(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, cap, f) : 0;
    if (f)
        fclose(f);
    return n;
}

static void test_jpeg_round_trip(void)
{
    enum { W = 96, H = 64 };
    for (int ch = 1; ch <= 3; ch += 2) {
        uint8_t px[W * H * 3], out[W * H * 3];
        make_card(px, W, H, ch);
        uint8_t *jpg = NULL;
        size_t n = 0;
        CHECKF(img_jpeg_encode(px, W, H, W * ch, ch, 95, &jpg, &n) == IMG_OK, "encode ch=%d", ch);
        CHECKF(img_jpeg_markers_ok(jpg, n), "fresh JPEG must have SOI/EOI");
        img_jpeg *j = img_jpeg_new();
        int w = 0, h = 0;
        CHECKF(img_jpeg_decode(j, jpg, n, ch, 1, out, W * ch, &w, &h) == IMG_OK, "%s", img_jpeg_error(j));
        CHECKF(w == W && h == H, "size %dx%d", w, h);
        double d = mean_abs_diff(px, out, (size_t)W * H * (size_t)ch);
        /* RGB is stored with 4:2:0 chroma subsampling, so colour edges lose more. */
        CHECKF(d < (ch == 1 ? 2.0 : 6.0), "ch=%d mean error %.2f", ch, d);

        /* DCT scaling halves each side. */
        CHECKF(img_jpeg_decode(j, jpg, n, 1, 2, out, W, &w, &h) == IMG_OK, "%s", img_jpeg_error(j));
        CHECKF(w == W / 2 && h == H / 2, "scaled size %dx%d", w, h);

        /* Truncated frames: markers fail, and decoding reports corruption instead of crashing. */
        CHECKF(!img_jpeg_markers_ok(jpg, n / 2), "half a JPEG has no EOI");
        CHECKF(img_jpeg_decode(j, jpg, n / 2, ch, 1, out, W * ch, &w, &h) == IMG_ERR_CORRUPT,
              "truncated JPEG must be CORRUPT");
        CHECKF(strstr(img_jpeg_error(j), "corrupt") != NULL, "message: %s", img_jpeg_error(j));
        /* Trailing zero padding after EOI, as UVC cameras send, is accepted. */
        uint8_t *padded = calloc(n + 16, 1);
        memcpy(padded, jpg, n);
        CHECKF(img_jpeg_markers_ok(padded, n + 16), "zero padding after EOI");
        padded[0] = 0;
        CHECKF(!img_jpeg_markers_ok(padded, n + 16), "no SOI");
        free(padded);
        /* Garbage never crashes. */
        uint8_t junk[256];
        for (int i = 0; i < 256; i++)
            junk[i] = (uint8_t)(i * 37 + 11);
        junk[0] = 0xFF, junk[1] = 0xD8, junk[2] = 0xFF;
        CHECKF(img_jpeg_decode(j, junk, sizeof junk, 1, 1, out, W, &w, &h) != IMG_OK, "junk decoded");
        CHECKF(img_jpeg_decode(j, jpg, n, 1, 3, out, W, &w, &h) == IMG_ERR_ARG, "scale 3 is invalid");
        /* After damaged input the same decoder still reads a good frame. */
        uint8_t header_only[64];
        memcpy(header_only, jpg, sizeof header_only);
        CHECKF(img_jpeg_info(j, header_only, sizeof header_only, &w, &h) != IMG_OK ||
                  img_jpeg_decode(j, header_only, sizeof header_only, ch, 1, out, W * ch, &w, &h) != IMG_OK,
              "64-byte prefix decoded");
        CHECKF(img_jpeg_decode(j, jpg, n, ch, 1, out, W * ch, &w, &h) == IMG_OK,
              "good frame after bad ones: %s", img_jpeg_error(j));
        img_jpeg_free(j);
        free(jpg);
    }
}

static void test_files(const char *dir)
{
    enum { W = 33, H = 17 };
    char path[512], err[512];
    uint8_t px[W * H * 3];
    make_card(px, W, H, 3);
    img_image im;

    /* PNG is lossless: RGB round trip is exact. */
    snprintf(path, sizeof path, "%s/card.png", dir);
    CHECKF(img_save(path, px, W, H, W * 3, 3, err, sizeof err) == IMG_OK, "%s", err);
    CHECKF(img_load(path, 3, &im, err, sizeof err) == IMG_OK, "%s", err);
    CHECKF(im.width == W && im.height == H && im.channels == 3, "png dims");
    CHECKF(im.pixels && memcmp(im.pixels, px, sizeof px) == 0, "png pixels differ");
    img_image_free(&im);
    /* Grey from an RGB PNG uses luma weights: a grey card stays grey. */
    uint8_t grey[W * H], grey3[W * H * 3];
    for (int i = 0; i < W * H; i++)
        grey[i] = (uint8_t)(i % 251), grey3[3 * i] = grey3[3 * i + 1] = grey3[3 * i + 2] = grey[i];
    CHECKF(img_save(path, grey3, W, H, W * 3, 3, err, sizeof err) == IMG_OK, "%s", err);
    CHECKF(img_load(path, 1, &im, err, sizeof err) == IMG_OK, "%s", err);
    CHECKF(im.channels == 1 && mean_abs_diff(im.pixels, grey, W * H) < 1.0, "rgb->grey");
    img_image_free(&im);

    /* JPEG file, by content even with a misleading name. */
    snprintf(path, sizeof path, "%s/card.jpg", dir);
    CHECKF(img_save(path, px, W, H, W * 3, 3, err, sizeof err) == IMG_OK, "%s", err);
    char other[600];
    snprintf(other, sizeof other, "%s/really-a-jpeg.png", dir);
    CHECKF(rename(path, other) == 0, "rename");
    CHECKF(img_load(other, 1, &im, err, sizeof err) == IMG_OK, "%s", err);
    CHECKF(im.width == W && im.height == H, "jpeg dims");
    img_image_free(&im);

    /* Damaged files name the path and say why. */
    snprintf(path, sizeof path, "%s/missing.jpg", dir);
    CHECKF(img_load(path, 1, &im, err, sizeof err) == IMG_ERR_IO, "missing");
    CHECKF(strstr(err, "missing.jpg") != NULL, "message names the file: %s", err);
    snprintf(path, sizeof path, "%s/text.jpg", dir);
    write_file(path, "hello, not an image\n", 20);
    CHECKF(img_load(path, 1, &im, err, sizeof err) == IMG_ERR_UNSUPPORTED, "text file: %s", err);
    CHECKF(strstr(err, "text.jpg") != NULL, "message names the file: %s", err);
    snprintf(path, sizeof path, "%s/empty.png", dir);
    write_file(path, "", 0);
    CHECKF(img_load(path, 1, &im, err, sizeof err) == IMG_ERR_CORRUPT, "empty: %s", err);

    /* A PNG cut short at every length fails cleanly. */
    snprintf(path, sizeof path, "%s/card.png", dir);
    CHECKF(img_save(path, px, W, H, W * 3, 3, err, sizeof err) == IMG_OK, "%s", err);
    uint8_t buf[8192];
    size_t n = read_file(path, buf, sizeof buf);
    CHECKF(n > 100, "png size %zu", n);
    int bad_ok = 0;
    for (size_t cut = 8; cut < n - 12; cut += 7) {
        snprintf(path, sizeof path, "%s/cut.png", dir);
        write_file(path, buf, cut);
        if (img_load(path, 3, &im, err, sizeof err) == IMG_OK) {
            bad_ok++;
            img_image_free(&im);
        }
    }
    CHECKF(bad_ok == 0, "%d truncated PNGs loaded", bad_ok);

    /* A text chunk after IHDR (8 + 25 bytes in): libpng would allocate the
     * stated length before reading, so a damaged length is refused up front,
     * naming the chunk. A sound one, even with a bad CRC, still loads. */
    CHECKF(n + 40 < sizeof buf, "room for a chunk");
    if (n + 40 >= sizeof buf)
        return;
    uint8_t with_text[sizeof buf];
    const size_t at = 33;
    static const uint8_t text_chunk[] = {0, 0, 0, 7, 't', 'E', 'X', 't', 'a', 0, 'b', 'c', 'd', 'e', 'f', 0, 0, 0, 0};
    memcpy(with_text, buf, at);
    memcpy(with_text + at, text_chunk, sizeof text_chunk);
    memcpy(with_text + at + sizeof text_chunk, buf + at, n - at);
    size_t tn = n + sizeof text_chunk;
    snprintf(path, sizeof path, "%s/text.png", dir);
    write_file(path, with_text, tn);
    CHECKF(img_load(path, 3, &im, err, sizeof err) == IMG_OK, "sound tEXt chunk: %s", err);
    CHECKF(im.pixels && memcmp(im.pixels, px, sizeof px) == 0, "pixels with a tEXt chunk");
    img_image_free(&im);
    with_text[at] = 0x75; /* 1.96 GB stated, as a fuzzer found */
    write_file(path, with_text, tn);
    CHECKF(img_load(path, 3, &im, err, sizeof err) == IMG_ERR_CORRUPT, "huge tEXt length loaded");
    CHECKF(strstr(err, "text.png") && strstr(err, "'tEXt'") && strstr(err, "byte 33"), "message: %s", err);
    unlink(path);
}

static void test_real_face(void)
{
    const char *ds = getenv("SMILE_DATASETS");
    if (!ds)
        return;
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/SMILEsmileD/SMILEs/positives/positives7/10007.jpg", ds);
    if (access(path, R_OK) != 0)
        return;
    img_image im;
    CHECKF(img_load(path, 1, &im, err, sizeof err) == IMG_OK, "%s", err);
    CHECKF(im.width == 64 && im.height == 64, "SMILEsmileD crops are 64x64, got %dx%d", im.width, im.height);
    img_image_free(&im);
}

static void put16(uint8_t *b, int *k, int big_endian, unsigned v)
{
    b[(*k)++] = (uint8_t)(big_endian ? v >> 8 : v & 255);
    b[(*k)++] = (uint8_t)(big_endian ? v & 255 : v >> 8);
}

static void put32(uint8_t *b, int *k, int big_endian, unsigned v)
{
    put16(b, k, big_endian, big_endian ? v >> 16 : v & 0xFFFF);
    put16(b, k, big_endian, big_endian ? v & 0xFFFF : v >> 16);
}

/* The TIFF block of an Exif with orientation o (0: no Orientation tag),
 * big-endian ("MM") or little-endian ("II"). */
static void exif_tiff(uint8_t tiff[26], int o, int big_endian)
{
    int k = 0;
    tiff[k++] = big_endian ? 'M' : 'I';
    tiff[k++] = big_endian ? 'M' : 'I';
    put16(tiff, &k, big_endian, 42);
    put32(tiff, &k, big_endian, 8);         /* IFD0 right after the header */
    put16(tiff, &k, big_endian, 1);         /* one entry */
    put16(tiff, &k, big_endian, o ? 0x0112 : 0x010F); /* Orientation, or Make when o is 0 */
    put16(tiff, &k, big_endian, 3);         /* SHORT */
    put32(tiff, &k, big_endian, 1);
    put16(tiff, &k, big_endian, o);
    put16(tiff, &k, big_endian, 0);
    put32(tiff, &k, big_endian, 0);         /* no next IFD */
}

/* A JPEG file of px (w x h) with an Exif block giving orientation o, in
 * big-endian ("MM") or little-endian ("II") TIFF order; o 0 writes no tag.
 * damage > 0 cuts the Exif block's IFD short by that many bytes. */
static void write_exif_jpeg(const char *path, const uint8_t *px, int w, int h, int ch, int o,
                            int big_endian, int damage)
{
    uint8_t *jpeg = NULL;
    size_t n = 0;
    if (img_jpeg_encode(px, w, h, w * ch, ch, 95, &jpeg, &n) != IMG_OK) {
        fprintf(stderr, "encode failed\n");
        exit(1);
    }
    uint8_t tiff[26];
    exif_tiff(tiff, o, big_endian);
    int tlen = (int)sizeof tiff - damage;
    int seg = 2 + 6 + tlen;
    FILE *f = fopen(path, "wb");
    uint8_t app1[10] = {0xFF, 0xE1, (uint8_t)(seg >> 8), (uint8_t)seg, 'E', 'x', 'i', 'f', 0, 0};
    if (!f || fwrite(jpeg, 1, 2, f) != 2 || fwrite(app1, 1, 10, f) != 10 ||
        fwrite(tiff, 1, (size_t)tlen, f) != (size_t)tlen || fwrite(jpeg + 2, 1, n - 2, f) != n - 2) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fclose(f);
    free(jpeg);
}

/* A PNG of px (w x h) with an eXIf chunk giving orientation o, placed after
 * IHDR or, with after_data, just before IEND (the PNG spec allows both). */
static void write_exif_png(const char *path, const uint8_t *px, int w, int h, int ch, int o,
                           int big_endian, int after_data)
{
    char err[512];
    static uint8_t png[65536], out[65536 + 64];
    if (img_save(path, px, w, h, w * ch, ch, err, sizeof err) != IMG_OK) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    size_t n = read_file(path, png, sizeof png);
    size_t at = after_data ? n - 12 : 33; /* IEND is the last 12 bytes; IHDR ends at 33 */
    uint8_t chunk[4 + 4 + 26 + 4];
    int k = 0;
    put32(chunk, &k, 1, 26);
    memcpy(chunk + k, "eXIf", 4);
    exif_tiff(chunk + 8, o, big_endian);
    k = 8 + 26;
    put32(chunk, &k, 1, (unsigned)crc32(0, chunk + 4, 4 + 26)); /* PNG's CRC is zlib's */
    memcpy(out, png, at);
    memcpy(out + at, chunk, sizeof chunk);
    memcpy(out + at + sizeof chunk, png + at, n - at);
    write_file(path, out, n + sizeof chunk);
}

/* The bounding box of the pixels brighter than 128. */
static void bright_box(const img_image *im, int *x0, int *y0, int *x1, int *y1)
{
    *x0 = im->width, *y0 = im->height, *x1 = -1, *y1 = -1;
    for (int y = 0; y < im->height; y++)
        for (int x = 0; x < im->width; x++)
            if (im->pixels[(size_t)y * im->stride + (size_t)x * im->channels] > 128) {
                *x0 = x < *x0 ? x : *x0, *y0 = y < *y0 ? y : *y0;
                *x1 = x > *x1 ? x : *x1, *y1 = y > *y1 ? y : *y1;
            }
}

/* A JPEG header may claim any size; one that claims more pixels than its
 * bytes could code is refused before a buffer is allocated for them. A real
 * flat picture, the most compressible kind, still loads. */
static void test_jpeg_size_claims(const char *dir)
{
    enum { W = 2048, H = 1536 };
    char path[512], err[512];
    img_image im;
    uint8_t *flat = malloc((size_t)W * H * 3);
    CHECKF(flat != NULL, "malloc");
    if (!flat)
        return;
    memset(flat, 128, (size_t)W * H * 3);
    snprintf(path, sizeof path, "%s/flat.jpg", dir);
    CHECKF(img_save(path, flat, W, H, W * 3, 3, err, sizeof err) == IMG_OK, "%s", err);
    free(flat);
    CHECKF(img_load(path, 1, &im, err, sizeof err) == IMG_OK, "flat %dx%d JPEG: %s", W, H, err);
    CHECKF(im.pixels && im.width == W && im.height == H && im.pixels[0] > 120 && im.pixels[0] < 136,
           "flat JPEG");
    img_image_free(&im);

    /* A small card whose SOF0 then claims 16000x16000 (256 Mpx in ~1 kB). */
    enum { CW = 33, CH = 17 };
    uint8_t px[CW * CH * 3], buf[16384];
    make_card(px, CW, CH, 3);
    CHECKF(img_save(path, px, CW, CH, CW * 3, 3, err, sizeof err) == IMG_OK, "%s", err);
    size_t n = read_file(path, buf, sizeof buf);
    size_t sof = 0;
    for (size_t i = 2; i + 9 < n && !sof; i++)
        if (buf[i] == 0xff && buf[i + 1] == 0xc0)
            sof = i;
    CHECKF(sof && buf[sof + 5] == 0 && buf[sof + 6] == CH, "SOF0 with height %d not found", CH);
    if (!sof)
        return;
    buf[sof + 5] = 16000 >> 8, buf[sof + 6] = 16000 & 255; /* height */
    buf[sof + 7] = 16000 >> 8, buf[sof + 8] = 16000 & 255; /* width */
    write_file(path, buf, n);
    CHECKF(img_load(path, 1, &im, err, sizeof err) == IMG_ERR_CORRUPT, "a 16000x16000 claim loaded");
    CHECKF(strstr(err, "flat.jpg") && strstr(err, "16000x16000") && strstr(err, "cannot fit"), "message: %s", err);
    /* The same for frames in memory, whose callers size buffers from the header. */
    img_jpeg *j = img_jpeg_new();
    int w = 0, h = 0;
    CHECKF(j && img_jpeg_info(j, buf, n, &w, &h) == IMG_ERR_CORRUPT, "img_jpeg_info took the claim (%dx%d)", w, h);
    CHECKF(j && strstr(img_jpeg_error(j), "cannot fit"), "frame message: %s", j ? img_jpeg_error(j) : "");
    img_jpeg_free(j);
    unlink(path);
}

/* Photos from phones are stored sideways with an Exif Orientation; img_load
 * must hand them over upright. A wide bright bar in the stored top-left
 * corner must show up in the corner, and with the shape, that the tag's
 * meaning (Exif 2.3, 0th row / 0th column) puts it in. */
static void test_exif_orientation(const char *dir)
{
    enum { W = 48, H = 24, BW = 16, BH = 6 };
    static const struct {
        int right, bottom; /* where the stored top-left corner is shown */
    } want[9] = {{0, 0}, {0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}, {1, 0}, {1, 1}, {0, 1}};
    uint8_t px[W * H * 3];
    char path[512], err[512];
    for (int ch = 1; ch <= 3; ch += 2) {
        for (int i = 0; i < W * H * ch; i++)
            px[i] = 30;
        for (int y = 0; y < BH; y++)
            for (int x = 0; x < BW * ch; x++)
                px[y * W * ch + x] = 230;
        for (int t = 0; t < 27; t++) {
            int o = t % 9, kind = t / 9; /* a JPEG, a PNG with eXIf before or after IDAT */
            snprintf(path, sizeof path, "%s/exif%d.%s", dir, o, kind ? "png" : "jpg");
            if (kind)
                write_exif_png(path, px, W, H, ch, o, o % 2, kind == 2);
            else
                write_exif_jpeg(path, px, W, H, ch, o, o % 2, 0);
            img_image im;
            if (img_load(path, ch, &im, err, sizeof err) != IMG_OK) {
                CHECKF(0, "%s: orientation %d: %s", path, o, err);
                continue;
            }
            int turned = o >= 5;
            CHECKF(im.width == (turned ? H : W) && im.height == (turned ? W : H),
                   "%s: orientation %d: %dx%d", path, o, im.width, im.height);
            CHECKF(im.orientation == (o ? o : 1), "%s: reports orientation %d, applied %d", path,
                   im.orientation, o ? o : 1);
            int x0, y0, x1, y1;
            bright_box(&im, &x0, &y0, &x1, &y1);
            int bw = x1 - x0 + 1, bh = y1 - y0 + 1;
            CHECKF(bw == (turned ? BH : BW) && bh == (turned ? BW : BH),
                   "orientation %d, %d channel(s): the bar is %dx%d", o, ch, bw, bh);
            CHECKF((want[o].right ? x1 == im.width - 1 : x0 == 0) &&
                       (want[o].bottom ? y1 == im.height - 1 : y0 == 0),
                   "orientation %d: the bar at %d,%d-%d,%d of %dx%d", o, x0, y0, x1, y1, im.width,
                   im.height);
            img_image_free(&im);
            unlink(path);
        }
    }
    /* an orientation out of range, or an Exif block cut inside its one entry
     * (8, 12 bytes short) or before it (20): the image as stored */
    static const int cuts[] = {0, 8, 12, 20};
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        int damage = cuts[c];
        snprintf(path, sizeof path, "%s/exif-bad.jpg", dir);
        write_exif_jpeg(path, px, W, H, 3, damage ? 6 : 9, 1, damage);
        img_image im;
        CHECKF(img_load(path, 3, &im, err, sizeof err) == IMG_OK, "damaged Exif (%d): %s", damage, err);
        if (im.pixels) {
            CHECKF(im.width == W && im.height == H, "damaged Exif (%d): %dx%d", damage, im.width, im.height);
            img_image_free(&im);
        }
        unlink(path);
    }
}

/* A CMYK JPEG (as print workflows write them, YCCK inside) loads as the
 * colours it stands for: with libjpeg's inverted convention (255 = no ink)
 * the left half, K 255, gives back the card's RGB; the right half, CMY 255
 * and K 128, is mid grey. */
static void test_cmyk(const char *dir)
{
    enum { W = 64, H = 32 };
    uint8_t rgb[W * H * 3], cmyk[W * H * 4], want[W * H * 3], grey[W * H];
    make_card(rgb, W, H, 3);
    for (int i = 0; i < W * H; i++) {
        int left = i % W < W / 2;
        for (int c = 0; c < 3; c++) {
            cmyk[4 * i + c] = left ? rgb[3 * i + c] : 255;
            want[3 * i + c] = left ? rgb[3 * i + c] : 128;
        }
        cmyk[4 * i + 3] = left ? 255 : 128;
        grey[i] = (uint8_t)(0.299 * want[3 * i] + 0.587 * want[3 * i + 1] + 0.114 * want[3 * i + 2] + 0.5);
    }
    tjhandle enc = tjInitCompress();
    unsigned char *jpeg = NULL;
    unsigned long len = 0;
    int rc = tjCompress2(enc, cmyk, W, W * 4, H, TJPF_CMYK, &jpeg, &len, TJSAMP_444, 95, 0);
    tjDestroy(enc);
    CHECKF(rc == 0, "CMYK encode");
    if (rc != 0)
        return;
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/cmyk.jpg", dir);
    write_file(path, jpeg, len);
    tjFree(jpeg);
    img_image im;
    CHECKF(img_load(path, 3, &im, err, sizeof err) == IMG_OK, "CMYK as RGB: %s", err);
    if (im.pixels) {
        double d = mean_abs_diff(im.pixels, want, sizeof want);
        CHECKF(im.width == W && im.height == H && d < 3.0, "CMYK as RGB: %dx%d, off by %.2f", im.width,
               im.height, d);
        img_image_free(&im);
    }
    CHECKF(img_load(path, 1, &im, err, sizeof err) == IMG_OK, "CMYK as grey: %s", err);
    if (im.pixels) {
        double d = mean_abs_diff(im.pixels, grey, sizeof grey);
        CHECKF(d < 3.0, "CMYK as grey: off by %.2f", d);
        img_image_free(&im);
    }
    unlink(path);
}

/* img_exif_orientation reads what FFmpeg does not apply: a TIFF file's own
 * Orientation, even with its IFD after 100 KB of image data (past libexif's
 * 64 KB), and a WebP's EXIF chunk, with or without the "Exif\0\0" some
 * writers put first, after a chunk of odd length (padded). Cut or bent
 * files give 1, never a read out of bounds (the test runs under ASan). */
static void test_tiff_webp_orientation(void)
{
    enum { FILL = 100000 };
    uint8_t *buf = calloc(1, FILL + 200);
    REQUIRE(buf, "out of memory");
    for (int be = 0; be <= 1; be++)
        for (int o = 0; o <= 9; o++) {
            uint8_t t[26];
            exif_tiff(t, o, be);
            /* a TIFF file: header, image data, then IFD0 */
            memcpy(buf, t, 8);
            int k = 4;
            put32(buf, &k, be, 8 + FILL);
            memcpy(buf + 8 + FILL, t + 8, 18);
            int want = o >= 1 && o <= 8 ? o : 1;
            size_t size = 8 + FILL + 18;
            CHECKF(img_exif_orientation(buf, size) == want, "TIFF (%s) with orientation %d: %d",
                   be ? "MM" : "II", o, img_exif_orientation(buf, size));
            /* the IFD cut short: no answer, and nothing read past the end */
            CHECKF(img_exif_orientation(buf, size - 7) == 1, "TIFF cut inside its entry");
            CHECKF(img_exif_orientation(buf, 8 + FILL + 1) == 1, "TIFF cut inside its entry count");
        }
    /* the IFD offset pointing past the file */
    uint8_t t[26];
    exif_tiff(t, 6, 0);
    int k = 4;
    put32(t, &k, 0, 0xFFFFFFF0u);
    CHECKF(img_exif_orientation(t, sizeof t) == 1, "TIFF whose IFD is past its end");

    for (int pre = 0; pre <= 1; pre++) {
        /* RIFF WEBP: a VP8X chunk, a 5-byte (padded) chunk, then EXIF */
        uint8_t w[120];
        int n = 0;
        memcpy(w, "RIFF\0\0\0\0WEBPVP8X", 16), n = 16;
        put32(w, &n, 0, 10);
        memset(w + n, 0, 10), w[n] = 0x08, n += 10;
        memcpy(w + n, "ICCP", 4), n += 4;
        put32(w, &n, 0, 5);
        memcpy(w + n, "abcde\0", 6), n += 6;
        memcpy(w + n, "EXIF", 4), n += 4;
        put32(w, &n, 0, 26 + (pre ? 6 : 0));
        if (pre)
            memcpy(w + n, "Exif\0\0", 6), n += 6;
        exif_tiff(w + n, 8, 1), n += 26;
        int r = 4;
        put32(w, &r, 0, (unsigned)n - 8);
        CHECKF(img_exif_orientation(w, (size_t)n) == 8, "WebP EXIF chunk%s: %d",
               pre ? " with its Exif prefix" : "", img_exif_orientation(w, (size_t)n));
        for (int cut = 1; cut < n - 12; cut += 3)
            CHECKF(img_exif_orientation(w, (size_t)(n - cut)) == 1, "WebP cut %d bytes short", cut);
        /* a chunk claiming more than the file holds ends the walk */
        r = 16; /* VP8X's length */
        put32(w, &r, 0, 1000);
        CHECKF(img_exif_orientation(w, (size_t)n) == 1, "WebP with an oversized chunk");
    }
    const uint8_t junk[] = "not a picture at all";
    CHECKF(img_exif_orientation(junk, sizeof junk) == 1 && img_exif_orientation(NULL, 0) == 1,
           "junk has an orientation");
    free(buf);
}

/* img_is_heif tells HEIF and AVIF stills from videos by the ftyp brands. */
static void test_heif_sniff(void)
{
    struct { const char *head; int heif; } c[] = {
        {"\0\0\0\x18" "ftypheic\0\0\0\0mif1heic", 1},
        {"\0\0\0\x1c" "ftypmif1\0\0\0\0mif1heicmiaf", 1},
        {"\0\0\0\x1c" "ftypavif\0\0\0\0avifmif1miaf", 1},
        {"\0\0\0\x18" "ftypmsf1\0\0\0\0msf1mif1", 1}, /* compatible brand */
        {"\0\0\0\x18" "ftypisom\0\0\x02\0isomiso2", 0}, /* an MP4 video */
        {"\0\0\0\x14" "ftypqt  \0\0\x02\0qt  ", 0},      /* a MOV */
        {"\0\0\0\x10" "ftypisom\0\0\0\0heic", 0},       /* a brand past its box */
        {"\xff\xff\xff\xff" "ftypisom\0\0\0\0", 0},         /* a box longer than the data */
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        size_t n = i == 6 ? 24 : (size_t)(unsigned char)c[i].head[3];
        if (i == 7)
            n = 16;
        CHECKF(img_is_heif((const uint8_t *)c[i].head, n) == c[i].heif, "case %zu: heif %d", i,
               !c[i].heif);
    }
    CHECK(img_is_heif(NULL, 0) == 0);
}

#ifdef SMILE_HAVE_HEIF
/* Phones save HEIC: a picture stored turned, with a HEIF orientation, comes
 * out of img_load upright and close to the pixels written (lossy), in grey
 * and in RGB; a cut file fails with its name. */
static void test_heif(const char *dir)
{
    enum { W = 96, H = 64 };
    uint8_t rgb[W * H * 3], grey[W * H], side[W * H * 3];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *p = rgb + (y * W + x) * 3;
            int block = x < W / 3 && y < H / 3; /* a bright block at the top left */
            p[0] = block ? 250 : (uint8_t)(x * 2);
            p[1] = block ? 250 : (uint8_t)(y * 3);
            p[2] = block ? 250 : 60;
            grey[y * W + x] = (uint8_t)((77 * p[0] + 150 * p[1] + 29 * p[2] + 128) >> 8);
        }
    /* stored turned a quarter anticlockwise; orientation 6 turns it back */
    img_orient(rgb, W, H, W * 3, 3, 8, side, H * 3);
    char up[600], turned[600], cut[600], err[700];
    snprintf(up, sizeof up, "%s/up.heic", dir);
    snprintf(turned, sizeof turned, "%s/turned.heic", dir);
    snprintf(cut, sizeof cut, "%s/cut.heic", dir);
    REQUIRE(heif_fixture_write(up, rgb, W, H, 3, 1) == 0 && heif_fixture_write(turned, side, H, W, 3, 6) == 0,
            "cannot write HEIF files");
    for (int k = 0; k < 2; k++) {
        const char *path = k ? turned : up;
        for (int ch = 1; ch <= 3; ch += 2) {
            img_image im;
            img_status st = img_load(path, ch, &im, err, sizeof err);
            CHECKF(st == IMG_OK, "%s: %s", path, err);
            if (st != IMG_OK)
                continue;
            CHECKF(im.width == W && im.height == H && im.channels == ch, "%s: %dx%dx%d", path, im.width,
                   im.height, im.channels);
            if (im.width == W && im.height == H) {
                double d = mean_abs_diff(im.pixels, ch == 3 ? rgb : grey, (size_t)W * H * (size_t)ch);
                CHECKF(d < 6, "%s, %d channel(s): %.1f from the pixels written", path, ch, d);
                /* the block is where it was written, not turned */
                CHECKF(im.pixels[(H / 6) * im.stride + (W / 6) * ch] > 200 &&
                           im.pixels[(H - H / 6) * im.stride + (W / 6) * ch] < 200,
                       "%s: the bright block is not at the top left", path);
            }
            img_image_free(&im);
        }
    }
    size_t n;
    FILE *f = fopen(up, "rb");
    REQUIRE(f, "cannot reopen %s", up);
    uint8_t *all = malloc(1 << 20);
    n = fread(all, 1, 1 << 20, f);
    fclose(f);
    FILE *g = fopen(cut, "wb");
    REQUIRE(g, "cannot write %s", cut);
    fwrite(all, 1, n * 2 / 3, g);
    fclose(g);
    free(all);
    img_image im;
    img_status st = img_load(cut, 1, &im, err, sizeof err);
    CHECKF(st != IMG_OK && strstr(err, "cut.heic"), "a cut HEIC: status %d, '%s'", st, err);
    if (st == IMG_OK)
        img_image_free(&im);
}
#endif

int main(void)
{
    char dir[] = "/tmp/test-imageio-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_jpeg_round_trip();
    test_files(dir);
    test_exif_orientation(dir);
    test_tiff_webp_orientation();
    test_heif_sniff();
#ifdef SMILE_HAVE_HEIF
    test_heif(dir);
#endif
    test_cmyk(dir);
    test_jpeg_size_claims(dir);
    test_real_face();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not clean %s\n", dir);
    return test_done("image-io");
}

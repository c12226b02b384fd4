/* image_io.c - JPEG via TurboJPEG (2.1 API), PNG via libpng, HEIF/AVIF via
 * libheif. */
#include "image_io.h"

#include <errno.h>
#include <libexif/exif-data.h>
#ifdef SMILE_HAVE_HEIF
#include <libheif/heif.h>
#endif
#include <limits.h>
#include <png.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

static void set_err(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *buf, size_t len, const char *fmt, ...)
{
    if (!buf || !len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

void img_image_free(img_image *im)
{
    if (!im)
        return;
    free(im->pixels);
    memset(im, 0, sizeof *im);
}

/* ------------------------------------------------------------------ JPEG */

struct img_jpeg {
    tjhandle dec;
    int colorspace;  /* TJCS_* of the last header read */
    uint8_t *cmyk;   /* CMYK/YCCK decodes go through here, grown as needed */
    size_t cmyk_cap;
    char err[256];
};

img_jpeg *img_jpeg_new(void)
{
    img_jpeg *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->dec = tjInitDecompress();
    if (!j->dec) {
        free(j);
        return NULL;
    }
    return j;
}

void img_jpeg_free(img_jpeg *j)
{
    if (!j)
        return;
    tjDestroy(j->dec);
    free(j->cmyk);
    free(j);
}

const char *img_jpeg_error(const img_jpeg *j) { return j ? j->err : "no decoder"; }

/* TurboJPEG 2.1 leaves a handle unusable after some header errors (every
 * later frame fails with "SOS before SOF"), so a failed call gets a fresh one.
 * The error text is copied first: it lives in the old handle. */
static void reset_after_error(img_jpeg *j)
{
    tjhandle fresh = tjInitDecompress();
    if (fresh) {
        tjDestroy(j->dec);
        j->dec = fresh;
    }
}

int img_jpeg_markers_ok(const uint8_t *data, size_t size)
{
    if (!data || size < 4 || data[0] != 0xFF || data[1] != 0xD8)
        return 0;
    /* Some UVC cameras pad the payload with zeros after EOI. */
    size_t end = size;
    while (end > 2 && data[end - 1] == 0x00)
        end--;
    return end >= 4 && data[end - 2] == 0xFF && data[end - 1] == 0xD9;
}

img_status img_jpeg_info(img_jpeg *j, const uint8_t *data, size_t size, int *width, int *height)
{
    if (!j || !data || size == 0 || size > (size_t)0x7fffffff) {
        if (j)
            snprintf(j->err, sizeof j->err, "empty or oversized JPEG buffer");
        return IMG_ERR_ARG;
    }
    int w, h, subsamp, cs;
    if (tjDecompressHeader3(j->dec, data, (unsigned long)size, &w, &h, &subsamp, &cs) != 0) {
        snprintf(j->err, sizeof j->err, "not a JPEG: %s", tjGetErrorStr2(j->dec));
        reset_after_error(j);
        return IMG_ERR_CORRUPT;
    }
    /* A stream that ends before its frame header can still "succeed" here
     * with stale sizes; a JPEG's sides are 16-bit. */
    if (w <= 0 || h <= 0 || w > 65535 || h > 65535) {
        snprintf(j->err, sizeof j->err, "not a JPEG: no valid frame header (size %dx%d)", w, h);
        reset_after_error(j);
        return IMG_ERR_CORRUPT;
    }
    /* Huffman coding spends at least a bit on each 8x8 block's DC, so no
     * real JPEG holds over 512 pixels a byte (a flat grey one: about 250).
     * A header claiming far more would have callers allocate and decode
     * hundreds of megapixels of nothing (fuzzing found 5121x51456 in 213
     * bytes of arithmetic coding: 25 s and 1.7 GB). */
    if ((size_t)w * (size_t)h / 1024 > size) {
        snprintf(j->err, sizeof j->err, "%dx%d pixels cannot fit in %zu bytes: damaged header", w, h,
                 size);
        reset_after_error(j);
        return IMG_ERR_CORRUPT;
    }
    j->colorspace = cs;
    if (width)
        *width = w;
    if (height)
        *height = h;
    return IMG_OK;
}

/* CMYK (print workflows, Adobe's inverted convention as libjpeg hands it
 * over: 255 is no ink) to RGB or grey without colour management, the
 * formula libjpeg-turbo's own tools use: R = C*K/255. Grey is BT.601 luma,
 * as the decoder gives for YCbCr files. */
static void cmyk_to_out(const uint8_t *cmyk, int w, int h, int channels, uint8_t *out, int stride)
{
    for (int y = 0; y < h; y++) {
        const uint8_t *s = cmyk + (size_t)y * (size_t)w * 4;
        uint8_t *d = out + (size_t)y * (size_t)stride;
        for (int x = 0; x < w; x++, s += 4) {
            int k = s[3];
            int r = (s[0] * k + 127) / 255, g = (s[1] * k + 127) / 255, b = (s[2] * k + 127) / 255;
            if (channels == 1) {
                d[x] = (uint8_t)((19595 * r + 38470 * g + 7471 * b + 32768) >> 16);
            } else {
                d[3 * x] = (uint8_t)r;
                d[3 * x + 1] = (uint8_t)g;
                d[3 * x + 2] = (uint8_t)b;
            }
        }
    }
}

img_status img_jpeg_decode(img_jpeg *j, const uint8_t *data, size_t size, int channels,
                           int scale_denom, uint8_t *out, int stride, int *out_w, int *out_h)
{
    if (!j || !out || (channels != 1 && channels != 3) ||
        (scale_denom != 1 && scale_denom != 2 && scale_denom != 4 && scale_denom != 8)) {
        if (j)
            snprintf(j->err, sizeof j->err, "bad decode arguments");
        return IMG_ERR_ARG;
    }
    int w, h;
    img_status st = img_jpeg_info(j, data, size, &w, &h);
    if (st != IMG_OK)
        return st;
    int sw = TJSCALED(w, ((tjscalingfactor){1, scale_denom}));
    int sh = TJSCALED(h, ((tjscalingfactor){1, scale_denom}));
    if (stride < sw * channels) {
        snprintf(j->err, sizeof j->err, "stride %d too small for width %d", stride, sw);
        return IMG_ERR_ARG;
    }
    /* TurboJPEG cannot turn CMYK into RGB or grey itself. */
    int cmyk = j->colorspace == TJCS_CMYK || j->colorspace == TJCS_YCCK;
    if (cmyk && (size_t)sw * (size_t)sh * 4 > j->cmyk_cap) {
        uint8_t *p = realloc(j->cmyk, (size_t)sw * (size_t)sh * 4);
        if (!p) {
            snprintf(j->err, sizeof j->err, "out of memory for a %dx%d CMYK picture", sw, sh);
            return IMG_ERR_NOMEM;
        }
        j->cmyk = p;
        j->cmyk_cap = (size_t)sw * (size_t)sh * 4;
    }
    /* TJFLAG_STOPONWARNING: a truncated frame is an error, not grey filler. */
    int rc = tjDecompress2(j->dec, data, (unsigned long)size, cmyk ? j->cmyk : out, sw,
                           cmyk ? sw * 4 : stride, sh,
                           cmyk ? TJPF_CMYK : channels == 1 ? TJPF_GRAY : TJPF_RGB,
                           TJFLAG_FASTDCT | TJFLAG_STOPONWARNING);
    if (rc != 0) {
        snprintf(j->err, sizeof j->err, "corrupt JPEG: %s", tjGetErrorStr2(j->dec));
        reset_after_error(j);
        return IMG_ERR_CORRUPT;
    }
    if (cmyk)
        cmyk_to_out(j->cmyk, sw, sh, channels, out, stride);
    if (out_w)
        *out_w = sw;
    if (out_h)
        *out_h = sh;
    return IMG_OK;
}

img_status img_jpeg_encode(const uint8_t *pixels, int width, int height, int stride, int channels,
                           int quality, uint8_t **jpeg, size_t *jpeg_size)
{
    if (!pixels || !jpeg || !jpeg_size || width <= 0 || height <= 0 ||
        (channels != 1 && channels != 3))
        return IMG_ERR_ARG;
    tjhandle enc = tjInitCompress();
    if (!enc)
        return IMG_ERR_NOMEM;
    unsigned char *buf = NULL;
    unsigned long len = 0;
    int rc = tjCompress2(enc, pixels, width, stride, height, channels == 1 ? TJPF_GRAY : TJPF_RGB,
                         &buf, &len, channels == 1 ? TJSAMP_GRAY : TJSAMP_420,
                         quality < 1 ? 90 : quality, TJFLAG_FASTDCT);
    tjDestroy(enc);
    if (rc != 0) {
        tjFree(buf);
        return IMG_ERR_CORRUPT;
    }
    /* Hand back malloc'd memory so callers need not know about tjFree. */
    *jpeg = malloc(len);
    if (!*jpeg) {
        tjFree(buf);
        return IMG_ERR_NOMEM;
    }
    memcpy(*jpeg, buf, len);
    *jpeg_size = len;
    tjFree(buf);
    return IMG_OK;
}

/* ------------------------------------------------------------------ files */

static img_status read_whole(const char *path, uint8_t **data, size_t *size, char *eb, size_t el)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(eb, el, "%s: cannot open: %s", path, strerror(errno));
        return IMG_ERR_IO;
    }
    struct stat stb;
    if (fstat(fileno(f), &stb) != 0 || !S_ISREG(stb.st_mode)) {
        set_err(eb, el, "%s: not a regular file", path);
        fclose(f);
        return IMG_ERR_IO;
    }
    if (stb.st_size <= 0 || stb.st_size > (1L << 30)) {
        set_err(eb, el, "%s: %s", path, stb.st_size <= 0 ? "empty file" : "file too large");
        fclose(f);
        return IMG_ERR_CORRUPT;
    }
    uint8_t *buf = malloc((size_t)stb.st_size);
    if (!buf) {
        fclose(f);
        set_err(eb, el, "%s: out of memory", path);
        return IMG_ERR_NOMEM;
    }
    size_t got = fread(buf, 1, (size_t)stb.st_size, f);
    fclose(f);
    if (got != (size_t)stb.st_size) {
        free(buf);
        set_err(eb, el, "%s: short read", path);
        return IMG_ERR_IO;
    }
    *data = buf;
    *size = got;
    return IMG_OK;
}

static img_status load_jpeg(const char *path, const uint8_t *data, size_t size, int channels,
                            img_image *out, char *eb, size_t el)
{
    img_jpeg *j = img_jpeg_new();
    if (!j)
        return IMG_ERR_NOMEM;
    int w, h;
    img_status st = img_jpeg_info(j, data, size, &w, &h);
    if (st == IMG_OK && ((size_t)w * (size_t)h > (size_t)1 << 28 || w <= 0 || h <= 0)) {
        snprintf(j->err, sizeof j->err, "unreasonable size %dx%d", w, h);
        st = IMG_ERR_CORRUPT;
    }
    if (st == IMG_OK) {
        out->pixels = malloc((size_t)w * (size_t)h * (size_t)channels);
        if (!out->pixels)
            st = IMG_ERR_NOMEM;
    }
    if (st == IMG_OK)
        st = img_jpeg_decode(j, data, size, channels, 1, out->pixels, w * channels, NULL, NULL);
    if (st == IMG_OK) {
        out->width = w;
        out->height = h;
        out->channels = channels;
        out->stride = w * channels;
    } else {
        set_err(eb, el, "%s: %s", path, img_jpeg_error(j));
        img_image_free(out);
    }
    img_jpeg_free(j);
    return st;
}

typedef struct {
    const uint8_t *data;
    size_t size, pos;
} png_mem;

static void png_read_mem(png_structp png, png_bytep dst, size_t n)
{
    png_mem *m = png_get_io_ptr(png);
    if (m->pos + n > m->size)
        png_error(png, "truncated PNG");
    memcpy(dst, m->data + m->pos, n);
    m->pos += n;
}

static void png_error_fn(png_structp png, png_const_charp msg)
{
    char *eb = png_get_error_ptr(png);
    snprintf(eb, 200, "%s", msg);
    png_longjmp(png, 1);
}

static void png_warn_fn(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* libpng 1.6.39 allocates a text chunk's stated length before reading it, so
 * one damaged length field could cost gigabytes. Every chunk must fit in the
 * bytes we hold; returns 0, or -1 with the first chunk that does not. */
static int png_chunks_fit(const uint8_t *data, size_t size, char *eb, size_t el)
{
    size_t pos = 8; /* after the signature */
    while (size - pos >= 8) {
        size_t len = (size_t)data[pos] << 24 | (size_t)data[pos + 1] << 16 |
                     (size_t)data[pos + 2] << 8 | data[pos + 3];
        const uint8_t *type = data + pos + 4;
        if (len > size - pos - 8 || size - pos - 8 - len < 4) {
            char name[5];
            for (int i = 0; i < 4; i++)
                name[i] = type[i] >= 0x20 && type[i] < 0x7f ? (char)type[i] : '?';
            name[4] = 0;
            snprintf(eb, el, "truncated PNG: chunk '%s' at byte %zu claims %zu bytes, %zu remain",
                     name, pos, len, size - pos - 8);
            return -1;
        }
        if (memcmp(type, "IEND", 4) == 0)
            break;
        pos += 12 + len;
    }
    return 0;
}

/* The Exif Orientation (tag 0x0112) of a JPEG, or of an Exif block that
 * starts "Exif\0\0": 1 (as stored) when there is none or it is unreadable;
 * a damaged Exif block never fails the image. */
static int exif_orientation(const uint8_t *data, size_t size)
{
    ExifData *ed = exif_data_new_from_data(data, size > UINT_MAX ? UINT_MAX : (unsigned)size);
    if (!ed)
        return 1;
    int o = 1;
    ExifEntry *e = exif_content_get_entry(ed->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
    if (e && e->format == EXIF_FORMAT_SHORT && e->components >= 1 && e->size >= 2)
        o = exif_get_short(e->data, exif_data_get_byte_order(ed));
    exif_data_unref(ed);
    return o >= 1 && o <= 8 ? o : 1;
}

/* The Orientation tag (0x0112) in the first IFD of a TIFF structure (a TIFF
 * file, or a WebP's EXIF chunk), read here because libexif takes at most
 * 64 KB, the JPEG APP1 limit, and a TIFF file keeps its IFD anywhere,
 * usually after the image data. 1 when absent or out of bounds. */
static int tiff_orientation(const uint8_t *t, size_t size)
{
    if (size < 8)
        return 1;
    int le = t[0] == 'I' && t[1] == 'I' && t[2] == 42 && t[3] == 0;
    int be = t[0] == 'M' && t[1] == 'M' && t[2] == 0 && t[3] == 42;
    if (!le && !be)
        return 1;
#define U16(p) (le ? (unsigned)((p)[0] | (p)[1] << 8) : (unsigned)((p)[0] << 8 | (p)[1]))
#define U32(p) (le ? ((uint32_t)(p)[0] | (uint32_t)(p)[1] << 8 | (uint32_t)(p)[2] << 16 | (uint32_t)(p)[3] << 24) \
                   : ((uint32_t)(p)[0] << 24 | (uint32_t)(p)[1] << 16 | (uint32_t)(p)[2] << 8 | (uint32_t)(p)[3]))
    uint32_t ifd = U32(t + 4);
    if (ifd > size - 2)
        return 1;
    unsigned n = U16(t + ifd);
    const uint8_t *e = t + ifd + 2;
    if ((size - ifd - 2) / 12 < n)
        return 1;
    for (unsigned i = 0; i < n; i++, e += 12)
        if (U16(e) == 0x0112 && U16(e + 2) == 3 /* SHORT */ && U32(e + 4) >= 1) {
            unsigned o = U16(e + 8);
            return o >= 1 && o <= 8 ? (int)o : 1;
        }
    return 1;
#undef U16
#undef U32
}

int img_exif_orientation(const uint8_t *data, size_t size)
{
    if (!data)
        return 1;
    if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        return exif_orientation(data, size);
    if (size >= 12 && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "WEBP", 4) == 0) {
        for (size_t off = 12; off <= size && size - off >= 8;) {
            const uint8_t *c = data + off;
            uint32_t len = (uint32_t)c[4] | (uint32_t)c[5] << 8 | (uint32_t)c[6] << 16 | (uint32_t)c[7] << 24;
            if (len > size - off - 8)
                break;
            if (memcmp(c, "EXIF", 4) == 0) {
                /* the chunk is a TIFF structure; some writers put "Exif\0\0" first */
                int pre = len >= 6 && memcmp(c + 8, "Exif\0\0", 6) == 0 ? 6 : 0;
                return tiff_orientation(c + 8 + pre, len - (uint32_t)pre);
            }
            off += 8 + (size_t)len + (len & 1);
        }
        return 1;
    }
    return tiff_orientation(data, size);
}

/* *orientation receives the Exif Orientation of an eXIf chunk (PNG 1.5), 1 without one. */
static img_status load_png(const char *path, const uint8_t *data, size_t size, int channels,
                           img_image *out, int *orientation, char *eb, size_t el)
{
    *orientation = 1;
    char pngerr[200] = "corrupt PNG";
    if (png_chunks_fit(data, size, pngerr, sizeof pngerr) != 0) {
        set_err(eb, el, "%s: %s", path, pngerr);
        return IMG_ERR_CORRUPT;
    }
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, pngerr, png_error_fn, png_warn_fn);
    if (!png)
        return IMG_ERR_NOMEM;
    png_infop info = png_create_info_struct(png);
    png_mem mem = {data, size, 0};
    /* volatile: modified between setjmp and a possible longjmp. */
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (!info || setjmp(png_jmpbuf(png))) {
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        set_err(eb, el, "%s: %s", path, pngerr);
        return IMG_ERR_CORRUPT;
    }
    png_set_read_fn(png, &mem, png_read_mem);
    png_set_user_limits(png, 16384, 16384);
    /* Caps what a compressed text or profile chunk may inflate to. */
    png_set_chunk_malloc_max(png, 8u << 20);
    png_read_info(png, info);
    png_set_expand(png);
    png_set_strip_16(png);
    png_set_strip_alpha(png);
    png_byte ct = png_get_color_type(png, info);
    int is_grey = !(ct & PNG_COLOR_MASK_COLOR);
    if (channels == 1 && !is_grey)
        png_set_rgb_to_gray_fixed(png, 1, -1, -1); /* Rec. 709 weights, as libjpeg's luma is close to */
    if (channels == 3 && is_grey)
        png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int w = (int)png_get_image_width(png, info), h = (int)png_get_image_height(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (rowbytes != (size_t)w * (size_t)channels)
        png_error(png, "unexpected PNG layout");
    pixels = malloc(rowbytes * (size_t)h);
    rows = malloc(sizeof(png_bytep) * (size_t)h);
    if (!pixels || !rows)
        png_error(png, "out of memory");
    for (int y = 0; y < h; y++)
        rows[y] = pixels + (size_t)y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, info); /* an eXIf chunk may follow the image data */
    png_uint_32 exif_len = 0;
    png_bytep exif = NULL;
    /* The chunk holds the TIFF block alone; libexif wants the APP1 header before it. */
    if (png_get_eXIf_1(png, info, &exif_len, &exif) && exif && exif_len <= (1u << 20)) {
        uint8_t *block = malloc((size_t)exif_len + 6);
        if (block) {
            memcpy(block, "Exif\0\0", 6);
            memcpy(block + 6, exif, exif_len);
            *orientation = exif_orientation(block, (size_t)exif_len + 6);
            free(block);
        }
    }
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    out->pixels = pixels;
    out->width = w;
    out->height = h;
    out->channels = channels;
    out->stride = (int)rowbytes;
    return IMG_OK;
}

void img_orient(const uint8_t *src, int w, int h, int stride, int channels, int orientation,
                uint8_t *dst, int dst_stride)
{
    if (orientation < 1 || orientation > 8)
        orientation = 1;
    int swap = orientation >= 5;
    int ow = swap ? h : w, oh = swap ? w : h;
    ptrdiff_t px = channels, row = stride;
    for (int y = 0; y < oh; y++) {
        /* where output row y starts in src, and the step to its next pixel */
        int sx, sy;
        ptrdiff_t step;
        switch (orientation) {
        case 2: sx = w - 1, sy = y, step = -px; break;
        case 3: sx = w - 1, sy = h - 1 - y, step = -px; break;
        case 4: sx = 0, sy = h - 1 - y, step = px; break;
        case 5: sx = y, sy = 0, step = row; break;
        case 6: sx = y, sy = h - 1, step = -row; break;
        case 7: sx = w - 1 - y, sy = h - 1, step = -row; break;
        case 8: sx = w - 1 - y, sy = 0, step = row; break;
        default: sx = 0, sy = y, step = px; break;
        }
        const uint8_t *s = src + (ptrdiff_t)sy * row + (ptrdiff_t)sx * px;
        uint8_t *d = dst + (ptrdiff_t)y * dst_stride;
        if (channels == 1)
            for (int x = 0; x < ow; x++, s += step)
                d[x] = *s;
        else
            for (int x = 0; x < ow; x++, s += step)
                memcpy(d + (ptrdiff_t)x * px, s, (size_t)channels);
    }
}

/* ------------------------------------------------------------ HEIF/AVIF */

int img_is_heif(const uint8_t *data, size_t size)
{
    if (!data || size < 16 || memcmp(data + 4, "ftyp", 4) != 0)
        return 0;
    /* still-image brands; a video's ftyp (isom, mp42, qt ...) names none of them */
    static const char brands[][5] = {"heic", "heix", "heim", "heis", "mif1", "avif"};
    size_t box = (size_t)data[0] << 24 | (size_t)data[1] << 16 | (size_t)data[2] << 8 | data[3];
    if (box > size)
        box = size;
    for (size_t off = 8; off + 4 <= box; off += off == 8 ? 8 : 4) /* major, then compatible */
        for (size_t b = 0; b < sizeof brands / sizeof brands[0]; b++)
            if (memcmp(data + off, brands[b], 4) == 0)
                return 1;
    return 0;
}

#ifdef SMILE_HAVE_HEIF
/* libheif applies the file's irot/imir boxes, which are a HEIF's orientation
 * (its Exif tag, when there is one, says the same and must not be applied
 * again). Grey is the BT.601 luma of the RGB that libheif gives. */
static img_status load_heif(const char *path, const uint8_t *data, size_t size, int channels,
                            img_image *out, char *eb, size_t el)
{
    struct heif_context *ctx = heif_context_alloc();
    if (!ctx) {
        set_err(eb, el, "%s: out of memory", path);
        return IMG_ERR_NOMEM;
    }
    heif_context_set_maximum_image_size_limit(ctx, 16384);
    heif_context_set_max_decoding_threads(ctx, 0); /* callers run their own threads */
    struct heif_image_handle *handle = NULL;
    struct heif_image *img = NULL;
    img_status st = IMG_OK;
    struct heif_error e = heif_context_read_from_memory_without_copy(ctx, data, size, NULL);
    if (e.code == heif_error_Ok)
        e = heif_context_get_primary_image_handle(ctx, &handle);
    if (e.code == heif_error_Ok) {
        int w = heif_image_handle_get_width(handle), h = heif_image_handle_get_height(handle);
        if (w <= 0 || h <= 0 || (size_t)w * (size_t)h > (size_t)1 << 28) {
            set_err(eb, el, "%s: unreasonable size %dx%d", path, w, h);
            st = IMG_ERR_CORRUPT;
        } else {
            e = heif_decode_image(handle, &img, heif_colorspace_RGB, heif_chroma_interleaved_RGB, NULL);
        }
    }
    if (st == IMG_OK && e.code != heif_error_Ok) {
        set_err(eb, el, "%s: %s", path, e.message);
        st = e.code == heif_error_Memory_allocation_error ? IMG_ERR_NOMEM
             : e.code == heif_error_Unsupported_filetype || e.code == heif_error_Unsupported_feature
                 ? IMG_ERR_UNSUPPORTED
                 : IMG_ERR_CORRUPT;
    }
    int stride = 0;
    const uint8_t *px = st == IMG_OK ? heif_image_get_plane_readonly(img, heif_channel_interleaved, &stride) : NULL;
    int w = img ? heif_image_get_width(img, heif_channel_interleaved) : 0;
    int h = img ? heif_image_get_height(img, heif_channel_interleaved) : 0;
    if (st == IMG_OK && (!px || w <= 0 || h <= 0 || stride < 3 * w)) {
        set_err(eb, el, "%s: libheif gave no RGB image", path);
        st = IMG_ERR_CORRUPT;
    }
    if (st == IMG_OK && !(out->pixels = malloc((size_t)w * (size_t)h * (size_t)channels))) {
        set_err(eb, el, "%s: out of memory", path);
        st = IMG_ERR_NOMEM;
    }
    if (st == IMG_OK) {
        for (int y = 0; y < h; y++) {
            const uint8_t *s = px + (size_t)y * (size_t)stride;
            uint8_t *d = out->pixels + (size_t)y * (size_t)w * (size_t)channels;
            if (channels == 3)
                memcpy(d, s, (size_t)w * 3);
            else
                for (int x = 0; x < w; x++, s += 3)
                    d[x] = (uint8_t)((77 * s[0] + 150 * s[1] + 29 * s[2] + 128) >> 8);
        }
        out->width = w;
        out->height = h;
        out->channels = channels;
        out->stride = w * channels;
    }
    heif_image_release(img);
    heif_image_handle_release(handle);
    heif_context_free(ctx);
    return st;
}
#endif

/* Turns a decoded image upright, as a photo viewer shows it. */
static img_status apply_orientation(img_image *im, int orientation)
{
    if (orientation <= 1 || orientation > 8)
        return IMG_OK;
    int swap = orientation >= 5;
    int ow = swap ? im->height : im->width, oh = swap ? im->width : im->height;
    uint8_t *out = malloc((size_t)ow * (size_t)oh * (size_t)im->channels);
    if (!out)
        return IMG_ERR_NOMEM;
    img_orient(im->pixels, im->width, im->height, im->stride, im->channels, orientation, out,
               ow * im->channels);
    free(im->pixels);
    im->pixels = out;
    im->width = ow;
    im->height = oh;
    im->stride = ow * im->channels;
    return IMG_OK;
}

img_status img_decode(const uint8_t *data, size_t size, const char *name, int channels,
                      img_image *out, char *eb, size_t el)
{
    if (!out || (!data && size) || (channels != 1 && channels != 3)) {
        set_err(eb, el, "img_decode: bad arguments");
        return IMG_ERR_ARG;
    }
    memset(out, 0, sizeof *out);
    const char *path = name ? name : "image";
    img_status st;
    int orientation = 1;
    if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) {
        st = load_jpeg(path, data, size, channels, out, eb, el);
        if (st == IMG_OK)
            orientation = exif_orientation(data, size);
    } else if (size >= 8 && png_sig_cmp(data, 0, 8) == 0)
        st = load_png(path, data, size, channels, out, &orientation, eb, el);
    else if (img_is_heif(data, size)) {
#ifdef SMILE_HAVE_HEIF
        st = load_heif(path, data, size, channels, out, eb, el);
#else
        set_err(eb, el, "%s: a HEIF or AVIF picture, and this build has no libheif", path);
        st = IMG_ERR_UNSUPPORTED;
#endif
    } else {
        set_err(eb, el, "%s: neither a JPEG, a PNG nor a HEIF or AVIF file", path);
        st = IMG_ERR_UNSUPPORTED;
    }
    if (st == IMG_OK)
        out->orientation = orientation >= 1 && orientation <= 8 ? orientation : 1;
    if (st == IMG_OK && (st = apply_orientation(out, orientation))) {
        set_err(eb, el, "%s: out of memory turning the picture upright", path);
        img_image_free(out);
    }
    return st;
}

img_status img_load(const char *path, int channels, img_image *out, char *eb, size_t el)
{
    if (!path || !out || (channels != 1 && channels != 3)) {
        set_err(eb, el, "img_load: bad arguments");
        return IMG_ERR_ARG;
    }
    memset(out, 0, sizeof *out);
    uint8_t *data;
    size_t size;
    img_status st = read_whole(path, &data, &size, eb, el);
    if (st != IMG_OK)
        return st;
    st = img_decode(data, size, path, channels, out, eb, el);
    free(data);
    return st;
}

static img_status write_png_file(FILE *f, const uint8_t *pixels, int w, int h, int stride, int ch)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    if (!png)
        return IMG_ERR_NOMEM;
    png_infop info = png_create_info_struct(png);
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return IMG_ERR_IO;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8,
                 ch == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++)
        png_write_row(png, pixels + (size_t)y * (size_t)stride);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return IMG_OK;
}

img_status img_save(const char *path, const uint8_t *pixels, int width, int height, int stride,
                    int channels, char *eb, size_t el)
{
    if (!path || !pixels || width <= 0 || height <= 0 || (channels != 1 && channels != 3)) {
        set_err(eb, el, "img_save: bad arguments");
        return IMG_ERR_ARG;
    }
    const char *dot = strrchr(path, '.');
    int png = dot && (strcasecmp(dot, ".png") == 0);
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp)
        return IMG_ERR_NOMEM;
    snprintf(tmp, plen + 16, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        set_err(eb, el, "%s: cannot create: %s", path, strerror(errno));
        free(tmp);
        return IMG_ERR_IO;
    }
    fchmod(fd, 0644);
    FILE *f = fdopen(fd, "wb");
    img_status st = f ? IMG_OK : IMG_ERR_IO;
    if (st == IMG_OK && png)
        st = write_png_file(f, pixels, width, height, stride, channels);
    else if (st == IMG_OK) {
        uint8_t *jpg = NULL;
        size_t n = 0;
        st = img_jpeg_encode(pixels, width, height, stride, channels, 92, &jpg, &n);
        if (st == IMG_OK && fwrite(jpg, 1, n, f) != n)
            st = IMG_ERR_IO;
        free(jpg);
    }
    if (f) {
        if (fflush(f) != 0 || fsync(fileno(f)) != 0)
            st = st == IMG_OK ? IMG_ERR_IO : st;
        fclose(f);
    } else {
        close(fd);
    }
    if (st == IMG_OK && rename(tmp, path) != 0)
        st = IMG_ERR_IO;
    if (st != IMG_OK) {
        set_err(eb, el, "%s: cannot write: %s", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return st;
}

/* frame_convert.c - camera/file frames to grey or RGB24. MJPEG goes through
 * libjpeg-turbo (grey straight from luma, optional DCT scaling); the raw
 * formats are converted here with BT.601 limited-range coefficients, which
 * is what UVC cameras send. */
#include "frame_source.h"
#include "image_io.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cap_convert {
    img_jpeg *jpeg;
    char err[512];
};

static cap_status cv_fail(cap_convert *cv, cap_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static cap_status cv_fail(cap_convert *cv, cap_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cv->err, sizeof(cv->err), fmt, ap);
    va_end(ap);
    return st;
}

cap_convert *cap_convert_new(void) {
    cap_convert *cv = calloc(1, sizeof(*cv));
    if (!cv) return NULL;
    cv->jpeg = img_jpeg_new();
    if (!cv->jpeg) { free(cv); return NULL; }
    return cv;
}

void cap_convert_free(cap_convert *cv) {
    if (!cv) return;
    img_jpeg_free(cv->jpeg);
    free(cv);
}

const char *cap_convert_error(const cap_convert *cv) { return cv ? cv->err : "no converter"; }

/* TurboJPEG 2.1's tjDecompressHeader3 returns on error without aborting the
 * decompressor, so the handle stays mid-header and every later frame fails
 * ("SOS before SOF"). One bad camera frame must not break the stream: after
 * any JPEG error we start over with a fresh decoder. */
static void jpeg_reset(cap_convert *cv) {
    img_jpeg *fresh = img_jpeg_new();
    if (!fresh) return; /* keep the old one; the next call may still work */
    img_jpeg_free(cv->jpeg);
    cv->jpeg = fresh;
}

static const char *fmt_name(cap_pixfmt f) {
    switch (f) {
    case CAP_FMT_MJPEG: return "MJPEG";
    case CAP_FMT_YUYV: return "YUYV";
    case CAP_FMT_GREY: return "GREY";
    case CAP_FMT_I420: return "I420";
    }
    return "unknown";
}

/* Checks that a raw frame's buffer holds every row it claims: a short buffer
 * is a truncated frame (CAP_CORRUPT), never a read past the end. */
static cap_status check_raw(cap_convert *cv, const cap_frame *f) {
    if (f->width <= 0 || f->height <= 0 || f->width > 16384 || f->height > 16384 || !f->data)
        return cv_fail(cv, CAP_UNSUPPORTED, "frame %lld: bad %s frame geometry %dx%d",
                       (long long)f->index, fmt_name(f->format), f->width, f->height);
    size_t need;
    int minstride;
    switch (f->format) {
    case CAP_FMT_YUYV: minstride = 2 * f->width; need = (size_t)f->stride * (size_t)f->height; break;
    case CAP_FMT_GREY: minstride = f->width; need = (size_t)f->stride * (size_t)f->height; break;
    case CAP_FMT_I420:
        minstride = f->width + (f->width & 1); /* chroma rows need (w+1)/2 <= stride/2 */
        need = cap_i420_size(f->stride, f->height);
        break;
    default: return cv_fail(cv, CAP_UNSUPPORTED, "unknown pixel format %d", (int)f->format);
    }
    if (f->stride < minstride)
        return cv_fail(cv, CAP_UNSUPPORTED, "frame %lld: %s stride %d too small for width %d",
                       (long long)f->index, fmt_name(f->format), f->stride, f->width);
    if (f->size < need)
        return cv_fail(cv, CAP_CORRUPT, "frame %lld: truncated %s frame: %zu of %zu bytes",
                       (long long)f->index, fmt_name(f->format), f->size, need);
    return CAP_OK;
}

static cap_status check_jpeg(cap_convert *cv, const cap_frame *f, int scale_denom) {
    if (!img_jpeg_markers_ok(f->data, f->size))
        return cv_fail(cv, CAP_CORRUPT, "frame %lld: truncated JPEG (%zu bytes, no SOI/EOI marker)",
                       (long long)f->index, f->size);
    int w, h;
    if (img_jpeg_info(cv->jpeg, f->data, f->size, &w, &h) != IMG_OK) {
        cv_fail(cv, CAP_CORRUPT, "frame %lld: %s", (long long)f->index, img_jpeg_error(cv->jpeg));
        jpeg_reset(cv);
        return CAP_CORRUPT;
    }
    /* The caller sized its buffer from the frame's declared size; a JPEG that
     * disagrees would write past it. */
    if (w != f->width || h != f->height)
        return cv_fail(cv, CAP_CORRUPT, "frame %lld: JPEG is %dx%d but the stream is %dx%d",
                       (long long)f->index, w, h, f->width, f->height);
    (void)scale_denom;
    return CAP_OK;
}

/* Luma of a raw frame, box-averaged by d (1, 2, 4, 8); output size rounds up
 * like libjpeg's DCT scaling so callers size buffers the same way. */
static void raw_grey(const cap_frame *f, int d, uint8_t *out, int out_stride, int ow, int oh) {
    int step = f->format == CAP_FMT_YUYV ? 2 : 1;
    for (int oy = 0; oy < oh; oy++) {
        uint8_t *o = out + (size_t)oy * out_stride;
        int y0 = oy * d, y1 = y0 + d < f->height ? y0 + d : f->height;
        for (int ox = 0; ox < ow; ox++) {
            int x0 = ox * d, x1 = x0 + d < f->width ? x0 + d : f->width;
            unsigned sum = 0, n = 0;
            for (int y = y0; y < y1; y++) {
                const uint8_t *row = f->data + (size_t)y * f->stride;
                for (int x = x0; x < x1; x++) { sum += row[(size_t)x * step]; n++; }
            }
            o[ox] = (uint8_t)((sum + n / 2) / n);
        }
    }
}

cap_status cap_convert_grey(cap_convert *cv, const cap_frame *f, int scale_denom, uint8_t *out,
                            int out_stride, int *out_w, int *out_h) {
    if (!cv) return CAP_IO;
    if (!f || !out)
        return cv_fail(cv, CAP_IO, "cap_convert_grey: NULL frame or output");
    if (scale_denom != 1 && scale_denom != 2 && scale_denom != 4 && scale_denom != 8)
        return cv_fail(cv, CAP_UNSUPPORTED, "scale 1/%d not supported (use 1, 2, 4 or 8)",
                       scale_denom);
    int ow = (f->width + scale_denom - 1) / scale_denom;
    int oh = (f->height + scale_denom - 1) / scale_denom;
    if (out_stride < ow)
        return cv_fail(cv, CAP_IO, "output stride %d too small for width %d", out_stride, ow);
    cap_status st;
    if (f->format == CAP_FMT_MJPEG) {
        if ((st = check_jpeg(cv, f, scale_denom)) != CAP_OK) return st;
        int w, h;
        img_status is = img_jpeg_decode(cv->jpeg, f->data, f->size, 1, scale_denom, out, out_stride,
                                        &w, &h);
        if (is != IMG_OK) {
            cv_fail(cv, CAP_CORRUPT, "frame %lld: %s", (long long)f->index, img_jpeg_error(cv->jpeg));
            jpeg_reset(cv);
            return is == IMG_ERR_NOMEM ? CAP_NOMEM : CAP_CORRUPT;
        }
        ow = w;
        oh = h;
    } else {
        if ((st = check_raw(cv, f)) != CAP_OK) return st;
        if (f->format == CAP_FMT_YUYV && scale_denom == 1) { /* the common camera case */
            for (int y = 0; y < oh; y++) {
                const uint8_t *row = f->data + (size_t)y * f->stride;
                uint8_t *o = out + (size_t)y * out_stride;
                for (int x = 0; x < ow; x++) o[x] = row[2 * x];
            }
        } else if (f->format == CAP_FMT_YUYV || scale_denom != 1) {
            raw_grey(f, scale_denom, out, out_stride, ow, oh);
        } else { /* GREY, or the Y plane of I420: straight copy */
            for (int y = 0; y < oh; y++)
                memcpy(out + (size_t)y * out_stride, f->data + (size_t)y * f->stride, (size_t)ow);
        }
    }
    if (out_w) *out_w = ow;
    if (out_h) *out_h = oh;
    return CAP_OK;
}

static inline uint8_t clamp8(int v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

/* BT.601 limited range, 16.16 fixed point. */
static inline void yuv_rgb(int y, int u, int v, uint8_t *rgb) {
    int c = (y - 16) * 76309, d = u - 128, e = v - 128;
    rgb[0] = clamp8((c + 104597 * e + 32768) >> 16);
    rgb[1] = clamp8((c - 25675 * d - 53279 * e + 32768) >> 16);
    rgb[2] = clamp8((c + 132201 * d + 32768) >> 16);
}

cap_status cap_convert_rgb(cap_convert *cv, const cap_frame *f, uint8_t *out, int out_stride) {
    if (!cv) return CAP_IO;
    if (!f || !out) return cv_fail(cv, CAP_IO, "cap_convert_rgb: NULL frame or output");
    if (out_stride < 3 * f->width)
        return cv_fail(cv, CAP_IO, "output stride %d too small for width %d", out_stride, f->width);
    cap_status st;
    if (f->format == CAP_FMT_MJPEG) {
        if ((st = check_jpeg(cv, f, 1)) != CAP_OK) return st;
        img_status is = img_jpeg_decode(cv->jpeg, f->data, f->size, 3, 1, out, out_stride, NULL, NULL);
        if (is != IMG_OK) {
            cv_fail(cv, CAP_CORRUPT, "frame %lld: %s", (long long)f->index, img_jpeg_error(cv->jpeg));
            jpeg_reset(cv);
            return is == IMG_ERR_NOMEM ? CAP_NOMEM : CAP_CORRUPT;
        }
        return CAP_OK;
    }
    if ((st = check_raw(cv, f)) != CAP_OK) return st;
    for (int y = 0; y < f->height; y++) {
        const uint8_t *row = f->data + (size_t)y * f->stride;
        uint8_t *o = out + (size_t)y * out_stride;
        if (f->format == CAP_FMT_GREY) {
            for (int x = 0; x < f->width; x++) o[3 * x] = o[3 * x + 1] = o[3 * x + 2] = row[x];
        } else if (f->format == CAP_FMT_YUYV) {
            for (int x = 0; x < f->width; x++) {
                const uint8_t *p = row + (size_t)(x & ~1) * 2; /* Y0 U Y1 V */
                yuv_rgb(row[2 * x], p[1], p[3 < 2 * (f->width - (x & ~1)) ? 3 : 1], o + 3 * x);
            }
        } else { /* I420 */
            int cs = f->stride / 2;
            const uint8_t *u = f->data + (size_t)f->stride * f->height + (size_t)(y / 2) * cs;
            const uint8_t *v = u + (size_t)cs * ((f->height + 1) / 2);
            for (int x = 0; x < f->width; x++) yuv_rgb(row[x], u[x / 2], v[x / 2], o + 3 * x);
        }
    }
    return CAP_OK;
}

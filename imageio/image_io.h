/* image_io.h - decode and encode still images: JPEG through libjpeg-turbo's
 * TurboJPEG API (tjDecompress2/tjCompress2), PNG through libpng, the Exif
 * orientation of photos through libexif.
 *
 * Errors come back as an img_status with a message naming the file (or
 * "frame N") and the reason; nothing here exits or aborts. A decoder handle
 * is not thread-safe: use one per thread. */
#ifndef IMAGE_IO_H
#define IMAGE_IO_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    IMG_OK = 0,
    IMG_ERR_ARG,     /* bad argument */
    IMG_ERR_IO,      /* cannot open or read the file */
    IMG_ERR_CORRUPT, /* the data is not a valid image (or is truncated) */
    IMG_ERR_UNSUPPORTED,
    IMG_ERR_NOMEM,
} img_status;

typedef struct {
    int width, height;
    int channels;      /* 1 = grey, 3 = RGB */
    int stride;        /* bytes per row */
    uint8_t *pixels;   /* owned; free with img_image_free */
    int orientation;   /* the Exif Orientation img_load applied (1: none, or a HEIF's own) */
} img_image;

void img_image_free(img_image *im);

/* Decode a JPEG, PNG, or HEIF/HEIC or AVIF file (by content, not by name)
 * to grey (channels = 1) or RGB (channels = 3). errbuf (may be NULL)
 * receives "PATH: reason". A picture comes upright as a photo viewer shows
 * it: a JPEG's or PNG's Exif Orientation (a JPEG's APP1 block or a PNG's
 * eXIf chunk, read with libexif; a phone stores a portrait photo sideways)
 * is applied, so width and height swap for orientations 5-8, and a HEIF's
 * own turn and mirror (its irot and imir boxes) are applied by libheif. A
 * damaged Exif block is ignored. HEIF needs a build with libheif
 * (SMILE_HAVE_HEIF); without it such a file is IMG_ERR_UNSUPPORTED. The
 * in-memory decoder below leaves frames as stored. */
img_status img_load(const char *path, int channels, img_image *out, char *errbuf, size_t errlen);

/* img_load on a file already in memory; name (may be NULL) starts the
 * messages in place of the path. */
img_status img_decode(const uint8_t *data, size_t size, const char *name, int channels,
                      img_image *out, char *errbuf, size_t errlen);

/* Copies a w x h image of channels bytes a pixel as it is shown under an Exif
 * Orientation (1-8; anything else is taken as 1): 2-4 mirror it or turn it
 * half round, 5-8 also swap its sides (6: turned a quarter clockwise, as a
 * phone held upright stores its picture). dst must hold the shown image,
 * h x w for 5-8, at dst_stride bytes a row; it must not overlap src. */
void img_orient(const uint8_t *src, int w, int h, int stride, int channels, int orientation,
                uint8_t *dst, int dst_stride);

/* Whether data starts like a HEIF/HEIC or AVIF still picture (an ISO media
 * ftyp box naming heic, heix, heim, heis, mif1 or avif), which img_decode
 * reads. A video's ftyp names none of these. */
int img_is_heif(const uint8_t *data, size_t size);

/* The Exif Orientation (1-8) of a JPEG, TIFF or WebP file in memory, for
 * pictures that FFmpeg decodes without turning them; 1 when it has none or
 * it cannot be read. */
int img_exif_orientation(const uint8_t *data, size_t size);

/* In-memory decoding of video frames: no Exif orientation. */
typedef struct img_jpeg img_jpeg;
img_jpeg *img_jpeg_new(void);
void img_jpeg_free(img_jpeg *j);

/* Reads the header only; a size that size bytes cannot code is IMG_ERR_CORRUPT,
 * so callers may allocate from what it returns. */
img_status img_jpeg_info(img_jpeg *j, const uint8_t *data, size_t size, int *width, int *height);

/* Decodes into a caller buffer of at least (height/scale_denom) rows of
 * stride bytes. channels 1 gives grey straight from the luma (TJPF_GRAY),
 * 3 gives RGB. scale_denom 1, 2, 4 or 8 uses libjpeg's DCT scaling; the
 * output size is written to *out_w, *out_h. A CMYK or YCCK JPEG (print
 * workflows) is converted without colour management, R = C*K/255 in
 * libjpeg's inverted convention, through a buffer the handle keeps. */
img_status img_jpeg_decode(img_jpeg *j, const uint8_t *data, size_t size, int channels,
                           int scale_denom, uint8_t *out, int stride, int *out_w, int *out_h);

/* The last error's text. */
const char *img_jpeg_error(const img_jpeg *j);

/* Encode grey or RGB pixels as JPEG. *jpeg is malloc'd (free() it). */
img_status img_jpeg_encode(const uint8_t *pixels, int width, int height, int stride, int channels,
                           int quality, uint8_t **jpeg, size_t *jpeg_size);

/* Cheap structural check of a JPEG frame: starts with SOI (FF D8) and ends
 * with EOI (FF D9), allowing trailing zero padding as some cameras send. */
int img_jpeg_markers_ok(const uint8_t *data, size_t size);

/* Save as JPEG or PNG (by the extension), atomically. */
img_status img_save(const char *path, const uint8_t *pixels, int width, int height, int stride,
                    int channels, char *errbuf, size_t errlen);

#endif /* IMAGE_IO_H */

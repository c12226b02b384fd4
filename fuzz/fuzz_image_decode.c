/* fuzz_image_decode.c - libFuzzer target for still-image decoding.
 *
 * Photos and data set images come from anywhere: any byte string must decode
 * to an image of the size it reports or fail with a status and a message.
 * The JPEG path runs the Exif orientation (libexif) and the CMYK conversion,
 * the PNG path libpng's transforms, HEIF/AVIF libheif's decoders. The first
 * byte picks grey or RGB. The same bytes go through img_exif_orientation,
 * as a TIFF or WebP that FFmpeg decodes would: it must answer 1-8 without
 * reading past the end. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int o = img_exif_orientation(data + 1, size - 1);
    if (o < 1 || o > 8)
        __builtin_trap();
    int channels = data[0] & 1 ? 3 : 1;
    img_image im;
    char err[512];
    err[0] = 0;
    img_status st = img_decode(data + 1, size - 1, "fuzz", channels, &im, err, sizeof err);
    if (st == IMG_OK) {
        if (!im.pixels || im.width <= 0 || im.height <= 0 || im.channels != channels ||
            im.stride < im.width * channels)
            __builtin_trap();
        /* every pixel reported must be readable (ASan checks) */
        unsigned sum = 0;
        for (int y = 0; y < im.height; y++)
            for (int x = 0; x < im.width * channels; x++)
                sum += im.pixels[(size_t)y * (size_t)im.stride + (size_t)x];
        (void)sum;
        img_image_free(&im);
    } else if (!err[0] || !strstr(err, "fuzz")) {
        __builtin_trap(); /* a failure must say what failed and where */
    }
    return 0;
}

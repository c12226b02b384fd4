/* heif_fixture.c - see heif_fixture.h. */
#include "heif_fixture.h"

#include <libheif/heif.h>
#include <stdio.h>
#include <string.h>

int heif_fixture_write(const char *path, const uint8_t *px, int w, int h, int channels, int o)
{
    struct heif_context *ctx = heif_context_alloc();
    struct heif_encoder *enc = NULL;
    struct heif_image *img = NULL;
    struct heif_encoding_options *opt = heif_encoding_options_alloc();
    struct heif_error e = heif_context_get_encoder_for_format(ctx, heif_compression_HEVC, &enc);
    if (e.code != heif_error_Ok)
        e = heif_context_get_encoder_for_format(ctx, heif_compression_AV1, &enc);
    if (e.code == heif_error_Ok)
        e = heif_encoder_set_lossy_quality(enc, 95);
    if (e.code == heif_error_Ok)
        e = heif_image_create(w, h, heif_colorspace_RGB, heif_chroma_interleaved_RGB, &img);
    if (e.code == heif_error_Ok)
        e = heif_image_add_plane(img, heif_channel_interleaved, w, h, 8);
    if (e.code == heif_error_Ok) {
        int stride;
        uint8_t *p = heif_image_get_plane(img, heif_channel_interleaved, &stride);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                    p[(size_t)y * stride + (size_t)x * 3 + c] =
                        px[((size_t)y * w + x) * channels + (channels == 3 ? c : 0)];
        opt->image_orientation = (enum heif_orientation)o;
        e = heif_context_encode_image(ctx, img, enc, opt, NULL);
    }
    if (e.code == heif_error_Ok)
        e = heif_context_write_to_file(ctx, path);
    if (e.code != heif_error_Ok)
        fprintf(stderr, "heif_fixture_write %s: %s\n", path, e.message);
    heif_encoding_options_free(opt);
    heif_image_release(img);
    if (enc)
        heif_encoder_release(enc);
    heif_context_free(ctx);
    return e.code == heif_error_Ok ? 0 : -1;
}

/* heif_fixture.h - writes HEIF test pictures with libheif (tests only). */
#ifndef TEST_HEIF_FIXTURE_H
#define TEST_HEIF_FIXTURE_H

#include <stdint.h>

/* A HEIC (or, without an HEVC encoder, an AVIF) of w x h pixels of channels
 * 1 (grey) or 3 (RGB), packed, at quality 95, whose irot/imir boxes say the
 * Exif-style orientation o (1-8). 0 on success; -1 with a message on stderr. */
int heif_fixture_write(const char *path, const uint8_t *px, int w, int h, int channels, int o);

#endif

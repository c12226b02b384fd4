/* fuzz_avi_reader.c - libFuzzer target for the native MJPEG AVI reader.
 *
 * Recorded videos come from anywhere, so any byte string must either open
 * and give frames until CAP_EOF, or fail with a status and a message; every
 * frame handed out must lie inside memory the reader owns (ASan checks the
 * reads below). The reader takes a path, so each input goes through one
 * temporary file per process. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame_source.h"
#include "video_backends.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char tmp_path[64];

static void write_input(const uint8_t *data, size_t size)
{
    if (!tmp_path[0]) {
        snprintf(tmp_path, sizeof tmp_path, "/tmp/fuzz-avi-%d.avi", (int)getpid());
    }
    FILE *f = fopen(tmp_path, "wb");
    if (!f)
        __builtin_trap();
    if (size && fwrite(data, 1, size, f) != size)
        __builtin_trap();
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    write_input(data, size);
    int not_mjpeg = 0;
    cap_status st = CAP_OK;
    char err[512] = "";
    cap_source *src = cap_avi_open(tmp_path, &not_mjpeg, &st, err, sizeof err);
    if (!src) {
        /* A refusal must say why. */
        if (st == CAP_OK || err[0] == 0 || !memchr(err, 0, sizeof err))
            __builtin_trap();
        return 0;
    }
    volatile unsigned sum = 0;
    for (int i = 0; i < 4096; i++) {
        cap_frame f;
        st = cap_source_read(src, &f, 0);
        if (st == CAP_EOF)
            break;
        if (st == CAP_CORRUPT || st == CAP_AGAIN)
            continue;
        if (st != CAP_OK)
            break;
        if (!f.data || f.size == 0)
            __builtin_trap();
        /* touch the first and last byte: out-of-bounds frames trip ASan */
        sum += f.data[0] + f.data[f.size - 1];
    }
    (void)sum;
    cap_source_free(src);
    return 0;
}

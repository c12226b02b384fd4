/* file_open.c - cap_file_open: picks the backend by content, not by name.
 * RIFF....AVI with MJPEG inside -> the native reader; anything else ->
 * FFmpeg when built with it (meson option ffmpeg). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "frame_source_impl.h"
#include "video_backends.h"

cap_source *cap_file_open(const char *path, cap_status *st, char *errbuf, size_t errlen) {
    cap_status dummy_st;
    char dummy_err[8];
    if (!st) st = &dummy_st;
    if (!errbuf) {
        errbuf = dummy_err;
        errlen = sizeof(dummy_err);
    }
    if (!path) {
        *st = CAP_IO;
        snprintf(errbuf, errlen, "no file name");
        return NULL;
    }
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        *st = errno == EACCES ? CAP_PERMISSION : CAP_IO;
        snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    unsigned char head[12];
    size_t n = fread(head, 1, sizeof(head), fp);
    int read_err = ferror(fp);
    fclose(fp);
    if (read_err) {
        *st = CAP_IO;
        snprintf(errbuf, errlen, "%s: read error", path);
        return NULL;
    }
    if (cap_avi_probe(head, n)) {
        int not_mjpeg = 0;
        cap_source *src = cap_avi_open(path, &not_mjpeg, st, errbuf, errlen);
        if (src || !not_mjpeg) return src;
    }
#ifdef SMILE_HAVE_FFMPEG
    return cap_ffmpeg_open(path, st, errbuf, errlen);
#else
    *st = CAP_UNSUPPORTED;
    snprintf(errbuf, errlen,
             "%s: only MJPEG AVI can be read: this build has FFmpeg support disabled "
             "(meson option -Dffmpeg=enabled)",
             path);
    return NULL;
#endif
}

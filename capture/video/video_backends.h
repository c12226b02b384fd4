/* video_backends.h - the file backends behind cap_file_open (private to
 * capture/video/). Each returns a ready cap_source or NULL with *st and a
 * message in err. */
#ifndef VIDEO_BACKENDS_H
#define VIDEO_BACKENDS_H

#include <stddef.h>

#include "frame_source.h"

/* 1 if the first bytes (at least 12) are a RIFF AVI header. */
int cap_avi_probe(const unsigned char *head, size_t n);

/* Native MJPEG AVI reader. When the AVI holds something other than MJPEG it
 * returns NULL with CAP_UNSUPPORTED and sets *not_mjpeg, so the caller can
 * hand the file to FFmpeg instead. */
cap_source *cap_avi_open(const char *path, int *not_mjpeg, cap_status *st, char *err,
                         size_t errlen);

/* Everything else through libavformat/libavcodec (only when built with it). */
cap_source *cap_ffmpeg_open(const char *path, cap_status *st, char *err, size_t errlen);

#endif

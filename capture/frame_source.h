/* frame_source.h - where frames come from: a V4L2 camera or a recorded file,
 * behind one interface, so the app and smile-score run the same pipeline.
 *
 * Threading: a source belongs to one thread (the app's worker). Nothing here
 * calls GTK. Errors are cap_status values that tell the caller whether to
 * retry; the source's last message says what happened in words. */
#ifndef FRAME_SOURCE_H
#define FRAME_SOURCE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    CAP_OK = 0,
    CAP_AGAIN,        /* timeout: no frame yet, call again */
    CAP_CORRUPT,      /* this frame was damaged and dropped; the next may be fine */
    CAP_EOF,          /* a file source has no more frames */
    CAP_NO_DEVICE,    /* no such camera (ENOENT/ENXIO) */
    CAP_DISCONNECTED, /* the camera went away (ENODEV/EIO): reopen with backoff */
    CAP_BUSY,         /* another program uses the camera (EBUSY) */
    CAP_PERMISSION,   /* EACCES: the user is not in the 'video' group */
    CAP_UNSUPPORTED,  /* no usable format, or a file we cannot read */
    CAP_IO,           /* any other system error */
    CAP_NOMEM,
} cap_status;

const char *cap_status_str(cap_status st);
/* Whether the caller should simply try again (AGAIN, CORRUPT). */
int cap_status_retryable(cap_status st);

typedef enum {
    CAP_FMT_MJPEG = 0, /* data is one JPEG image */
    CAP_FMT_YUYV,      /* packed 4:2:2, stride bytes a row */
    CAP_FMT_GREY,      /* 8-bit luma */
    CAP_FMT_I420,      /* planar Y (stride), then U and V (stride/2) at half size */
} cap_pixfmt;

/* Bytes of an I420 image: height rows of stride, then (height + 1) / 2 rows
 * of stride / 2 for U and the same for V. */
size_t cap_i420_size(int stride, int height);

typedef struct {
    cap_pixfmt format;
    int width, height;
    int stride;           /* of the first plane; 0 for MJPEG */
    const uint8_t *data;  /* owned by the source; valid until the next read */
    size_t size;
    double timestamp_s;   /* capture time (camera) or presentation time (file) */
    int64_t index;        /* frame number since open, counting dropped frames */
} cap_frame;

typedef struct cap_source cap_source;

/* Waits up to timeout_ms for the next frame. A camera source drains its queue
 * and returns the freshest buffer, counting the ones it skipped. */
cap_status cap_source_read(cap_source *src, cap_frame *frame, int timeout_ms);
const char *cap_source_error(const cap_source *src); /* last message, in words */
const char *cap_source_name(const cap_source *src);  /* card name or file name */
double cap_source_fps(const cap_source *src);        /* nominal; 0 if unknown */
int64_t cap_source_frame_count(const cap_source *src); /* files: -1 if unknown */
/* How the last frame (before any, the file's track) was turned to be shown
 * upright, as an Exif Orientation: 1 as stored, 6 a quarter turn clockwise,
 * 3 half round, 8 a quarter anticlockwise, 2, 4, 5, 7 with a mirror. Frames
 * always come out turned: their width and height are the shown ones. */
int cap_source_orientation(const cap_source *src);
void cap_source_free(cap_source *src);
/* For consumers that draw on the frames (smile-score --annotate). A file
 * source may deliver grey by default: FFmpeg hands out its decoder's Y plane
 * without a copy. With colour on, it delivers I420 instead (one copy a
 * frame). Cameras and MJPEG files carry colour either way. */
void cap_source_set_colour(cap_source *src, int on);

/* Counters for the overlay and for soak tests. */
typedef struct {
    uint64_t delivered, skipped_stale, dropped_corrupt, timeouts;
} cap_stats;
void cap_source_stats(const cap_source *src, cap_stats *out);

/* Opens a recorded video: MJPEG AVI natively, anything else through FFmpeg
 * when built with it. *st gets the reason on failure (NULL returned). */
cap_source *cap_file_open(const char *path, cap_status *st, char *errbuf, size_t errlen);

/* Frame conversion shared by every consumer. A converter keeps its own JPEG
 * decoder and scratch, so use one per thread. */
typedef struct cap_convert cap_convert;
cap_convert *cap_convert_new(void);
void cap_convert_free(cap_convert *cv);
/* Grey (luma) plane of a frame into out (out_stride >= width). For MJPEG,
 * scale_denom 1/2/4/8 decodes at reduced size with DCT scaling; raw formats
 * are box-averaged. Either way the output is ceil(width / scale_denom) x
 * ceil(height / scale_denom). A JPEG without SOI/EOI, one that fails to
 * decode, or one whose size differs from the frame's width x height, and a
 * raw frame shorter than its rows, give CAP_CORRUPT (the converter stays
 * usable for the next frame). */
cap_status cap_convert_grey(cap_convert *cv, const cap_frame *f, int scale_denom, uint8_t *out,
                            int out_stride, int *out_w, int *out_h);
/* RGB24 into out (out_stride >= 3 * width). */
cap_status cap_convert_rgb(cap_convert *cv, const cap_frame *f, uint8_t *out, int out_stride);
const char *cap_convert_error(const cap_convert *cv);

#endif /* FRAME_SOURCE_H */

/* frame_source_impl.h - what a frame source implements (private to capture/).
 * frame_source.c owns the common part; each backend (V4L2, AVI, FFmpeg)
 * fills in the ops and keeps its own state behind impl. */
#ifndef FRAME_SOURCE_IMPL_H
#define FRAME_SOURCE_IMPL_H

#include "frame_source.h"

struct cap_source_ops {
    cap_status (*read)(cap_source *src, cap_frame *frame, int timeout_ms);
    void (*close)(void *impl);
};

struct cap_source {
    const struct cap_source_ops *ops;
    void *impl;
    char name[256];
    char error[512];
    double fps;
    int64_t frame_count;
    cap_stats stats;
    int want_colour; /* cap_source_set_colour */
    int orientation; /* cap_source_orientation */
};

/* Allocates the common part; NULL on out of memory. */
cap_source *cap_source_alloc(const struct cap_source_ops *ops, void *impl, const char *name);
/* printf-style; the text becomes cap_source_error(). */
void cap_source_set_error(cap_source *src, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif

/* frame_source.c - the part every frame source shares: allocation, error
 * text, stats bookkeeping around the backend's read, and status names. */
#include "frame_source_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cap_source *cap_source_alloc(const struct cap_source_ops *ops, void *impl, const char *name) {
    cap_source *src = calloc(1, sizeof(*src));
    if (!src) return NULL;
    src->ops = ops;
    src->impl = impl;
    snprintf(src->name, sizeof(src->name), "%s", name ? name : "");
    src->frame_count = -1;
    src->orientation = 1;
    return src;
}

void cap_source_set_error(cap_source *src, const char *fmt, ...) {
    if (!src) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(src->error, sizeof(src->error), fmt, ap);
    va_end(ap);
}

/* The backend counts skipped_stale itself (only it knows how many buffers it
 * drained); delivered, dropped_corrupt and timeouts are counted here so every
 * backend reports them the same way. */
cap_status cap_source_read(cap_source *src, cap_frame *frame, int timeout_ms) {
    if (!src) return CAP_IO;
    if (!frame) {
        cap_source_set_error(src, "%s: cap_source_read needs a frame to fill", src->name);
        return CAP_IO;
    }
    if (!src->ops || !src->ops->read) {
        cap_source_set_error(src, "%s: source is closed", src->name);
        return CAP_IO;
    }
    memset(frame, 0, sizeof(*frame));
    cap_status st = src->ops->read(src, frame, timeout_ms);
    switch (st) {
    case CAP_OK: src->stats.delivered++; break;
    case CAP_AGAIN: src->stats.timeouts++; break;
    case CAP_CORRUPT: src->stats.dropped_corrupt++; break;
    default: break;
    }
    return st;
}

const char *cap_source_error(const cap_source *src) { return src ? src->error : "no source"; }
const char *cap_source_name(const cap_source *src) { return src ? src->name : ""; }
double cap_source_fps(const cap_source *src) { return src ? src->fps : 0.0; }
int64_t cap_source_frame_count(const cap_source *src) { return src ? src->frame_count : -1; }
int cap_source_orientation(const cap_source *src) { return src ? src->orientation : 1; }
size_t cap_i420_size(int stride, int height) {
    return (size_t)stride * (size_t)height + 2 * (size_t)(stride / 2) * (size_t)((height + 1) / 2);
}

void cap_source_set_colour(cap_source *src, int on) {
    if (src) src->want_colour = on != 0;
}

void cap_source_stats(const cap_source *src, cap_stats *out) {
    if (!out) return;
    if (!src) { memset(out, 0, sizeof(*out)); return; }
    *out = src->stats;
}

void cap_source_free(cap_source *src) {
    if (!src) return;
    if (src->ops && src->ops->close) src->ops->close(src->impl);
    free(src);
}

const char *cap_status_str(cap_status st) {
    switch (st) {
    case CAP_OK: return "ok";
    case CAP_AGAIN: return "no frame yet (timeout)";
    case CAP_CORRUPT: return "damaged frame dropped";
    case CAP_EOF: return "end of file";
    case CAP_NO_DEVICE: return "no such camera";
    case CAP_DISCONNECTED: return "camera disconnected";
    case CAP_BUSY: return "another program is using the camera";
    case CAP_PERMISSION: return "permission denied (not in the 'video' group?)";
    case CAP_UNSUPPORTED: return "unsupported format";
    case CAP_IO: return "input/output error";
    case CAP_NOMEM: return "out of memory";
    }
    return "unknown status";
}

int cap_status_retryable(cap_status st) { return st == CAP_AGAIN || st == CAP_CORRUPT; }

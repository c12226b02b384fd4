/* avi_writer.h - writes MJPEG AVI files: JPEG frames go in as they are (no
 * re-encoding), so the app can record a camera's own JPEGs and smile-score
 * its annotated frames.
 *
 * The file is written to PATH.tmp-XXXXXX and renamed to PATH by
 * cap_avi_writer_close, after idx1 and the header sizes are written: a reader
 * never sees a half-written file under PATH. Plain AVI 1.0 (no OpenDML): a
 * frame that would take the file past the 1 GiB RIFF limit is refused with
 * CAP_IO and the file stays valid (close still keeps what was written).
 * A writer belongs to one thread. */
#ifndef AVI_WRITER_H
#define AVI_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "frame_source.h"

typedef struct cap_avi_writer cap_avi_writer;

/* width/height are what the headers announce (the JPEGs should match);
 * fps > 0. NULL on failure, with *st and a message in err. */
cap_avi_writer *cap_avi_writer_new(const char *path, int width, int height, double fps,
                                   cap_status *st, char *err, size_t errlen);

/* Appends one JPEG frame. Frames without SOI/EOI markers are refused
 * (CAP_CORRUPT) unless the writer was told to allow them (tests write
 * deliberately damaged files). */
cap_status cap_avi_writer_add(cap_avi_writer *w, const uint8_t *jpeg, size_t size);

/* Let cap_avi_writer_add store data that is not a well-formed JPEG. */
void cap_avi_writer_allow_damaged(cap_avi_writer *w, int allow);

/* Lowers the size limit below the 1 GiB default (tests use it to reach the
 * limit quickly); larger values are clamped to 1 GiB. */
void cap_avi_writer_set_limit(cap_avi_writer *w, uint64_t bytes);

int64_t cap_avi_writer_frames(const cap_avi_writer *w);
const char *cap_avi_writer_error(const cap_avi_writer *w);

/* Writes idx1, patches the headers, fsyncs and renames into place; frees w.
 * On failure the temporary file is removed and err says why. */
cap_status cap_avi_writer_close(cap_avi_writer *w, char *err, size_t errlen);

/* Drops the temporary file and frees w (nothing appears under PATH). */
void cap_avi_writer_abort(cap_avi_writer *w);

#endif /* AVI_WRITER_H */

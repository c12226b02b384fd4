/* mov_fixture.h - writes a QuickTime file of JPEG frames whose track carries
 * a display matrix, as phones store a video filmed upright: the picture
 * stored on its side, and the matrix saying how to turn it for display. */
#ifndef SCORE_MOV_FIXTURE_H
#define SCORE_MOV_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

/* The matrix that shows a stored picture turned cw_degrees clockwise, then
 * mirrored left to right when hflip is set: av_display_rotation_set and
 * av_display_matrix_flip. (Checked by hand: the ffmpeg 5.1 command line
 * turns a file made with 90 clockwise when it converts it.) */
void mov_fixture_matrix(int32_t matrix[9], double cw_degrees, int hflip);

/* Writes n frames, frame k being jpeg[k % n_jpeg], at fps, with the matrix
 * on the track (NULL for none). Returns 0, or -1 with err filled. */
int mov_fixture_write(const char *path, int width, int height, int fps, int n,
                      uint8_t *const *jpeg, const size_t *jpeg_size, int n_jpeg,
                      const int32_t *matrix, char *err, size_t errlen);

#endif

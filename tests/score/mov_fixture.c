/* mov_fixture.c - see mov_fixture.h. The JPEG frames are muxed as they are
 * (no encoder needed), so the test decodes exactly the pixels it wrote. */
#include "mov_fixture.h"

#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <stdio.h>
#include <string.h>

void mov_fixture_matrix(int32_t matrix[9], double cw_degrees, int hflip) {
    av_display_rotation_set(matrix, cw_degrees);
    if (hflip) av_display_matrix_flip(matrix, 1, 0);
}

int mov_fixture_write(const char *path, int width, int height, int fps, int n,
                      uint8_t *const *jpeg, const size_t *jpeg_size, int n_jpeg,
                      const int32_t *matrix, char *err, size_t errlen) {
    AVFormatContext *oc = NULL;
    AVPacket *pkt = av_packet_alloc();
    int r = pkt ? avformat_alloc_output_context2(&oc, NULL, "mov", path) : AVERROR(ENOMEM);
    const char *step = "allocate the muxer";
    if (r < 0) goto fail;
    AVStream *st = avformat_new_stream(oc, NULL);
    r = AVERROR(ENOMEM);
    if (!st) goto fail;
    st->codecpar->codec_type = AVMEDIA_TYPE_VIDEO;
    st->codecpar->codec_id = AV_CODEC_ID_MJPEG;
    st->codecpar->width = width;
    st->codecpar->height = height;
    st->time_base = (AVRational){1, fps};
    if (matrix) {
        step = "attach the display matrix";
        uint8_t *sd = av_stream_new_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t));
        if (!sd) goto fail;
        memcpy(sd, matrix, 9 * sizeof(int32_t));
    }
    step = "open the file";
    if ((r = avio_open(&oc->pb, path, AVIO_FLAG_WRITE)) < 0) goto fail;
    step = "write the header";
    if ((r = avformat_write_header(oc, NULL)) < 0) goto fail;
    step = "write a frame";
    for (int k = 0; k < n; k++) {
        /* av_write_frame takes no ownership of data it did not allocate */
        pkt->data = jpeg[k % n_jpeg];
        pkt->size = (int)jpeg_size[k % n_jpeg];
        pkt->stream_index = st->index;
        pkt->pts = pkt->dts = av_rescale_q(k, (AVRational){1, fps}, st->time_base);
        pkt->duration = av_rescale_q(1, (AVRational){1, fps}, st->time_base);
        pkt->flags = AV_PKT_FLAG_KEY;
        if ((r = av_write_frame(oc, pkt)) < 0) goto fail;
    }
    step = "finish the file";
    if ((r = av_write_trailer(oc)) < 0) goto fail;
    r = avio_closep(&oc->pb);
    if (r < 0) goto fail;
    avformat_free_context(oc);
    av_packet_free(&pkt);
    return 0;
fail:;
    char eb[128];
    av_strerror(r, eb, sizeof(eb));
    snprintf(err, errlen, "%s: cannot %s: %s", path, step, eb);
    if (oc && oc->pb) avio_closep(&oc->pb);
    avformat_free_context(oc);
    av_packet_free(&pkt);
    return -1;
}

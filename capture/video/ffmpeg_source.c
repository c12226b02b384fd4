/* ffmpeg_source.c - every video format that is not MJPEG AVI (MP4/H.264,
 * MKV, WebM, MOV), through libavformat + libavcodec (FFmpeg 5.1 send/receive
 * API). Frames come out as CAP_FMT_GREY: the decoder's own Y plane when the
 * pixel format is YUV (no copy), swscale to GRAY8 otherwise. With
 * cap_source_set_colour, swscale makes one contiguous I420 image instead.
 * A picture stored on its side with a display matrix (a phone held upright
 * records that way) is turned upright, as players show it.
 *
 * FFmpeg's own log is silenced (we report errors in our own words); set
 * SMILE_FFMPEG_LOG=1 to see it. */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frame_source_impl.h"
#include "image_io.h"
#include "video_backends.h"

typedef struct {
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVFrame *frame;
    AVPacket *pkt;
    struct SwsContext *sws;
    int stream;
    AVRational tb;
    int64_t start_pts;
    double fps;
    int draining, done;
    char read_error[512]; /* why the demuxer stopped early, if it did */
    int64_t next_index;
    uint8_t *grey;
    int grey_stride, grey_w, grey_h;
    struct SwsContext *sws_colour;
    uint8_t *i420; /* Y (i420_stride), then U and V (i420_stride / 2) */
    int i420_stride, i420_w, i420_h;
    size_t i420_size;
    int stream_orientation; /* Exif style, from the track's display matrix */
    uint8_t *upright;       /* the frame turned as shown, when it is turned */
    size_t upright_size;
    char path[256];
} ff_src;

static void ff_close(void *impl) {
    ff_src *s = impl;
    if (!s) return;
    sws_freeContext(s->sws);
    sws_freeContext(s->sws_colour);
    av_free(s->i420);
    av_packet_free(&s->pkt);
    av_frame_free(&s->frame);
    avcodec_free_context(&s->dec);
    avformat_close_input(&s->fmt);
    av_free(s->grey);
    av_free(s->upright);
    free(s);
}

static const char *averr(int e, char *buf, size_t n) {
    av_strerror(e, buf, n);
    return buf;
}

/* 8-bit luma as the first plane, one byte a sample: usable as grey directly. */
static int luma_plane_ok(enum AVPixelFormat pf) {
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(pf);
    if (!d || (d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_HWACCEL |
                           AV_PIX_FMT_FLAG_BITSTREAM)))
        return 0;
    return d->nb_components >= 1 && d->comp[0].plane == 0 && d->comp[0].step == 1 &&
           d->comp[0].depth == 8 && d->comp[0].offset == 0;
}

/* The Exif orientation (1-8) that shows a picture as an FFmpeg display
 * matrix says. The matrix maps a stored pixel (x, y), y pointing down, to
 * the shown (a x + c y, b x + d y) plus a shift; its 2x2 part is read as a
 * quarter turn and mirror when each entry is near -1, 0 or 1 times the
 * largest. Any other angle, which a player would resample, gives 1. */
static int matrix_orientation(const int32_t m[9]) {
    int64_t v[4] = {m[0], m[1], m[3], m[4]}, big = 0; /* a b c d */
    for (int i = 0; i < 4; i++) big = llabs(v[i]) > big ? llabs(v[i]) : big;
    if (big == 0) return 1;
    int sg[4];
    for (int i = 0; i < 4; i++) {
        if (llabs(v[i]) * 64 < big) sg[i] = 0;        /* within about a degree of 0 */
        else if (llabs(v[i]) * 64 < big * 63) return 1; /* not a quarter turn */
        else sg[i] = v[i] > 0 ? 1 : -1;
    }
    int a = sg[0], b = sg[1], c = sg[2], d = sg[3];
    if (b == 0 && c == 0 && a && d) return a > 0 ? (d > 0 ? 1 : 4) : (d > 0 ? 2 : 3);
    if (a == 0 && d == 0 && b && c) return b > 0 ? (c > 0 ? 5 : 6) : (c > 0 ? 8 : 7);
    return 1;
}

/* A TIFF's or WebP's Exif Orientation, which FFmpeg reads but does not
 * apply. The file is mapped, not read, so only the pages that the header,
 * the chunk list or the IFD sit on are touched. 1 for anything else. */
static int file_orientation(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 1;
    struct stat st;
    int o = 1;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 12) {
        void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map != MAP_FAILED) {
            o = img_exif_orientation(map, (size_t)st.st_size);
            munmap(map, (size_t)st.st_size);
        }
    }
    close(fd);
    return o;
}

/* How this frame is shown: its own display matrix (H.264 can send one in
 * the stream), else the track's. */
static int frame_orientation(const ff_src *s, const AVFrame *fr) {
    const AVFrameSideData *sd = av_frame_get_side_data(fr, AV_FRAME_DATA_DISPLAYMATRIX);
    if (sd && sd->size >= 9 * sizeof(int32_t)) return matrix_orientation((const int32_t *)sd->data);
    return s->stream_orientation;
}

/* f's planes (grey, or I420's three) copied as shown under orientation o,
 * into a buffer the source keeps; f then describes the shown picture. */
static cap_status turn_upright(cap_source *src, ff_src *s, cap_frame *f, int o) {
    int swap = o >= 5, w = f->width, h = f->height;
    int ow = swap ? h : w, oh = swap ? w : h;
    int stride = (ow + 31) & ~31; /* even, so I420's chroma rows fit stride / 2 */
    int i420 = f->format == CAP_FMT_I420;
    size_t need = i420 ? cap_i420_size(stride, oh) : (size_t)stride * (size_t)oh;
    if (need > s->upright_size) {
        av_free(s->upright);
        s->upright_size = 0;
        s->upright = av_malloc(need);
        if (!s->upright) {
            cap_source_set_error(src, "%s: out of memory turning frame %lld upright", s->path,
                                 (long long)f->index);
            return CAP_NOMEM;
        }
        s->upright_size = need;
    }
    img_orient(f->data, w, h, f->stride, 1, o, s->upright, stride);
    if (i420) {
        int cw = (w + 1) / 2, ch = (h + 1) / 2, cs = f->stride / 2, ocs = stride / 2;
        int och = (oh + 1) / 2;
        const uint8_t *u = f->data + (size_t)f->stride * (size_t)h;
        const uint8_t *v = u + (size_t)cs * (size_t)ch;
        uint8_t *ou = s->upright + (size_t)stride * (size_t)oh;
        img_orient(u, cw, ch, cs, 1, o, ou, ocs);
        img_orient(v, cw, ch, cs, 1, o, ou + (size_t)ocs * (size_t)och, ocs);
    }
    f->width = ow;
    f->height = oh;
    f->stride = stride;
    f->data = s->upright;
    f->size = need;
    return CAP_OK;
}

/* The decoded frame as one I420 image in the layout frame_convert.c reads. */
static cap_status deliver_i420(cap_source *src, ff_src *s, cap_frame *f) {
    AVFrame *fr = s->frame;
    if (!s->i420 || s->i420_w != fr->width || s->i420_h != fr->height) {
        av_free(s->i420);
        s->i420_w = fr->width;
        s->i420_h = fr->height;
        s->i420_stride = (fr->width + 31) & ~31; /* even, so chroma rows fit stride / 2 */
        s->i420_size = cap_i420_size(s->i420_stride, fr->height);
        s->i420 = av_malloc(s->i420_size);
        if (!s->i420) {
            cap_source_set_error(src, "%s: out of memory", s->path);
            return CAP_NOMEM;
        }
    }
    s->sws_colour = sws_getCachedContext(s->sws_colour, fr->width, fr->height,
                                         (enum AVPixelFormat)fr->format, fr->width, fr->height,
                                         AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL);
    if (!s->sws_colour) {
        cap_source_set_error(src, "%s: cannot convert pixel format %s to I420", s->path,
                             av_get_pix_fmt_name((enum AVPixelFormat)fr->format));
        return CAP_UNSUPPORTED;
    }
    int cs = s->i420_stride / 2;
    uint8_t *u = s->i420 + (size_t)s->i420_stride * (size_t)fr->height;
    uint8_t *dst[4] = {s->i420, u, u + (size_t)cs * (size_t)((fr->height + 1) / 2), NULL};
    int dst_ls[4] = {s->i420_stride, cs, cs, 0};
    sws_scale(s->sws_colour, (const uint8_t *const *)fr->data, fr->linesize, 0, fr->height, dst,
              dst_ls);
    f->format = CAP_FMT_I420;
    f->stride = s->i420_stride;
    f->data = s->i420;
    f->size = s->i420_size;
    return CAP_OK;
}

/* The frame as stored: grey or I420 (with colour on). */
static cap_status deliver_stored(cap_source *src, ff_src *s, cap_frame *f) {
    AVFrame *fr = s->frame;
    f->index = s->next_index++;
    int64_t pts = fr->best_effort_timestamp;
    if (pts != AV_NOPTS_VALUE) {
        if (s->start_pts != AV_NOPTS_VALUE) pts -= s->start_pts;
        f->timestamp_s = (double)pts * av_q2d(s->tb);
    } else {
        f->timestamp_s = s->fps > 0 ? (double)f->index / s->fps : 0.0;
    }
    if ((fr->flags & AV_FRAME_FLAG_CORRUPT) || fr->decode_error_flags) {
        cap_source_set_error(src, "%s: frame %lld decoded with errors (damaged data)", s->path,
                             (long long)f->index);
        av_frame_unref(fr);
        return CAP_CORRUPT;
    }
    f->width = fr->width;
    f->height = fr->height;
    if (src->want_colour) return deliver_i420(src, s, f);
    f->format = CAP_FMT_GREY;
    if (luma_plane_ok((enum AVPixelFormat)fr->format) && fr->linesize[0] >= fr->width) {
        f->stride = fr->linesize[0];
        f->data = fr->data[0];
        f->size = (size_t)fr->linesize[0] * (size_t)fr->height;
        return CAP_OK; /* valid until the next read, which unrefs the frame */
    }
    if (!s->grey || s->grey_w != fr->width || s->grey_h != fr->height) {
        av_free(s->grey);
        s->grey_w = fr->width;
        s->grey_h = fr->height;
        s->grey_stride = (fr->width + 31) & ~31;
        s->grey = av_malloc((size_t)s->grey_stride * (size_t)fr->height);
        if (!s->grey) {
            cap_source_set_error(src, "%s: out of memory", s->path);
            return CAP_NOMEM;
        }
    }
    s->sws = sws_getCachedContext(s->sws, fr->width, fr->height, (enum AVPixelFormat)fr->format,
                                  fr->width, fr->height, AV_PIX_FMT_GRAY8, SWS_BILINEAR, NULL,
                                  NULL, NULL);
    if (!s->sws) {
        cap_source_set_error(src, "%s: cannot convert pixel format %s to grey", s->path,
                             av_get_pix_fmt_name((enum AVPixelFormat)fr->format));
        return CAP_UNSUPPORTED;
    }
    uint8_t *dst[4] = {s->grey, NULL, NULL, NULL};
    int dst_ls[4] = {s->grey_stride, 0, 0, 0};
    sws_scale(s->sws, (const uint8_t *const *)fr->data, fr->linesize, 0, fr->height, dst, dst_ls);
    f->stride = s->grey_stride;
    f->data = s->grey;
    f->size = (size_t)s->grey_stride * (size_t)fr->height;
    return CAP_OK;
}

static cap_status deliver(cap_source *src, ff_src *s, cap_frame *f) {
    cap_status st = deliver_stored(src, s, f);
    if (st != CAP_OK) return st; /* a damaged frame keeps the last orientation */
    int o = frame_orientation(s, s->frame);
    src->orientation = o;
    return o == 1 ? CAP_OK : turn_upright(src, s, f, o);
}

static cap_status ff_read(cap_source *src, cap_frame *f, int timeout_ms) {
    (void)timeout_ms;
    ff_src *s = src->impl;
    char eb[128];
    av_frame_unref(s->frame);
    if (s->done) return CAP_EOF;
    for (;;) {
        int r = avcodec_receive_frame(s->dec, s->frame);
        if (r == 0) return deliver(src, s, f);
        if (r == AVERROR_EOF) {
            s->done = 1;
            if (s->read_error[0]) cap_source_set_error(src, "%s", s->read_error);
            return CAP_EOF;
        }
        if (r != AVERROR(EAGAIN)) {
            f->index = s->next_index++;
            cap_source_set_error(src, "%s: frame %lld: decode error: %s", s->path,
                                 (long long)f->index, averr(r, eb, sizeof(eb)));
            if (s->draining) s->done = 1;
            return CAP_CORRUPT;
        }
        if (s->draining) { /* should not happen: EAGAIN while draining */
            s->done = 1;
            return CAP_EOF;
        }
        r = av_read_frame(s->fmt, s->pkt);
        if (r < 0) {
            /* End of file, or a truncated/damaged container: decode what is buffered. */
            if (r != AVERROR_EOF)
                snprintf(s->read_error, sizeof(s->read_error),
                         "%s: stopped reading after %lld frames (file truncated or damaged: %s)",
                         s->path, (long long)s->next_index, averr(r, eb, sizeof(eb)));
            else if (s->fmt->pb && s->fmt->pb->error)
                snprintf(s->read_error, sizeof(s->read_error),
                         "%s: read error after %lld frames", s->path, (long long)s->next_index);
            avcodec_send_packet(s->dec, NULL);
            s->draining = 1;
            continue;
        }
        if (s->pkt->stream_index != s->stream) {
            av_packet_unref(s->pkt);
            continue;
        }
        int corrupt_pkt = (s->pkt->flags & AV_PKT_FLAG_CORRUPT) != 0;
        r = avcodec_send_packet(s->dec, s->pkt);
        av_packet_unref(s->pkt);
        if (r < 0 && r != AVERROR(EAGAIN)) {
            f->index = s->next_index++;
            cap_source_set_error(src, "%s: frame %lld: %s%s", s->path, (long long)f->index,
                                 corrupt_pkt ? "damaged packet: " : "",
                                 averr(r, eb, sizeof(eb)));
            return CAP_CORRUPT;
        }
    }
}

static const struct cap_source_ops ff_ops = {ff_read, ff_close};

cap_source *cap_ffmpeg_open(const char *path, cap_status *st, char *err, size_t errlen) {
    char eb[128];
    if (!getenv("SMILE_FFMPEG_LOG")) av_log_set_level(AV_LOG_QUIET);
    ff_src *s = calloc(1, sizeof(*s));
    if (!s) {
        *st = CAP_NOMEM;
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    snprintf(s->path, sizeof(s->path), "%s", path);
    int r = avformat_open_input(&s->fmt, path, NULL, NULL);
    if (r < 0) {
        *st = (r == AVERROR(ENOENT) || r == AVERROR(EACCES) || r == AVERROR(EIO)) ? CAP_IO
                                                                                   : CAP_UNSUPPORTED;
        if (r == AVERROR(EACCES)) *st = CAP_PERMISSION;
        snprintf(err, errlen, "%s: cannot open as a video: %s", path, averr(r, eb, sizeof(eb)));
        ff_close(s);
        return NULL;
    }
    *st = CAP_UNSUPPORTED;
    r = avformat_find_stream_info(s->fmt, NULL);
    if (r < 0) {
        snprintf(err, errlen, "%s: cannot read stream info: %s", path, averr(r, eb, sizeof(eb)));
        ff_close(s);
        return NULL;
    }
    const AVCodec *codec = NULL;
    s->stream = av_find_best_stream(s->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (s->stream < 0 || !codec) {
        snprintf(err, errlen, "%s: %s", path,
                 s->stream == AVERROR_DECODER_NOT_FOUND ? "no decoder for its video stream"
                                                        : "no video stream");
        ff_close(s);
        return NULL;
    }
    AVStream *vs = s->fmt->streams[s->stream];
    s->dec = avcodec_alloc_context3(codec);
    s->frame = av_frame_alloc();
    s->pkt = av_packet_alloc();
    if (!s->dec || !s->frame || !s->pkt) {
        *st = CAP_NOMEM;
        snprintf(err, errlen, "%s: out of memory", path);
        ff_close(s);
        return NULL;
    }
    r = avcodec_parameters_to_context(s->dec, vs->codecpar);
    /* One decoding thread: smile-score runs decoding beside its own workers. */
    s->dec->thread_count = 1;
    if (r >= 0) r = avcodec_open2(s->dec, codec, NULL);
    if (r < 0) {
        snprintf(err, errlen, "%s: cannot open the %s decoder: %s", path, codec->name,
                 averr(r, eb, sizeof(eb)));
        ff_close(s);
        return NULL;
    }
    s->tb = vs->time_base;
    s->start_pts = vs->start_time;
    size_t dm_size = 0;
    const uint8_t *dm = av_stream_get_side_data(vs, AV_PKT_DATA_DISPLAYMATRIX, &dm_size);
    s->stream_orientation = dm && dm_size >= 9 * sizeof(int32_t) ? matrix_orientation((const int32_t *)dm)
                                                                 : file_orientation(path);
    AVRational fr = av_guess_frame_rate(s->fmt, vs, NULL);
    s->fps = (fr.num > 0 && fr.den > 0) ? av_q2d(fr) : 0.0;

    const char *base = strrchr(path, '/');
    cap_source *src = cap_source_alloc(&ff_ops, s, base ? base + 1 : path);
    if (!src) {
        *st = CAP_NOMEM;
        snprintf(err, errlen, "%s: out of memory", path);
        ff_close(s);
        return NULL;
    }
    src->fps = s->fps;
    src->frame_count = vs->nb_frames > 0 ? vs->nb_frames : -1;
    src->orientation = s->stream_orientation;
    *st = CAP_OK;
    return src;
}

/* v4l2_private.h - helpers shared by v4l2_devices.c and v4l2_camera.c. */
#ifndef V4L2_PRIVATE_H
#define V4L2_PRIVATE_H

#include "v4l2_camera.h"

#include <stddef.h>

/* ioctl that retries on EINTR. */
int cap_xioctl(int fd, unsigned long req, void *arg);
/* errno of a failed open() to a status and a sentence for the user. */
cap_status cap_v4l2_open_error(int err, const char *path, char *buf, size_t len);
/* Modes of an open device (see cap_v4l2_list_modes). */
cap_status cap_v4l2_fd_modes(int fd, const char *path, cap_v4l2_mode **modes, int *n_modes,
                             char *errbuf, size_t errlen);
/* Our pixel format for a V4L2 fourcc; -1 if we cannot convert it. */
int cap_v4l2_pixfmt(uint32_t fourcc);

#endif

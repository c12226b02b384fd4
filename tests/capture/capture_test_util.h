/* capture_test_util.h - helpers for driving the fake V4L2 camera from tests
 * and the benchmark: a temp device directory and an atomically rewritten
 * control file. */
#ifndef CAPTURE_TEST_UTIL_H
#define CAPTURE_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>

typedef struct {
    char dir[256];     /* temp device directory */
    char device[300];  /* dir/video0 */
    char control[300]; /* dir-ctl/control (outside dir so scans never see it) */
    char ctldir[256];
} fake_cam;

/* Makes the temp dirs and points the fake at them (FAKE_V4L2_DEVICE,
 * FAKE_V4L2_CONTROL, SMILE_V4L2_DIR); 0 on success. */
int fake_cam_setup(fake_cam *fc);
/* Replaces the control file (write to a temp file, rename) with text. */
int fake_cam_control(const fake_cam *fc, const char *text);
/* Removes the temp dirs and everything in them. */
void fake_cam_cleanup(fake_cam *fc);
/* Non-zero when the fake library is loaded (LD_PRELOAD). */
int fake_cam_loaded(void);

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);        \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

#endif

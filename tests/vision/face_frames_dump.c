/* face-frames-dump DIR: write the agreement frames as DIR/frame_NN.pgm for
 * tools/refgen/opencv_faces.py (run once; only its boxes are committed). */
#include <stdio.h>
#include <stdlib.h>

#include "face_frames.h"

int main(int argc, char **argv)
{
    const char *ds = getenv("SMILE_DATASETS");
    if (argc != 2 || !ds) {
        fprintf(stderr, "usage: SMILE_DATASETS=... face-frames-dump DIR\n");
        return 2;
    }
    static uint8_t frame[FF_W * FF_H];
    for (int k = 0; k < FF_COUNT; k++) {
        char err[512], path[1024];
        if (ff_compose(ds, k, frame, err, sizeof err) != 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        snprintf(path, sizeof path, "%s/frame_%02d.pgm", argv[1], k);
        if (ff_write_pgm(path, frame, FF_W, FF_H, FF_W) != 0) {
            fprintf(stderr, "%s: cannot write\n", path);
            return 1;
        }
    }
    printf("wrote %d frames to %s\n", FF_COUNT, argv[1]);
    return 0;
}

#!/usr/bin/python3
"""Reference face boxes from OpenCV 4.6 (Debian python3-opencv) for the
detector-agreement test of vision/.

  face-frames-dump /tmp/frames    # our deterministic frames, as PGM
  /usr/bin/python3 tools/refgen/opencv_faces.py /tmp/frames > tests/vision/opencv_faces.txt

Each line: "frame setting x y w h", setting = [cascade:]scale,minNeighbors,minSize
(no prefix: haarcascade_frontalface_default; alt2: its two-node-tree sibling;
lbp: lbpcascade_frontalface_improved).
Run once; only the boxes are committed (the frames are made from the shared
datasets at test time)."""
import glob
import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")
import cv2  # noqa: E402

cv2.setNumThreads(1)
CASCADE = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"
CASCADES = {
    "": CASCADE,
    "alt2": "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml",
    "lbp": "/usr/share/opencv4/lbpcascades/lbpcascade_frontalface_improved.xml",
}
# The pipeline's setting first, then OpenCV's defaults with a coarser pyramid.
SETTINGS = [("", 1.1, 5, 30), ("", 1.2, 3, 24), ("", 1.05, 4, 40),
            ("alt2", 1.1, 3, 24), ("lbp", 1.1, 3, 24)]


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    ccs = {}
    for key, path in CASCADES.items():
        ccs[key] = cv2.CascadeClassifier(path)
        if ccs[key].empty():
            raise SystemExit("cannot load " + path + " (install opencv-data)")
    files = sorted(glob.glob(os.path.join(sys.argv[1], "frame_*.pgm")))
    if not files:
        raise SystemExit("no frame_*.pgm in " + sys.argv[1])
    print("# OpenCV %s detectMultiScale; default cascade %s" % (cv2.__version__, os.path.basename(CASCADE)))
    print("# frame scale,minNeighbors,minSize x y w h")
    for f in files:
        img = cv2.imread(f, cv2.IMREAD_GRAYSCALE)
        k = int(os.path.basename(f)[6:8])
        for key, sf, mn, ms in SETTINGS:
            boxes = ccs[key].detectMultiScale(img, scaleFactor=sf, minNeighbors=mn, minSize=(ms, ms))
            tag = (key + ":") if key else ""
            for x, y, w, h in sorted(tuple(int(v) for v in b) for b in boxes):
                print("%d %s%g,%d,%d %d %d %d %d" % (k, tag, sf, mn, ms, x, y, w, h))


if __name__ == "__main__":
    main()

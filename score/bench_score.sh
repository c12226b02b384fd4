#!/bin/sh
# Speed and face finding of smile-score against the OpenCV-Python peer
# (../shared/peers/opencv/score_video.py), run side by side in one session.
# Prints key=value lines. Usage (from the source root, after building):
#   score/bench_score.sh [BUILD_DIR] [MODEL]
# BUILD_DIR defaults to build; MODEL to smile-score's own default lookup.
# Single-thread runs are pinned to CPU 0 (taskset -c 0, OMP_NUM_THREADS=1);
# the two-thread run gets CPUs 0 and 1. fps is frames / wall time; cpu_fps is
# frames / process CPU time (steadier on a shared machine). Each of our runs
# is repeated BENCH_REPEAT times (default 3) and the best kept, since other
# jobs on a shared machine only ever slow a run down.
set -eu
build=${1:-build}
model=${2:-}
root=$(cd "$(dirname "$0")/.." && pwd)
videos=${SMILE_VIDEOS:-$root/../shared/videos}
peer=$root/../shared/peers/opencv/score_video.py
mjpeg=$videos/smiles300_640x480_mjpeg.avi
h264=$videos/smiles300_640x480_h264.mp4
exe=$root/$build/score/smile-score
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -x "$exe" ] || { echo "error=no $exe (build first)"; exit 1; }
[ -f "$mjpeg" ] || { echo "error=no $mjpeg"; exit 1; }
modelopt=""
[ -n "$model" ] && modelopt="--model $model"

repeat=${BENCH_REPEAT:-3}
ours() { # label cpus threads video
    label=$1; cpus=$2; threads=$3; video=$4
    : >"$tmp/$label.err"
    i=0
    while [ $i -lt "$repeat" ]; do
        SMILE_SCORE_STATS=1 taskset -c "$cpus" env OMP_NUM_THREADS=1 "$exe" $modelopt \
            --threads "$threads" --min-face 30 --summary --csv /dev/null "$video" \
            >"$tmp/$label.out" 2>>"$tmp/$label.err" || true
        i=$((i + 1))
    done
    fps=$(sed -n 's/^frames=.* fps=\([0-9.]*\).*/\1/p' "$tmp/$label.err" | sort -g | tail -1)
    cpufps=$(sed -n 's/^frames=.*cpu_fps=\([0-9.]*\).*/\1/p' "$tmp/$label.err" | sort -g | tail -1)
    face=$(sed -n 's/.*with a face [0-9]* (\([0-9.]*\)%).*/\1/p' "$tmp/$label.out" | head -1)
    echo "${label}_fps=$fps"
    echo "${label}_cpu_fps=$cpufps"
    echo "${label}_face_found=$(echo "$face" | awk '{printf "%.3f", $1 / 100}')"
    eval "${label}_fps=$fps; ${label}_cpu=$cpufps"
}

peer_fps=0; peer_cpu=0
if [ -f "$peer" ] && /usr/bin/python3 -c 'import cv2' 2>/dev/null; then
    labels=$videos/labels.csv
    taskset -c 0 env OMP_NUM_THREADS=1 /usr/bin/python3 "$peer" "$mjpeg" --min-face 30 \
        --labels "$labels" --out "$tmp/peer.csv" >"$tmp/peer.out" 2>&1 || true
    peer_fps=$(sed -n 's/^fps: \([0-9.]*\) (wall.*/\1/p' "$tmp/peer.out")
    peer_cpu=$(sed -n 's/^fps: .*) *\([0-9.]*\) (process CPU.*/\1/p' "$tmp/peer.out")
    echo "peer_opencv_fps=$peer_fps"
    echo "peer_opencv_cpu_fps=$peer_cpu"
    echo "peer_opencv_face_found=$(sed -n 's/.*face found \([0-9.]*\),.*/\1/p' "$tmp/peer.out")"
else
    echo "peer_opencv=unavailable"
fi
ours mjpeg_t1 0 1 "$mjpeg"
ours mjpeg_t2 0,1 2 "$mjpeg"
if [ -f "$h264" ]; then
    ours h264_t1 0 1 "$h264"
    ours h264_t2 0,1 2 "$h264"
fi
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }
echo "ratio_mjpeg_t1_vs_peer=$(ratio "$mjpeg_t1_fps" "$peer_fps")"
echo "ratio_mjpeg_t1_vs_peer_cpu=$(ratio "$mjpeg_t1_cpu" "$peer_cpu")"
echo "ratio_mjpeg_t2_vs_t1=$(ratio "$mjpeg_t2_fps" "$mjpeg_t1_fps")"
if [ -f "$h264" ]; then
    echo "ratio_h264_t1_vs_peer=$(ratio "$h264_t1_fps" "$peer_fps")"
    echo "ratio_h264_t2_vs_t1=$(ratio "$h264_t2_fps" "$h264_t1_fps")"
fi

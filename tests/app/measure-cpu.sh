#!/bin/sh
# measure-cpu.sh BUILD_DIR [SECONDS] [extra app args] - not a test: runs
# smile-detector under Xvfb against the fake camera (640x480 MJPEG at 30 fps
# from the development video) and prints key=value figures:
#   cpu_percent   whole process, utime+stime from /proc/PID/stat over SECONDS
#                 (after a 5 s warm-up), as % of one core
#   fps_camera    frames the worker received a second
#   frames_shown  drawn / processed (1.0 = every frame reached the screen)
#   latency_*     frame arrival (left the camera queue) to its overlay drawn
# Env: SMILE_VIDEOS (default ../shared/videos), SMILE_MODEL, TASKSET ("taskset -c 0").
set -u
build=${1:?usage: measure-cpu.sh BUILD_DIR [SECONDS] [app args]}
secs=${2:-30}
[ $# -ge 2 ] && shift 2 || shift 1
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$build" && pwd)
video=${SMILE_VIDEOS:-$root/../shared/videos}/smiles300_640x480_mjpeg.avi
[ -f "$video" ] || { echo "no $video" >&2; exit 1; }
T=$(mktemp -d /tmp/smile-measure.XXXXXX)
trap 'kill $APID $XPID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3>"$T/display" >/dev/null 2>&1 &
XPID=$!
while [ ! -s "$T/display" ]; do sleep 0.1; done
export DISPLAY=":$(head -n1 "$T/display")" XDG_CONFIG_HOME="$T/cfg" NO_AT_BRIDGE=1
export SMILE_V4L2_DIR="$T/dev" FAKE_V4L2_DEVICE="$T/dev/video0" FAKE_V4L2_SOURCE="$video"
export FAKE_V4L2_CONTROL="$T/control"
mkdir -p "$T/dev" "$T/cfg"
echo "present=1" >"$T/control"
LD_PRELOAD="$build/tests/capture/fake_v4l2/libfakev4l2.so" ${TASKSET:-} \
    "$build/app/smile-detector" --verbose "$@" 2>"$T/log" &
APID=$!
sleep 5
ticks() { awk '{print $14 + $15}' "/proc/$APID/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks)
s0=$(date +%s.%N)
sleep "$secs"
t1=$(ticks)
s1=$(date +%s.%N)
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$APID/status")
kill -TERM $APID
wait $APID
echo "seconds=$(echo "$s1 - $s0" | bc)"
echo "cpu_percent=$(echo "scale=1; 100 * ($t1 - $t0) / $hz / ($s1 - $s0)" | bc)"
echo "rss_kb=$rss_kb"
grep -o 'stats: .*' "$T/log" | tail -n1 | sed 's/stats: //' | tr ' ' '\n'
grep -o 'latency: .*' "$T/log" | tail -n1 | sed 's/latency: //' | tr ' ' '\n' | sed 's/^/latency_/'
grep -o 'model: .*' "$T/log" | head -n1

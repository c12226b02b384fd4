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
build=$(cd "$build" && pwd)
. "$(dirname "$0")/fake-session.sh"
fake_session_start measure
LD_PRELOAD="$FAKE_V4L2_LIB" ${TASKSET:-} \
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

#!/bin/sh
# soak.sh BUILD_DIR [MINUTES] - not a test: the long run. smile-detector
# watches the fake camera (640x480 MJPEG, 30 fps) under Xvfb for MINUTES
# (default 60); every 40 s (env SOAK_UNPLUG_EVERY, 0 = never) the camera is
# unplugged for 3 s and plugged back.
# Prints RSS every minute and, at the end, key=value figures:
#   rss_start_kb (after the first minute), rss_end_kb, rss_growth_kb,
#   unplugs, reconnects (frames seen again after an unplug), plus the app's
#   own frame counters. A healthy run has reconnects == unplugs and an RSS
#   that levels off.
set -u
build=${1:?usage: soak.sh BUILD_DIR [MINUTES]}
mins=${2:-60}
build=$(cd "$build" && pwd)
. "$(dirname "$0")/fake-session.sh"
fake_session_start soak
LD_PRELOAD="$FAKE_V4L2_LIB" \
    "$build/app/smile-detector" --verbose 2>"$T/log" &
APID=$!
rss() { awk '/VmRSS/ {print $2}' "/proc/$APID/status"; }
start=$(date +%s)
end=$((start + mins * 60))
unplugs=0
rss_start=""
every=${SOAK_UNPLUG_EVERY:-40}
next_unplug=$((start + every))
[ "$every" -gt 0 ] || next_unplug=$((end + 1))
next_print=$((start + 60))
while [ "$(date +%s)" -lt $end ]; do
    kill -0 $APID 2>/dev/null || { echo "the app died"; tail -20 "$T/log"; exit 1; }
    now=$(date +%s)
    if [ "$now" -ge $next_unplug ]; then
        echo "present=0" >"$T/control"
        sleep 3
        echo "present=1" >"$T/control"
        unplugs=$((unplugs + 1))
        next_unplug=$((next_unplug + every))
    fi
    if [ "$now" -ge $next_print ]; then
        r=$(rss)
        [ -z "$rss_start" ] && rss_start=$r
        echo "minute=$(( (now - start) / 60 )) rss_kb=$r"
        next_print=$((next_print + 60))
    fi
    sleep 1
done
sleep 5 # let the last replug settle
rss_end=$(rss)
kill -TERM $APID
wait $APID
echo "rss_start_kb=${rss_start:-$rss_end}"
echo "rss_end_kb=$rss_end"
echo "rss_growth_kb=$((rss_end - ${rss_start:-$rss_end}))"
echo "unplugs=$unplugs"
echo "reconnects=$(grep -c 'frame after reconnect' "$T/log")"
grep -o 'stats: .*' "$T/log" | tail -n1

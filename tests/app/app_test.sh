#!/bin/sh
# app_test.sh SCENARIO - runs smile-detector under its own Xvfb against the
# fake V4L2 camera (tests/capture/fake_v4l2, LD_PRELOAD) and checks what it
# shows, says and writes. meson passes the programs through the environment:
#   SMILE_APP, SMILE_FAKE_V4L2, SMILE_APP_CHECK, SMILE_APP_MO, SMILE_VIDEOS
# Exit 77 (skip) when Xvfb or the development video is missing.
set -u
scenario=$1
video="${SMILE_VIDEOS:-}/smiles300_640x480_mjpeg.avi"
command -v Xvfb >/dev/null 2>&1 || { echo "SKIP: Xvfb is not installed"; exit 77; }
command -v import >/dev/null 2>&1 || { echo "SKIP: imagemagick (import) is not installed"; exit 77; }
[ -f "$video" ] || { echo "SKIP: $video is missing"; exit 77; }

T=$(mktemp -d /tmp/smile-app-test.XXXXXX)
XPID=""
APID=""
cleanup() {
    [ -n "$APID" ] && kill "$APID" 2>/dev/null
    [ -n "$XPID" ] && kill "$XPID" 2>/dev/null
    wait 2>/dev/null
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- app log"; tail -40 "$T/log" 2>/dev/null; exit 1; }

# A display of our own: Xvfb picks a free number and tells us through fd 3.
Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3>"$T/display" >"$T/xvfb.log" 2>&1 &
XPID=$!
i=0
while [ ! -s "$T/display" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$T/display" ] || fail "Xvfb did not start: $(cat "$T/xvfb.log")"
export DISPLAY=":$(head -n1 "$T/display")"

mkdir -p "$T/dev" "$T/cfg" "$T/pics" "$T/vids"
export XDG_CONFIG_HOME="$T/cfg"
printf 'XDG_PICTURES_DIR="%s"\nXDG_VIDEOS_DIR="%s"\n' "$T/pics" "$T/vids" >"$T/cfg/user-dirs.dirs"
export SMILE_V4L2_DIR="$T/dev"
export FAKE_V4L2_DEVICE="$T/dev/video0"
export FAKE_V4L2_SOURCE="$video"
export FAKE_V4L2_CONTROL="$T/control"
export SMILE_MODEL="${SMILE_MODEL:-$T/no-model.nnm}"
echo "present=1" >"$T/control"
# GTK's own allocations are not ours to leak-check; the fake is not ASan-built
export ASAN_OPTIONS="detect_leaks=0:verify_asan_link_order=0"
export NO_AT_BRIDGE=1
export GDK_BACKEND=x11

start_app() {
    : >"$T/log" # exists before the app starts, so wait_for never reads a missing file
    LD_PRELOAD="$SMILE_FAKE_V4L2" "$SMILE_APP" --verbose "$@" 2>"$T/log" >"$T/out" &
    APID=$!
}

# log_count PATTERN: matching lines in the log, 0 when there is no log yet
log_count() {
    c=$(grep -c -- "$1" "$T/log" 2>/dev/null)
    echo "${c:-0}"
}

# wait_for PATTERN [SECONDS] [COUNT]: until the log has COUNT lines matching
wait_for() {
    n=0
    lim=$(( ${2:-20} * 10 * ${SMILE_TIMEOUT_SCALE:-1} ))
    while [ "$(log_count "$1")" -lt "${3:-1}" ]; do
        kill -0 "$APID" 2>/dev/null || fail "the app exited while waiting for '$1'"
        n=$((n + 1))
        [ $n -ge $lim ] && fail "no '$1' in the log after ${2:-20} s"
        sleep 0.1
    done
}

stop_app() {
    kill -TERM "$APID"
    n=0
    while kill -0 "$APID" 2>/dev/null; do
        n=$((n + 1))
        [ $n -ge $((100 * ${SMILE_TIMEOUT_SCALE:-1})) ] && fail "the app did not quit within 10 s of SIGTERM"
        sleep 0.1
    done
    wait "$APID"
    rc=$?
    APID=""
    [ $rc -eq 0 ] || fail "the app exited with status $rc"
    if grep -E "CRITICAL|Gtk-WARNING|GLib-GObject-WARNING" "$T/log"; then
        fail "GTK or GLib complained"
    fi
}

stat_of() { # KEY: a number from the last stats line
    grep 'stats:' "$T/log" | tail -n1 | tr ' ' '\n' | grep "^$1=" | cut -d= -f2 | cut -d. -f1
}

case "$scenario" in
live)
    # the video with the overlay, a snapshot, and the frames drawn
    start_app --screenshot "$T/view.png" --snapshot-after 1
    wait_for "state: live"
    wait_for "screenshot: written" 30
    wait_for "snapshot: saved" 30
    wait_for "toast: Saved snapshot"
    import -window root "$T/root.png" || fail "import could not grab the screen"
    stop_app
    "$SMILE_APP_CHECK" colors "$T/root.png" 100 || fail "the screen shows too few colours: no video?"
    "$SMILE_APP_CHECK" colors "$T/view.png" 100 || fail "the live view shows too few colours"
    face=$(grep 'screenshot-face:' "$T/log" | head -n1 | sed 's/.*screenshot-face: //')
    [ -n "$face" ] || fail "no face was found in the video"
    # shellcheck disable=SC2086
    "$SMILE_APP_CHECK" box "$T/view.png" $face || fail "the face box is not drawn where the face is"
    snap=$(ls "$T/pics"/smile_*.jpg 2>/dev/null | head -n1)
    [ -n "$snap" ] || fail "no snapshot in the pictures folder"
    "$SMILE_APP_CHECK" jpeg "$snap" || fail "the snapshot is not a valid JPEG"
    grep -q "model-bar: No smile model was found" "$T/log" || fail "no word about the missing model"
    # the screen keeps up with the frames the UI takes. Not every one: when
    # the main loop stalls (a snapshot being written, a loaded machine), two
    # results can arrive before one draw and the newer one wins, by design;
    # a sanitized build on a busy machine drew 36 of 39.
    drawn=$(stat_of drawn)
    taken=$(stat_of taken)
    [ "${drawn:-0}" -ge 5 ] || fail "only ${drawn:-0} frames were drawn"
    [ $(( ${drawn:-0} * 10 )) -ge $(( ${taken:-0} * 8 )) ] || fail "$taken frames taken but only $drawn drawn"
    echo "ok: live view, face box, snapshot $snap, $drawn of $taken frames drawn"
    ;;
scored)
    # with the shipped model: scored boxes, and the smile shutter fires by itself
    model="${SMILE_SOURCE_ROOT:-}/models/smile.nnm"
    [ -f "$model" ] || { echo "SKIP: $model is missing"; exit 77; }
    export SMILE_MODEL="$model"
    mkdir -p "$T/cfg/smile-detector"
    printf '[smile-detector]\nsmile-shutter=true\nthreshold=0.05\nhold-seconds=0.3\noverlay-in-snapshot=true\n' \
        >"$T/cfg/smile-detector/settings.ini"
    start_app --screenshot "$T/view.png"
    wait_for "model: loaded"
    wait_for "screenshot: written" 30
    wait_for "snapshot: saved" 30
    stop_app
    grep -q "model-bar:" "$T/log" && fail "the model loaded but the app says it did not"
    face=$(grep 'screenshot-face:' "$T/log" | head -n1 | sed 's/.*screenshot-face: //')
    [ -n "$face" ] || fail "no face was found in the video"
    case "$face" in *"#f6d32d") fail "a scored face is drawn in the no-model colour";; esac
    # shellcheck disable=SC2086
    "$SMILE_APP_CHECK" box "$T/view.png" $face || fail "the scored face box is not drawn in its score's colour"
    snap=$(ls "$T/pics"/smile_*.jpg 2>/dev/null | head -n1)
    [ -n "$snap" ] || fail "the smile shutter saved nothing"
    "$SMILE_APP_CHECK" jpeg "$snap" || fail "the smile shutter's photo is not a valid JPEG"
    echo "ok: scored faces, smile shutter saved $snap"
    ;;
unplug)
    start_app
    wait_for "first frame"
    echo "present=0" >"$T/control"
    wait_for "state: disconnected"
    wait_for "infobar: The camera was disconnected. Waiting for it to come back"
    sleep 1
    echo "present=1" >"$T/control"
    wait_for "state: live" 20 2
    wait_for "frame after reconnect" 20
    stop_app
    echo "ok: unplug shown in words, replug resumed"
    ;;
busy)
    echo "open_error=ebusy" >"$T/control"
    start_app
    wait_for "state: busy"
    wait_for "being used by another program"
    echo "present=1" >"$T/control"
    wait_for "first frame" 20
    stop_app
    echo "ok: busy explained, picture once the camera was free"
    ;;
permission)
    echo "open_error=eacces" >"$T/control"
    start_app
    wait_for "“video” group"
    stop_app
    echo "ok: EACCES names the video group"
    ;;
empty)
    # no camera: the empty state, then a camera plugged in appears by itself
    echo "present=0" >"$T/control"
    start_app
    wait_for "empty: No camera found"
    sleep 0.5
    import -window root "$T/root.png" || fail "import could not grab the screen"
    "$SMILE_APP_CHECK" colors "$T/root.png" 8 || fail "the empty state is not drawn"
    echo "present=1" >"$T/control"
    wait_for "first frame" 20
    stop_app
    echo "ok: empty state, then hotplug"
    ;;
file | file-h264)
    # file: the MJPEG AVI (our reader); file-h264: a video FFmpeg decodes,
    # shown in its colours (the file's backgrounds are coloured, so most of
    # the view is)
    src="$video"
    if [ "$scenario" = file-h264 ]; then
        src="${SMILE_VIDEOS:-}/smiles300_640x480_h264.mp4"
        [ -f "$src" ] || { echo "SKIP: $src is missing"; exit 77; }
    fi
    unset FAKE_V4L2_DEVICE
    start_app --source "$src" --screenshot "$T/view.png"
    wait_for "state: live"
    wait_for "screenshot: written" 30
    stop_app
    "$SMILE_APP_CHECK" colors "$T/view.png" 100 || fail "the video is not shown"
    if [ "$scenario" = file-h264 ]; then
        "$SMILE_APP_CHECK" chroma "$T/view.png" 50 || fail "the H.264 video is shown without its colours"
    fi
    echo "ok: --source plays $src"
    ;;
badfile)
    unset FAKE_V4L2_DEVICE
    printf 'RIFF this is not a video' >"$T/broken.avi"
    start_app --source "$T/broken.avi"
    wait_for "empty: Cannot open the video"
    stop_app
    echo "ok: a broken file is explained"
    ;;
record)
    start_app --record-for 2
    wait_for "recording started"
    wait_for "recording stopped" 30
    wait_for "toast: Saved video"
    stop_app
    avi=$(ls "$T/vids"/smile_*.avi 2>/dev/null | head -n1)
    [ -n "$avi" ] || fail "no recording in the videos folder"
    # every frame the app wrote plays back (at least a few: 2 s at 30 fps is 60)
    n=$(grep -o 'recording stopped: .*(\([0-9]*\) frames)' "$T/log" | sed 's/.*(\([0-9]*\) frames)/\1/')
    [ "${n:-0}" -ge 5 ] || fail "only ${n:-0} frames were recorded"
    "$SMILE_APP_CHECK" avi "$avi" "$n" || fail "the recording does not play all $n frames"
    echo "ok: recorded $n frames to $avi"
    ;;
mode)
    # the saved mode is asked of the camera, and the menu lists every mode
    mkdir -p "$T/cfg/smile-detector"
    printf '[smile-detector]\ncamera-name=Fake V4L2 Camera\nformat=YUYV\nwidth=320\nheight=240\n' \
        >"$T/cfg/smile-detector/settings.ini"
    start_app
    wait_for "mode: 320x240"
    wait_for "modes: 6 in the menu"
    wait_for "first frame 320x240"
    stop_app
    echo "ok: saved mode applied, 6 modes offered"
    ;;
record-yuyv)
    # a YUYV camera's frames are encoded to JPEG once for the recording
    export FAKE_V4L2_FORMATS=YUYV
    start_app --record-for 2
    wait_for "recording stopped" 30
    stop_app
    grep -q "mode: 640x480 YUYV" "$T/log" || grep -q "mode: 640x480 YUV" "$T/log" ||
        fail "the camera was not in YUYV mode"
    avi=$(ls "$T/vids"/smile_*.avi 2>/dev/null | head -n1)
    [ -n "$avi" ] || fail "no recording in the videos folder"
    n=$(grep -o 'recording stopped: .*(\([0-9]*\) frames)' "$T/log" | sed 's/.*(\([0-9]*\) frames)/\1/')
    [ "${n:-0}" -ge 5 ] || fail "only ${n:-0} frames were recorded"
    "$SMILE_APP_CHECK" avi "$avi" "$n" || fail "the YUYV recording does not play"
    echo "ok: recorded $n YUYV frames as MJPEG"
    ;;
corrupt)
    # damaged frames are dropped and counted, without bothering the user
    echo "corrupt_every=3" >"$T/control"
    start_app
    wait_for "first frame"
    sleep 3
    stop_app
    corrupt=$(stat_of corrupt)
    drawn=$(stat_of drawn)
    [ "${corrupt:-0}" -gt 0 ] || fail "no damaged frame was counted"
    [ "${drawn:-0}" -ge 10 ] || fail "only ${drawn:-0} frames drawn between the damaged ones"
    grep -q "infobar:" "$T/log" && fail "damaged frames made the app complain"
    echo "ok: $corrupt damaged frames dropped silently, $drawn drawn"
    ;;
dialogs)
    # Preferences, Keyboard Shortcuts and About open over the live view without
    # GTK complaining
    for d in preferences shortcuts about; do
        start_app --open-dialog "$d"
        wait_for "first frame"
        sleep 1
        import -window root "$T/$d.png" || fail "import could not grab the screen"
        stop_app
        "$SMILE_APP_CHECK" colors "$T/$d.png" 20 || fail "the $d dialog left the screen blank"
    done
    echo "ok: dialogs open cleanly"
    ;;
persist)
    # the camera is remembered by its name, wherever its node is next time
    start_app
    wait_for "first frame"
    stop_app
    grep -q "^camera-name=Fake V4L2 Camera" "$T/cfg/smile-detector/settings.ini" ||
        fail "the camera's name was not saved: $(cat "$T/cfg/smile-detector/settings.ini")"
    sed -i 's/^mirror=true/mirror=false/' "$T/cfg/smile-detector/settings.ini"
    export FAKE_V4L2_DEVICE="$T/dev/video5"
    start_app
    wait_for "opening camera $T/dev/video5 (Fake V4L2 Camera)"
    wait_for "first frame"
    stop_app
    grep -q "^mirror=false" "$T/cfg/smile-detector/settings.ini" || fail "mirror=false was not kept"
    echo "ok: settings kept across runs"
    ;;
korean)
    mkdir -p "$T/locale/ko/LC_MESSAGES"
    cp "$SMILE_APP_MO" "$T/locale/ko/LC_MESSAGES/smile-detector.mo"
    out=$(SMILE_LOCALEDIR="$T/locale" LANGUAGE=ko LANG=C.UTF-8 LC_ALL= "$SMILE_APP" --help 2>&1)
    echo "$out" | grep -q "카메라" || { echo "$out"; fail "--help is not in Korean"; }
    echo "present=0" >"$T/control"
    export SMILE_LOCALEDIR="$T/locale" LANGUAGE=ko LANG=C.UTF-8
    start_app
    wait_for "empty: 카메라를 찾을 수 없습니다"
    stop_app
    echo "ok: Korean UI"
    ;;
*)
    echo "unknown scenario $scenario"
    exit 2
    ;;
esac
exit 0

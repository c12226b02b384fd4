# fake-session.sh - sourced by measure-cpu.sh and soak.sh: a private Xvfb
# and a fake camera serving the dev video, so both scripts measure the app
# under the same conditions. Needs $build set; sets T, XPID and exports the
# DISPLAY, config and fake-camera variables. The caller starts the app (as
# APID) and owns the cleanup trap, which this installs for both.
# Usage: fake_session_start TAG
fake_session_start() {
    root=$(cd "$(dirname "$0")/../.." && pwd)
    video=${SMILE_VIDEOS:-$root/../shared/videos}/smiles300_640x480_mjpeg.avi
    [ -f "$video" ] || { echo "no $video" >&2; exit 1; }
    T=$(mktemp -d "/tmp/smile-$1.XXXXXX")
    trap 'kill $APID $XPID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
    Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3>"$T/display" >/dev/null 2>&1 &
    XPID=$!
    while [ ! -s "$T/display" ]; do sleep 0.1; done
    export DISPLAY=":$(head -n1 "$T/display")" XDG_CONFIG_HOME="$T/cfg" NO_AT_BRIDGE=1
    export SMILE_V4L2_DIR="$T/dev" FAKE_V4L2_DEVICE="$T/dev/video0" FAKE_V4L2_SOURCE="$video"
    export FAKE_V4L2_CONTROL="$T/control"
    mkdir -p "$T/dev" "$T/cfg"
    echo "present=1" >"$T/control"
    FAKE_V4L2_LIB="$build/tests/capture/fake_v4l2/libfakev4l2.so"
}

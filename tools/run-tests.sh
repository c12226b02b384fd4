#!/bin/sh
# Builds and runs the whole test suite twice: an optimised build, then an
# AddressSanitizer + UndefinedBehaviorSanitizer build, then runs the fuzz
# targets briefly. Warnings are errors. Ends with one line:
#   N passed, N failed, N skipped
# Extra arguments go to `meson test` (for example --suite nn).
set -u
cd "$(dirname "$0")/.."
root=$(pwd)
status=0

setup() { # dir, options...
    dir=$1; shift
    if [ -d "$dir/meson-info" ]; then
        meson setup --reconfigure "$dir" "$@" >"$dir.setup.log" 2>&1
    else
        meson setup "$dir" "$@" >"$dir.setup.log" 2>&1
    fi || { cat "$dir.setup.log"; return 1; }
}

run_suite() { # dir, label, timeout multiplier, meson test args...
    dir=$1; label=$2; mult=$3; shift 3
    echo "== $label: build"
    if ! meson compile -C "$dir" >"$dir.compile.log" 2>&1; then
        cat "$dir.compile.log"; echo "== $label: BUILD FAILED"; status=1; return
    fi
    echo "== $label: test"
    meson test -C "$dir" --print-errorlogs --num-processes 2 -t "$mult" "$@" || status=1
}

rm -f build-fuzz/passed build-fuzz/failed
setup build -Dwerror=true || status=1
run_suite build "optimised build" 1 "$@"

# LSan cannot run under ptrace-less sandboxes reliably; leaks are still
# checked by the tests that opt in with their own ASAN_OPTIONS.
setup build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debug -Doptimization=1 || status=1
run_suite build-asan "sanitizer build" 4 --no-suite heavy "$@"

# Fuzz the model loader (and any other targets) for a short while with clang's libFuzzer.
mkdir -p build-fuzz
if [ $# -eq 0 ] && command -v clang >/dev/null 2>&1; then
    if CC=clang setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
            -Dbuildtype=debug && meson compile -C build-fuzz >build-fuzz.compile.log 2>&1; then
        for t in build-fuzz/fuzz/fuzz-*; do
            [ -f "$t" ] && [ -x "$t" ] || continue
            name=$(basename "$t")
            corpus="$root/fuzz/corpus/${name#fuzz-}"
            work=$(mktemp -d)
            [ -d "$corpus" ] && cp -r "$corpus/." "$work/"
            if "$t" -max_total_time=20 -rss_limit_mb=2048 -artifact_prefix="$root/build-fuzz/" "$work" >"build-fuzz/$name.log" 2>&1; then
                echo "FUZZ $name: ok ($(grep -c . "build-fuzz/$name.log") log lines)"
                echo "$name" >>build-fuzz/passed
            else
                tail -40 "build-fuzz/$name.log"; echo "FUZZ $name: FAILED"
                echo "$name" >>build-fuzz/failed
                status=1
            fi
            rm -rf "$work"
        done
    else
        cat build-fuzz.compile.log 2>/dev/null; echo "FUZZ: build failed"; status=1
        echo build >>build-fuzz/failed
    fi
fi

# One summary over every run, read from meson's machine-readable logs.
python3 - <<'PY'
import json, os
p = f = s = 0
for d in ("build", "build-asan"):
    log = os.path.join(d, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        continue
    for line in open(log):
        r = json.loads(line).get("result", "")
        if r in ("OK", "EXPECTEDFAIL"): p += 1
        elif r == "SKIP": s += 1
        else: f += 1
for name, var in (("build-fuzz/passed", "p"), ("build-fuzz/failed", "f")):
    if os.path.exists(name):
        n = sum(1 for _ in open(name))
        if var == "p": p += n
        else: f += n
print(f"{p} passed, {f} failed, {s} skipped")
PY
exit $status

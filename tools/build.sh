#!/bin/sh
# Configures (or reconfigures) ./build and compiles everything.
set -eu
cd "$(dirname "$0")/.."
if [ -d build/meson-info ]; then
    meson setup --reconfigure build "$@" >/dev/null
else
    meson setup build "$@" >/dev/null
fi
meson compile -C build

#!/bin/sh
# Installs every Debian 12 package that building, running and testing
# smile-detector needs. Runs apt-get through sudo when not already root.
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    ca-certificates gcc clang libclang-rt-14-dev meson ninja-build pkg-config python3 \
    libgtk-3-dev libglib2.0-dev libcairo2-dev libturbojpeg0-dev libpng-dev zlib1g-dev libexif-dev libheif-dev linux-libc-dev \
    libavformat-dev libavcodec-dev libavutil-dev libswscale-dev \
    opencv-data gettext appstream desktop-file-utils \
    adwaita-icon-theme librsvg2-common \
    xvfb xauth x11-apps imagemagick fonts-dejavu-core >/dev/null
echo "install-deps: all packages present"

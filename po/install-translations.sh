#!/bin/sh
# install-translations.sh LOCALEDIR BUILD_DIR LANG... - meson install script:
# copies the catalogues app/meson.build compiled (BUILD_DIR/LANG.mo) to
# LOCALEDIR/LANG/LC_MESSAGES/smile-detector.mo. (A custom target cannot
# rename its output on install, and i18n.gettext needs a po/ subdir() that the
# top-level meson.build does not have.)
set -eu
localedir=$1
builddir=$2
shift 2
case $localedir in
/*) dest="${DESTDIR:-}$localedir" ;;
*) dest="$MESON_INSTALL_DESTDIR_PREFIX/$localedir" ;;
esac
for lang in "$@"; do
    install -D -m 644 "$builddir/$lang.mo" "$dest/$lang/LC_MESSAGES/smile-detector.mo"
    echo "Installing $builddir/$lang.mo to $dest/$lang/LC_MESSAGES/smile-detector.mo"
done

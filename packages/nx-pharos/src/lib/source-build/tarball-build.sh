#!/bin/sh
# Builds a relocatable tree in a clean container of the suite: build dependencies from the source's own debian/control
# (plus a variant's packages, from the archive components it names), an autotools build for /opt/NAME/view, $ORIGIN
# RPATHs (relocate.sh, mounted beside this script), and the libraries the clean target lacks copied into view/lib.
#   tarball-build.sh [CONFIGURE_FLAG…]
# Environment (lib/source-build/tarball-build.ts tarballBuildEnv): NAME, SOURCE_TARBALL, STAGE (the tree goes to
# STAGE/root, the machine's arch to STAGE/arch), PRESENT_SONAMES (file: one soname a clean target has per line),
# BUILD_PACKAGES, APT_COMPONENTS (space-separated), JOBS, OWNER (uid:gid), WORK_DIR (default /build), RELOCATE_SCRIPT
# (default: relocate.sh beside this script).
# Prints `pharos-phase: <step>` as it goes, and `pharos-bundled:<TAB>soname<TAB>package` per library it bundles.
set -eu
export DEBIAN_FRONTEND=noninteractive
work=${WORK_DIR:-/build}
prefix=/opt/$NAME/view
view=$STAGE/root$prefix
phase() { echo "pharos-phase: $1"; }

phase toolchain
if [ -n "${APT_COMPONENTS:-}" ]; then
  # Both apt source formats a Debian image may have.
  [ ! -f /etc/apt/sources.list ] || sed -i -E "/^deb(-src)? /s/\$/ $APT_COMPONENTS/" /etc/apt/sources.list
  for f in /etc/apt/sources.list.d/*.sources; do [ ! -f "$f" ] || sed -i -E "s/^(Components:.*)\$/\\1 $APT_COMPONENTS/" "$f"; done
fi
apt-get update -q
apt-get install -y -q --no-install-recommends build-essential devscripts equivs fakeroot patchelf
phase unpack
mkdir -p "$work/src"
tar -C "$work/src" -xf "$SOURCE_TARBALL"
cd "$work"/src/*/
phase build-deps
apt-get build-dep -y -q ./
# shellcheck disable=SC2086 # BUILD_PACKAGES is a list of validated package names
[ -z "${BUILD_PACKAGES:-}" ] || apt-get install -y -q --no-install-recommends $BUILD_PACKAGES
phase configure
./configure --prefix="$prefix" --sysconfdir="/etc/$NAME" "$@"
phase make
make -j"$JOBS"
phase install
make install DESTDIR="$STAGE/root"
phase relocate
sh "${RELOCATE_SCRIPT:-$(dirname "$0")/relocate.sh}" "$view" "$NAME" > "$work/needed"
cat "$work/needed"
phase bundle
mkdir -p "$view/lib"
grep '^pharos-needed:' "$work/needed" | while IFS="$(printf '\t')" read -r _ soname path; do
  grep -qx "$soname" "$PRESENT_SONAMES" && continue
  # Never bundled: the C library (it must be the target's own) and GPU driver libraries, which must match the kernel
  # driver of the machine the tree runs on.
  case $soname in ld-linux*|libc.so*|libm.so*|libpthread*|libdl.so*|librt.so*|libnvidia-*|libcuda.so*) continue ;; esac
  cp -L "$path" "$view/lib/$soname"
  # shellcheck disable=SC2016 # $ORIGIN is for the dynamic loader
  patchelf --set-rpath '$ORIGIN' "$view/lib/$soname"
  # With merged /usr, dpkg knows a library by one of its two paths.
  pkg=$( { dpkg -S "$path" || dpkg -S "/usr$path" || dpkg -S "${path#/usr}"; } 2>/dev/null | grep -v '^diversion' | cut -d: -f1 | head -n1)
  printf 'pharos-bundled:\t%s\t%s\n' "$soname" "$pkg"
done
uname -m > "$STAGE/arch"
chown -R "$OWNER" "$STAGE"

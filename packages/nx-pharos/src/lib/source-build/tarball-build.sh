#!/bin/sh
# Builds a relocatable tree in a clean container of the suite: build dependencies from the source's own debian/control
# (plus a variant's packages, from the archive components it names), an autotools build for /opt/NAME/view, $ORIGIN
# RPATHs (relocate.sh, mounted beside this script), and the libraries the clean target lacks copied into view/lib.
# Each component (Open MPI beside Slurm) is built after the main install into the same view (component-build.sh).
#   tarball-build.sh [CONFIGURE_FLAG…] [--component NAME SOURCE_TARBALL [CONFIGURE_FLAG…]]…
# Environment (lib/source-build/tarball-build.ts tarballBuildEnv): NAME, SOURCE_TARBALL, STAGE (the tree goes to
# STAGE/root, the machine's arch to STAGE/arch), PRESENT_SONAMES (file: one soname a clean target has per line),
# BUILD_PACKAGES, APT_COMPONENTS (space-separated), JOBS, OWNER (uid:gid), WORK_DIR (default /build), RELOCATE_SCRIPT
# (default: relocate.sh beside this script), COMPONENT_SCRIPT (default: component-build.sh beside this script).
# Prints `pharos-phase: <step>` as it goes, `pharos-compiler:<TAB>gcc<TAB>version` (the compiler the tree is built
# with, for the Lmod hierarchy), and `pharos-bundled:<TAB>soname<TAB>package` per library it bundles.
set -eu
export DEBIAN_FRONTEND=noninteractive
work=${WORK_DIR:-/build}
prefix=/opt/$NAME/view
view=$STAGE/root$prefix
phase() { echo "pharos-phase: $1"; }
# The arguments, one per line (configure flags hold no newline): the main package's in args.main, each component's
# (its name, its tarball, then its flags) in args.component.<n>.
mkdir -p "$work"
cur=$work/args.main
: > "$cur"
n=0
for a in "$@"; do
  if [ "$a" = --component ]; then n=$((n + 1)); cur=$work/args.component.$n; : > "$cur"; continue; fi
  printf '%s\n' "$a" >> "$cur"
done
# Runs a command with the lines of a file appended as its arguments.
with_args() {
  file=$1
  shift
  while IFS= read -r a; do set -- "$@" "$a"; done < "$file"
  "$@"
}

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
with_args "$work/args.main" ./configure --prefix="$prefix" --sysconfdir="/etc/$NAME"
phase make
make -j"$JOBS"
phase install
make install DESTDIR="$STAGE/root"
i=1
while [ "$i" -le "$n" ]; do
  with_args "$work/args.component.$i" sh "${COMPONENT_SCRIPT:-$(dirname "$0")/component-build.sh}" "$prefix" "$STAGE/root"
  i=$((i + 1))
done
printf 'pharos-compiler:\tgcc\t%s\n' "$(gcc -dumpfullversion 2>/dev/null || gcc -dumpversion)"
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

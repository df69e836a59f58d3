#!/bin/sh
# Builds Debian packages from a source tarball that carries upstream's debian/ directory, in a clean container of the
# suite: dpkg-buildpackage, or upstream's own `make package-deb` (which runs debuild). The build dependencies come from
# the source's debian/control (apt-get build-dep ./), plus BUILD_PACKAGES that upstream documents and its control misses.
# Every value comes from the environment (tools/dpkg.ts dpkgBuildEnv):
#   SOURCE_TARBALL  the source tarball          OUT_DIR   where the .debs are copied (owned by OWNER, uid:gid)
#   BUILD           dpkg-buildpackage | make-package-deb
#   JOBS            make -j                      DEBUG_SYMBOLS  yes | no (no: noddebs, and no -dbg packages collected)
#   MAKE_VERSION    make-package-deb: VARIABLE=release on make's command line (a tarball has no git tags to read)
#   BUILD_PACKAGES  space-separated package names (validated by the recipe)
#   REQUIRES        lines of tool<TAB>minimum<TAB>what needs it<TAB>version command; checked before anything installs
#   TOOLCHAIN       names the suite in messages  WORK_DIR  default /build
# Prints `pharos-phase: <step>` as it goes, and `pharos-deb:<TAB>file<TAB>package<TAB>version<TAB>arch` per .deb.
set -eu
export DEBIAN_FRONTEND=noninteractive
work=${WORK_DIR:-/build}
phase() { echo "pharos-phase: $1"; }
[ "$DEBUG_SYMBOLS" = yes ] || export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-} noddebs"

if [ -n "${REQUIRES:-}" ]; then
  phase requirements
  missing=''
  tab=$(printf '\t')
  while IFS="$tab" read -r tool minimum needed_by version_command; do
    [ -n "$tool" ] || continue
    if ! command -v "$tool" >/dev/null 2>&1; then
      missing="$missing\n  $tool >= $minimum for $needed_by: not installed"
      continue
    fi
    have=$(sh -c "${version_command:-$tool --version}" 2>&1 | grep -oE '[0-9]+(\.[0-9]+)+' | head -n 1)
    if [ -z "$have" ] || dpkg --compare-versions "$have" lt "$minimum"; then
      missing="$missing\n  $tool >= $minimum for $needed_by: found ${have:-no version}"
    fi
  done <<REQUIRES
$REQUIRES
REQUIRES
  if [ -n "$missing" ]; then
    printf 'the toolchain %s lacks what this version needs:%b\n' "$TOOLCHAIN" "$missing" >&2
    echo "this version needs a toolchain the suite does not carry: build another version of the recipe, or add these tools to the suite's image" >&2
    exit 4
  fi
fi

phase toolchain
apt-get update -q
# shellcheck disable=SC2086 # BUILD_PACKAGES is a list of validated package names
apt-get install -y -q --no-install-recommends build-essential devscripts equivs fakeroot ${BUILD_PACKAGES:-}
phase unpack
mkdir -p "$work/src"
tar -C "$work/src" -xf "$SOURCE_TARBALL"
cd "$work"/src/*/
if [ ! -f debian/control ]; then
  echo "the source tarball has no debian/control: $BUILD needs upstream's debian/ directory" >&2
  exit 3
fi
phase build-deps
apt-get build-dep -y -q ./
if [ "$BUILD" = make-package-deb ]; then
  phase 'make package-deb'
  # PACKAGE_DIR must not exist beforehand (upstream's rule).
  make package-deb PACKAGE_DIR="$work/packages" DEBUILD_OPTS="-j$JOBS" ${MAKE_VERSION:+"$MAKE_VERSION"}
  debs="$work/packages/*.deb"
else
  phase dpkg-buildpackage
  dpkg-buildpackage -us -uc -b -j"$JOBS"
  debs='../*.deb'
fi
phase collect
for deb in $debs; do
  # make package-deb names its debug packages -dbg: without debug symbols they are built but not collected.
  if [ "$DEBUG_SYMBOLS" != yes ] && [ "$BUILD" = make-package-deb ]; then
    case $deb in *-dbg_*|*-dbgsym_*) continue ;; esac
  fi
  cp "$deb" "$OUT_DIR/"
  printf 'pharos-deb:\t%s\t%s\t%s\t%s\n' "$(basename "$deb")" "$(dpkg-deb -f "$deb" Package)" "$(dpkg-deb -f "$deb" Version)" "$(dpkg-deb -f "$deb" Architecture)"
done
chown -R "$OWNER" "$OUT_DIR"

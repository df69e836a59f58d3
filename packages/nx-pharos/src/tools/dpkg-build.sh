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
#   PACKAGING_TARBALL  a tarball holding debian/, laid over the source's own (Debian's .debian.tar.xz); optional
#   BUILD_FROM      lines of suite<TAB>space-separated apt patterns: other suites of DEBIAN_MIRROR the build
#                   dependencies matching the patterns come from (nothing else does); optional
#   PATCHES         lines of patch files (patch -p1), applied in order after the packaging's own; optional
#   UNPRIVILEGED    yes: dpkg-buildpackage as an unprivileged user with fakeroot, as Debian's build daemons run it
#   APT_ETC         default /etc/apt
# Prints `pharos-phase: <step>` as it goes, `pharos-deb:<TAB>file<TAB>package<TAB>version<TAB>arch` per .deb, and
# `pharos-from:<TAB>suite<TAB>package<TAB>version` per installed package whose version only a BUILD_FROM suite carries.
set -eu
export DEBIAN_FRONTEND=noninteractive
work=${WORK_DIR:-/build}
apt_etc=${APT_ETC:-/etc/apt}
tab=$(printf '\t')
phase() { echo "pharos-phase: $1"; }
[ "$DEBUG_SYMBOLS" = yes ] || export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-} noddebs"

if [ -n "${REQUIRES:-}" ]; then
  phase requirements
  missing=''
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

if [ -n "${BUILD_FROM:-}" ]; then
  phase 'apt suites'
  : "${DEBIAN_MIRROR:?BUILD_FROM needs DEBIAN_MIRROR}"
  mkdir -p "$apt_etc/sources.list.d" "$apt_etc/preferences.d"
  : > "$apt_etc/sources.list.d/pharos-build-from.list"
  : > "$apt_etc/preferences.d/pharos-build-from"
  while IFS="$tab" read -r suite packages; do
    [ -n "$suite" ] || continue
    # A frozen mirror (a snapshot) serves a sid whose Release is past its Valid-Until; the signature is still checked.
    echo "deb [check-valid-until=no] $DEBIAN_MIRROR $suite main" >> "$apt_etc/sources.list.d/pharos-build-from.list"
    # Only the named packages may come from that suite (-1: nothing else, not even a dependency only it carries), so
    # the .debs depend on the build suite's own libc and libraries.
    printf 'Package: %s\nPin: release n=%s\nPin-Priority: 600\n\nPackage: *\nPin: release n=%s\nPin-Priority: -1\n\n' \
      "$packages" "$suite" "$suite" >> "$apt_etc/preferences.d/pharos-build-from"
  done <<BUILD_FROM
$BUILD_FROM
BUILD_FROM
fi

phase toolchain
apt-get update -q
# shellcheck disable=SC2086 # BUILD_PACKAGES is a list of validated package names
apt-get install -y -q --no-install-recommends build-essential devscripts equivs fakeroot ${BUILD_PACKAGES:-}
phase unpack
mkdir -p "$work/src"
tar -C "$work/src" -xf "$SOURCE_TARBALL"
cd "$work"/src/*/
if [ -n "${PACKAGING_TARBALL:-}" ]; then
  # Debian's packaging replaces upstream's; a 3.0 (quilt) format's patches are applied by dpkg-buildpackage itself.
  rm -rf debian
  tar -xf "$PACKAGING_TARBALL"
  if [ ! -f debian/control ]; then
    echo "the packaging tarball $(basename "$PACKAGING_TARBALL") has no debian/control" >&2
    exit 3
  fi
fi
if [ ! -f debian/control ]; then
  echo "the source tarball has no debian/control: $BUILD needs upstream's debian/ directory (or the version's packaging tarball)" >&2
  exit 3
fi
if [ -n "${PATCHES:-}" ]; then
  phase patches
  # The packaging's own patches first (a 3.0 (quilt) series; nothing for other formats), so ours apply to the tree
  # dpkg-buildpackage builds; it then finds the series applied.
  dpkg-source --before-build .
  printf '%s\n' "$PATCHES" | while IFS= read -r p; do
    [ -n "$p" ] || continue
    echo "applying $(basename "$p")"
    patch -p1 --forward --batch < "$p"
  done
fi
phase build-deps
apt-get build-dep -y -q ./
if [ -n "${BUILD_FROM:-}" ]; then
  # What came from the other suites, for debs.json: those suites move, and their versions shaped the build.
  # shellcheck disable=SC2046 # package names have no spaces
  apt-cache policy $(dpkg-query -W -f '${Package}\n') | awk -v suites="$(printf '%s\n' "$BUILD_FROM" | cut -f1 | tr '\n' ' ')" '
    function flush() { if (installed && from != "" && !other) printf "pharos-from:\t%s\t%s\t%s\n", from, pkg, version; installed = 0; from = ""; other = 0 }
    BEGIN { n = split(suites, s, " "); for (i = 1; i <= n; i++) wanted[s[i]] = 1 }
    /^[^ ]/ { flush(); pkg = $1; sub(/:$/, "", pkg); next }
    /^ \*\*\* / { flush(); installed = 1; version = $2; next }
    /^     [^ ]/ { flush(); next }
    installed && NF >= 3 { split($3, r, "/"); if (r[1] in wanted) { if (from == "") from = r[1] } else other = 1 }
    END { flush() }'
fi
if [ "$BUILD" = make-package-deb ]; then
  phase 'make package-deb'
  # PACKAGE_DIR must not exist beforehand (upstream's rule).
  make package-deb PACKAGE_DIR="$work/packages" DEBUILD_OPTS="-j$JOBS" ${MAKE_VERSION:+"$MAKE_VERSION"}
  debs="$work/packages/*.deb"
else
  phase dpkg-buildpackage
  if [ "${UNPRIVILEGED:-no}" = yes ]; then
    id pharos-build >/dev/null 2>&1 || useradd --create-home --shell /bin/sh pharos-build
    # The parent folder too: dpkg-buildpackage writes the .debs beside the tree.
    chown -R pharos-build: "$work/src"
    setpriv --reuid=pharos-build --regid=pharos-build --init-groups env HOME=/home/pharos-build \
      dpkg-buildpackage -us -uc -b -j"$JOBS" -rfakeroot
  else
    dpkg-buildpackage -us -uc -b -j"$JOBS"
  fi
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

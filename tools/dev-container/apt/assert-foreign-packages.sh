#!/bin/sh
# Fail the image build unless the only packages that came from outside the
# base suite are the ones explicitly wanted, and record where they came from.
#
#   assert-foreign-packages.sh BEFORE PKG:SUITE:VERSION_GLOB...
#
# BEFORE is `dpkg-query -W -f '${Package} ${Version}\n'` taken before the
# install.  Every package that is new or changed since then is looked up with
# `apt-cache madison`: if its installed version is offered by the base suite
# it is a base-suite package; otherwise it must be one of the PKG arguments,
# from exactly SUITE, with a version matching VERSION_GLOB (shell pattern).
# Pre-existing packages must not change version at all.
#
# Why: pinning (pharos-foreign-suites.pref) should already guarantee this; the
# check turns a silent drift (e.g. sid's apptainer starting to need a newer
# libc than trixie has) into a build failure instead of a half-sid image.
# Result is written to $PROVENANCE for check-toolchain.sh.
set -eu

PROVENANCE=${PROVENANCE:-/usr/share/pharos-dev-container/foreign-packages}
# shellcheck source=/dev/null
base=$(. /etc/os-release && printf '%s' "$VERSION_CODENAME")
before=$1; shift

fail=0
err() { echo "assert-foreign-packages: $*" >&2; fail=1; }

# Suites (as named in our sources files) offering PKG at exactly VERSION.
suites_of() {
    apt-cache madison "$1" | awk -F'|' -v v="$2" '
        { ver = $2; gsub(/^[ \t]+|[ \t]+$/, "", ver) }
        ver == v { split($3, f, " "); split(f[2], s, "/"); print s[1] }'
}

# Exact package-name match in a "pkg version..." list (names contain + and .).
listed() { awk -v p="$1" '$1 == p { f = 1 } END { exit !f }' "$2"; }

# True if any of the given suites is the base suite or its update/security
# pockets (the official image also lists trixie-updates and trixie-security).
from_base() {
    for s in "$@"; do
        case $s in "$base" | "$base-updates" | "$base-security" | "$base-proposed-updates") return 0 ;; esac
    done
    return 1
}

after=$(mktemp); changed=$(mktemp)
dpkg-query -W -f '${Package} ${Version}\n' | sort > "$after"
# Lines in AFTER but not BEFORE = new packages or changed versions.
sort "$before" | comm -13 - "$after" > "$changed"

mkdir -p "$(dirname "$PROVENANCE")"
: > "$PROVENANCE.tmp"

while read -r pkg ver; do
    if listed "$pkg" "$before"; then
        err "$pkg changed version (now $ver); nothing already installed may move"
        continue
    fi
    suites=$(suites_of "$pkg" "$ver" | tr '\n' ' ')
    # shellcheck disable=SC2086 # word-split the suite list on purpose
    if from_base $suites; then continue; fi
    echo "$pkg $ver ${suites% }" >> "$PROVENANCE.tmp"
done < "$changed"
[ "$fail" = 0 ] || exit 1

# Every foreign package must be wanted, from the wanted suite and version.
while read -r pkg ver suites; do
    ok=no
    for want in "$@"; do
        w_pkg=${want%%:*}; rest=${want#*:}; w_suite=${rest%%:*}; w_ver=${rest#*:}
        [ "$pkg" = "$w_pkg" ] || continue
        # shellcheck disable=SC2254
        case "$ver" in $w_ver) ;; *) err "$pkg $ver does not match wanted version $w_ver"; continue ;; esac
        case " $suites " in *" $w_suite "*) ok=yes ;; *) err "$pkg $ver comes from '$suites', wanted $w_suite" ;; esac
    done
    [ "$ok" = yes ] || err "unexpected package from outside $base: $pkg $ver ($suites)"
done < "$PROVENANCE.tmp"

# ...and every wanted package must actually be installed from there.
for want in "$@"; do
    w_pkg=${want%%:*}
    listed "$w_pkg" "$PROVENANCE.tmp" || err "$w_pkg was not installed from its foreign suite"
done

rm -f "$after" "$changed"
[ "$fail" = 0 ] || { rm -f "$PROVENANCE.tmp"; exit 1; }
mv "$PROVENANCE.tmp" "$PROVENANCE"
echo "assert-foreign-packages: only these packages come from outside $base:"
sed 's/^/  /' "$PROVENANCE"

#!/bin/bash
# Smoke test of the Pharos dev container, run INSIDE the container (as the
# calling user, workspace mounted at the same path) by the project's `test`
# target:
#
#   docker run --rm --init -e PHAROS_UID=$(id -u) -e PHAROS_GID=$(id -g) \
#       -e PHAROS_EXPECT_UID=$(id -u) -e PHAROS_EXPECT_CWD="$PWD" \
#       -v "$PWD:$PWD" -w "$PWD" pharos/dev-container \
#       tools/dev-container/check-toolchain.sh
#
# Prints one "name: version" line per tool, then "toolchain ok".  Every check
# runs even after a failure; failures are listed on stderr and the exit
# status is 1.
#
# Optional environment:
#   PHAROS_EXPECT_UID  `id -u` must equal it and the uid must have a passwd entry
#   PHAROS_EXPECT_CWD  `pwd` must equal it
# (set but empty counts as a failure; unset skips the check)
set -u
export LC_ALL=C CHECKPOINT_DISABLE=1

# Written at image build time by apt/assert-foreign-packages.sh:
#   "<package> <debian version> <suite>" for each package not from trixie.
PROVENANCE=/usr/share/pharos-dev-container/foreign-packages

failures=()
fail() {
    failures+=("$1")
    printf '%s: FAILED (%s)\n' "${1%%:*}" "${1#*: }" >&2
}
ok() { printf '%s: %s\n' "$1" "$2"; }

# First non-empty line of a command's combined output (many tools print their
# version on stderr and/or exit non-zero for --version).
first_line() { "$@" 2>&1 | sed -n '/[^[:space:]]/{p;q}'; }

# check NAME BINARY VERSION-COMMAND...
check() {
    local name=$1 bin=$2
    shift 2
    if ! command -v "$bin" >/dev/null 2>&1; then
        fail "$name: '$bin' not found in PATH"
        return
    fi
    local v
    v=$(first_line "$@")
    if [ -z "$v" ]; then
        fail "$name: '$*' printed no version"
        return
    fi
    ok "$name" "$v"
}

# Version of a package from outside trixie, checked against the build record
# and the dpkg database (guards against it having been replaced since).
foreign_pkg() {
    local pkg=$1 want_suite=$2 line
    line=$(awk -v p="$pkg" '$1 == p' "$PROVENANCE" 2>/dev/null)
    local installed
    installed=$(dpkg-query -W -f '${Version}' "$pkg" 2>/dev/null)
    if [ -z "$line" ]; then
        echo "not recorded in $PROVENANCE"
    elif [ "$(echo "$line" | cut -d' ' -f2)" != "$installed" ]; then
        echo "installed $installed differs from recorded ${line#* }"
    elif ! [[ " $(echo "$line" | cut -d' ' -f3-) " == *" $want_suite "* ]]; then
        echo "from '$(echo "$line" | cut -d' ' -f3-)', want $want_suite"
    else
        echo "OK deb $installed from $want_suite"
    fi
}

# --- pinned foreign packages ---------------------------------------------------
if command -v packer >/dev/null 2>&1; then
    v=$(packer version 2>&1 | sed -n 's/^Packer v\([0-9][0-9.]*\).*/\1/p' | head -n1)
    src=$(foreign_pkg packer bookworm)
    if [ "$v" != 1.6.6 ]; then
        fail "packer: version '${v:-unknown}', want 1.6.6"
    elif [[ $src != OK* ]]; then
        fail "packer: $src"
    else
        ok packer "$v (${src#OK })"
    fi
else
    fail "packer: 'packer' not found in PATH"
fi

if command -v apptainer >/dev/null 2>&1; then
    v=$(apptainer --version 2>&1 | sed -n 's/^apptainer version \([0-9][0-9.]*\).*/\1/p' | head -n1)
    src=$(foreign_pkg apptainer sid)
    if [[ $v != 1.4.* ]]; then
        fail "apptainer: version '${v:-unknown}', want 1.4.x"
    elif [[ $src != OK* ]]; then
        fail "apptainer: $src"
    else
        ok apptainer "$v (${src#OK })"
    fi
else
    fail "apptainer: 'apptainer' not found in PATH"
fi

# --- toolchain -------------------------------------------------------------------
check gcc                gcc                gcc --version
check make               make               make --version
check dpkg-buildpackage  dpkg-buildpackage  dpkg-buildpackage --version
check debuild            debuild            debuild --version
# equivs-build has no --version; report the package version.
# shellcheck disable=SC2016 # ${Version} is a dpkg-query field, not shell
check equivs-build       equivs-build       dpkg-query -W -f 'equivs ${Version}' equivs
check fakeroot           fakeroot           fakeroot --version
check cmake              cmake              cmake --version
check ninja              ninja              ninja --version
check git                git                git --version
check qemu-system-x86_64 qemu-system-x86_64 qemu-system-x86_64 --version
check qemu-img           qemu-img           qemu-img --version
check xorriso            xorriso            xorriso -version
check mksquashfs         mksquashfs         mksquashfs -version
check squashfuse         squashfuse         squashfuse --version
check fusermount3        fusermount3        fusermount3 --version
check ssh                ssh                ssh -V

# lmod: `module` is a shell function, so load lmod's init in a subshell.
lmod_init=
for f in /usr/share/lmod/lmod/init/bash /etc/profile.d/lmod.sh; do
    [ -r "$f" ] && { lmod_init=$f; break; }
done
if [ -z "$lmod_init" ]; then
    fail "lmod: no init script (/usr/share/lmod/lmod/init/bash)"
else
    v=$(bash -c '. "$1" >/dev/null 2>&1; module --version' _ "$lmod_init" 2>&1 \
        | sed -n 's/.*Modules based on Lua: Version \([0-9][^ ]*\).*/Lmod \1/p' | head -n1)
    if [ -n "$v" ]; then ok lmod "$v"; else fail "lmod: 'module --version' gave no version"; fi
fi

# --- identity / workspace ------------------------------------------------------
# Set-but-empty is an error: it means the caller meant to check but lost the
# value on the way (e.g. an unset host variable), and should not pass silently.
if [ -n "${PHAROS_EXPECT_UID+set}" ]; then
    u=$(id -u)
    if [ -z "$PHAROS_EXPECT_UID" ]; then
        fail "uid: PHAROS_EXPECT_UID is set but empty"
    elif [ "$u" != "$PHAROS_EXPECT_UID" ]; then
        fail "uid: running as $u, want $PHAROS_EXPECT_UID"
    elif ! name=$(id -un 2>/dev/null); then
        fail "uid: $u has no passwd entry"
    else
        ok uid "$u ($name, groups: $(id -Gn 2>/dev/null | tr ' ' ','))"
    fi
fi
if [ -n "${PHAROS_EXPECT_CWD+set}" ]; then
    if [ -z "$PHAROS_EXPECT_CWD" ]; then
        fail "cwd: PHAROS_EXPECT_CWD is set but empty"
    elif [ "$PWD" != "$PHAROS_EXPECT_CWD" ]; then
        fail "cwd: $PWD, want $PHAROS_EXPECT_CWD"
    else
        ok cwd "$PWD"
    fi
fi
# Tools (apptainer cache, git config, packer) write to $HOME.
if [ -n "${HOME:-}" ] && [ -d "$HOME" ] && [ -w "$HOME" ]; then
    ok home "$HOME (writable)"
else
    fail "home: HOME='${HOME:-}' is not a writable directory"
fi

if [ "${#failures[@]}" -gt 0 ]; then
    {
        echo "toolchain check FAILED (${#failures[@]}):"
        printf '  %s\n' "${failures[@]}"
    } >&2
    exit 1
fi
echo "toolchain ok"

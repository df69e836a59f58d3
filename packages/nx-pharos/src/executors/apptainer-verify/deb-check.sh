#!/bin/sh
# The apptainer .deb installed with apt in a clean container of the suite, with RUNTIME_PACKAGES (what exec needs
# without setuid) and busybox-static for a one-program image. Then, as an unprivileged user as on a compute node: the
# version, a SIF built from a directory, and a command run in it (needs /dev/fuse and an unconfined seccomp profile).
#   deb-check.sh DEB_FILE…      (install-debs.sh beside it)
#   EXPECTED_VERSION  the upstream version `apptainer --version` must report
#   USER_HOME, BUSYBOX  default /home/pharos-user, /bin/busybox
set -eu
here=$(dirname "$0")
EXTRA_PACKAGES="${RUNTIME_PACKAGES:-} busybox-static" sh "$here/install-debs.sh" "$@"
echo "pharos-check: ok   installed $* with apt in a clean container, with ${RUNTIME_PACKAGES:-no other package}"

bin=$(readlink -f "$(command -v apptainer || echo /usr/bin/apptainer)")
owner=$(dpkg -S "$bin" 2>/dev/null | cut -d: -f1) || owner=''
if [ "$owner" != apptainer ]; then
  echo "pharos-check: FAIL $bin comes from ${owner:-no package}, not from the package under test"
  exit 1
fi

# Docker passes the host's node (root-only); udev makes it 0666 on a real system, as the dev container's entrypoint does.
if [ -c /dev/fuse ]; then chmod 0666 /dev/fuse; fi
id pharos-user >/dev/null 2>&1 || useradd --create-home --shell /bin/sh pharos-user
home=${USER_HOME:-/home/pharos-user}
as_user() { setpriv --reuid=pharos-user --regid=pharos-user --init-groups env HOME="$home" "$@"; }

version=$(as_user apptainer --version)
case $version in
  "apptainer version $EXPECTED_VERSION"*) echo "pharos-check: ok   $version, from the package under test" ;;
  *) echo "pharos-check: FAIL apptainer --version says \"$version\", not version $EXPECTED_VERSION"; exit 1 ;;
esac

# A root file system of one static program: no registry, no network, and a build from a directory is the unprivileged
# path (it copies the tree with tar) that a broken Go library breaks first.
rootfs=$home/rootfs
as_user mkdir -p "$rootfs/bin"
as_user cp "${BUSYBOX:-/bin/busybox}" "$rootfs/bin/busybox"
as_user ln -s busybox "$rootfs/bin/sh"
if ! as_user apptainer build "$home/tiny.sif" "$rootfs" > /tmp/build.log 2>&1; then
  tail -n 20 /tmp/build.log
  echo "pharos-check: FAIL apptainer build of a SIF from a directory, as an unprivileged user"
  exit 1
fi
echo "pharos-check: ok   built a SIF from a directory as an unprivileged user"

if ! out=$(as_user apptainer exec "$home/tiny.sif" /bin/busybox echo pharos-in-sif 2>/tmp/exec.log); then
  tail -n 20 /tmp/exec.log
  echo "pharos-check: FAIL apptainer exec of the SIF as an unprivileged user"
  exit 1
fi
if [ "$out" != pharos-in-sif ]; then
  echo "pharos-check: FAIL apptainer exec printed \"$out\", not pharos-in-sif"
  exit 1
fi
echo "pharos-check: ok   apptainer exec ran a command in the SIF as an unprivileged user"

#!/bin/sh
# Builds one tarball component (Open MPI beside Slurm) into the same view as the main package, after its install:
# the component's source unpacked, configured for the same prefix, and installed into the same DESTDIR, so relocate.sh
# treats its files like the main package's.
#   component-build.sh PREFIX DESTDIR NAME SOURCE_TARBALL [CONFIGURE_FLAG…]
# Environment: JOBS, WORK_DIR (default /build).
# `{multiarch}` in a flag becomes the compiler's multiarch triplet (x86_64-linux-gnu): Debian keeps some libraries'
# headers under /usr/lib/<triplet>/ (bookworm's PMIx, in pmix2/), and a recipe must not name one machine's.
set -eu
prefix=$1
destdir=$2
name=$3
tarball=$4
shift 4
multiarch=$(gcc -print-multiarch)
n=$#
for a in "$@"; do
  case $a in *'{multiarch}'*) a=$(printf '%s\n' "$a" | sed "s|{multiarch}|$multiarch|g") ;; esac
  set -- "$@" "$a"
done
shift "$n"
dir=${WORK_DIR:-/build}/components/$name
echo "pharos-phase: $name: unpack"
mkdir -p "$dir"
tar -C "$dir" -xf "$tarball"
cd "$dir"/*/
echo "pharos-phase: $name: configure"
./configure --prefix="$prefix" "$@"
echo "pharos-phase: $name: make"
make -j"$JOBS"
echo "pharos-phase: $name: install"
make install DESTDIR="$destdir"

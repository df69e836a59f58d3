#!/bin/sh
# The Slurm .debs installed with apt in a clean container of the suite, then the one-node cluster check.
#   deb-check.sh DEB_FILE…      (install-debs.sh and cluster-check.sh beside it)
set -eu
here=$(dirname "$0")
sh "$here/install-debs.sh" "$@"
echo "pharos-check: ok   installed $# packages with apt in a clean container"
sh "$here/cluster-check.sh" deb

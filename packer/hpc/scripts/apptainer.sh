#!/bin/sh
# A compute node runs the site's containers: Apptainer (the .deb this workspace builds for bookworm, installed by
# install-debs.sh) in its unprivileged mode, which mounts a SIF with squashfuse from the archive; without it each exec
# would extract the whole image to a temporary folder first. Users need user namespaces, which bookworm's kernel allows.
# PHAROS_ROOT (default: the image itself) is where the file tree is; the unit spec runs the script on a folder.
set -eu
root=${PHAROS_ROOT:-}
export DEBIAN_FRONTEND=noninteractive
command -v apptainer >/dev/null || { echo "apptainer: the apptainer .deb is not installed (install-debs.sh runs first)" >&2; exit 2; }
apt-get update -q
apt-get install -y -q --no-install-recommends squashfuse fuse3
apt-get clean
rm -rf "$root"/var/lib/apt/lists/*
echo "apptainer: $(apptainer --version), squashfuse $(dpkg-query -W -f='${Version}' squashfuse)"

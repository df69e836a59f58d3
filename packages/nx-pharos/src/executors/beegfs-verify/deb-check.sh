#!/bin/sh
# The BeeGFS .debs, DKMS and the suite's kernel headers installed with apt in a clean container of the suite; every
# daemon and tool must come from the packages under test; then the services check.
#   deb-check.sh DEB_FILE…      (install-debs.sh and services-check.sh beside it)
set -eu
here=$(dirname "$0")
EXTRA_PACKAGES='dkms linux-headers-amd64' sh "$here/install-debs.sh" "$@"
echo "pharos-check: ok   installed $# BeeGFS packages, dkms and the suite's kernel headers with apt in a clean container"
for tool in /opt/beegfs/sbin/beegfs-mgmtd /opt/beegfs/sbin/beegfs-meta /opt/beegfs/sbin/beegfs-storage "$(command -v beegfs-ctl)" "$(command -v beegfs-check-servers)"; do
  owner=$(dpkg -S "$(readlink -f "$tool")" 2>/dev/null | cut -d: -f1) || { echo "pharos-check: FAIL $tool belongs to no package"; exit 1; }
  case $owner in beegfs-*) ;; *) echo "pharos-check: FAIL $tool comes from $owner, not from the packages under test"; exit 1 ;; esac
done
echo "pharos-check: ok   every BeeGFS daemon and tool comes from the packages under test"
sh "$here/services-check.sh"

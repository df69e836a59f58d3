#!/bin/sh
# A compute node is a BeeGFS client: the DKMS module built now, for the image's own kernel (its headers come from
# the archive), and the client config pointing at the controller.
set -eu
upload=${PHAROS_UPLOAD:?the Packer template sets PHAROS_UPLOAD}
controller=$(sed -n 's/^SlurmctldHost=//p' "$upload/slurm.conf")
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends dkms "linux-headers-$(uname -r)"
src=$(ls -d /usr/src/beegfs-*/ | head -n 1)
version=${src#/usr/src/beegfs-}; version=${version%/}
dkms status -m beegfs -v "$version" -k "$(uname -r)" | grep -qE 'built|installed' || dkms install -m beegfs -v "$version" -k "$(uname -r)"
sed -i -e "s|^\(sysMgmtdHost[[:space:]]*=\).*|\1 $controller|" -e 's|^\(connAuthFile[[:space:]]*=\).*|\1 /etc/beegfs/connauthfile|' /etc/beegfs/beegfs-client.conf
apt-get clean
rm -rf /var/lib/apt/lists/*
echo "beegfs-client: beegfs $version built by DKMS for $(uname -r); management host $controller"

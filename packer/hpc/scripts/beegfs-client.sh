#!/bin/sh
# A compute node is a BeeGFS client: the DKMS module built now, for the image's own kernel (its headers come from
# the archive), and the client config pointing at the controller; beegfs-ctl reads the same config.
# PHAROS_ROOT (default: the image itself) is where the file tree is; the unit spec runs the script on a folder.
set -eu
root=${PHAROS_ROOT:-}
upload=${PHAROS_UPLOAD:?the Packer template sets PHAROS_UPLOAD}
controller=$(sed -n 's/^SlurmctldHost=//p' "$upload/slurm.conf")
conf=$root/etc/beegfs/beegfs-client.conf
[ -f "$conf" ] || { echo "beegfs-client: beegfs-client-dkms installed no /etc/beegfs/beegfs-client.conf" >&2; exit 2; }

# Sets `key = value` in a BeeGFS config file, adding the key when the file lacks it: a bare sed would skip it silently.
set_conf() {
  if grep -q "^$2[[:space:]]*=" "$1"; then sed -i "s|^\($2[[:space:]]*=\).*|\1 $3|" "$1"; else echo "$2 = $3" >>"$1"; fi
}

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends dkms "linux-headers-$(uname -r)"
src=$(ls -d "$root"/usr/src/beegfs-*/ | head -n 1)
version=${src#"$root"/usr/src/beegfs-}; version=${version%/}
dkms status -m beegfs -v "$version" -k "$(uname -r)" | grep -qE 'built|installed' || dkms install -m beegfs -v "$version" -k "$(uname -r)"
set_conf "$conf" sysMgmtdHost "$controller"
set_conf "$conf" connAuthFile /etc/beegfs/connauthfile
apt-get clean
rm -rf "$root"/var/lib/apt/lists/*
echo "beegfs-client: beegfs $version built by DKMS for $(uname -r); management host $controller"

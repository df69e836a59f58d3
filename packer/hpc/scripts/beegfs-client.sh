#!/bin/sh
# A compute node is a BeeGFS client: the DKMS module built now, for the image's own kernel (its headers come from
# the archive), and the client config pointing at the controller; beegfs-ctl reads the same config. BeeGFS is mounted
# on /mnt/beegfs on first access (an automount): the compute node may boot before the controller's mgmtd answers, and
# a plain mount unit would fail once at boot and never retry. The 7.4 client module resolves host names and logs
# through beegfs-helperd (its mount check fails without it), so helperd runs too. Like the servers, neither starts
# before the cluster's connAuthFile exists (written at deployment).
# PHAROS_ROOT (default: the image itself) is where the file tree is; the unit spec runs the script on a folder.
set -eu
root=${PHAROS_ROOT:-}
upload=${PHAROS_UPLOAD:?the Packer template sets PHAROS_UPLOAD}
controller=$(sed -n 's/^SlurmctldHost=//p' "$upload/slurm.conf")
auth=/etc/beegfs/connauthfile
mnt=/mnt/beegfs
conf=$root/etc/beegfs/beegfs-client.conf
helperd=$root/etc/beegfs/beegfs-helperd.conf
[ -f "$conf" ] || { echo "beegfs-client: beegfs-client-dkms installed no /etc/beegfs/beegfs-client.conf" >&2; exit 2; }
[ -f "$helperd" ] || { echo "beegfs-client: beegfs-helperd is not installed (no /etc/beegfs/beegfs-helperd.conf); the 7.4 client cannot mount without it" >&2; exit 2; }

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
set_conf "$conf" connAuthFile $auth
set_conf "$helperd" connAuthFile $auth
units=$root/etc/systemd/system
mkdir -p "$units/beegfs-helperd.service.d" "$root$mnt"
printf '[Unit]\nConditionPathExists=%s\n' $auth >"$units/beegfs-helperd.service.d/pharos-auth.conf"
cat >"$units/mnt-beegfs.mount" <<EOF
[Unit]
Description=BeeGFS on $mnt (management host $controller)
Requires=beegfs-helperd.service
After=beegfs-helperd.service network-online.target
Wants=network-online.target
ConditionPathExists=$auth

[Mount]
What=beegfs_nodev
Where=$mnt
Type=beegfs
Options=cfgFile=/etc/beegfs/beegfs-client.conf,_netdev
EOF
cat >"$units/mnt-beegfs.automount" <<EOF
[Unit]
Description=BeeGFS on $mnt, mounted on first access
ConditionPathExists=$auth

[Automount]
Where=$mnt

[Install]
WantedBy=remote-fs.target
EOF
systemctl enable beegfs-helperd mnt-beegfs.automount
apt-get clean
rm -rf "$root"/var/lib/apt/lists/*
echo "beegfs-client: beegfs $version built by DKMS for $(uname -r); management host $controller; mounted on $mnt on first access"

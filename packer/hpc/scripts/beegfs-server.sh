#!/bin/sh
# The controller is BeeGFS's server: mgmtd, meta and storage on directories, set up with upstream's beegfs-setup-*
# scripts for this host. The services start once the cluster's connAuthFile exists (written at deployment).
# PHAROS_ROOT (default: the image itself) is where the file tree is; the unit spec runs the script on a folder.
set -eu
root=${PHAROS_ROOT:-}
auth=/etc/beegfs/connauthfile
host=$(cat "$root/etc/hostname")

# Sets `key = value` in a BeeGFS config file, adding the key when the file lacks it: a bare sed would skip it silently.
set_conf() {
  if grep -q "^$2[[:space:]]*=" "$1"; then sed -i "s|^\($2[[:space:]]*=\).*|\1 $3|" "$1"; else echo "$2 = $3" >>"$1"; fi
}

for s in mgmtd meta storage; do [ -x "$root/opt/beegfs/sbin/beegfs-$s" ] || { echo "beegfs-server: beegfs-$s is not installed" >&2; exit 2; }; done
"$root/opt/beegfs/sbin/beegfs-setup-mgmtd" -p /srv/beegfs/mgmtd
"$root/opt/beegfs/sbin/beegfs-setup-meta" -p /srv/beegfs/meta -s 2 -m "$host"
"$root/opt/beegfs/sbin/beegfs-setup-storage" -p /srv/beegfs/storage -s 3 -i 301 -m "$host"
for s in mgmtd meta storage; do
  set_conf "$root/etc/beegfs/beegfs-$s.conf" connAuthFile $auth
  mkdir -p "$root/etc/systemd/system/beegfs-$s.service.d"
  printf '[Unit]\nConditionPathExists=%s\n' $auth >"$root/etc/systemd/system/beegfs-$s.service.d/pharos-auth.conf"
  systemctl enable beegfs-$s
done
echo "beegfs-server: mgmtd, meta and storage set up on /srv/beegfs for management host $host"

# beegfs-ctl and beegfs-check-servers read /etc/beegfs/beegfs-client.conf unless given --cfgFile=, and only the client
# packages ship that file: without it 7.4 refuses them ("No connAuthFile configured"). A server needs its tools.
tools=$root/etc/beegfs/beegfs-client.conf
[ -f "$tools" ] || echo '# For the BeeGFS tools (beegfs-ctl, beegfs-check-servers) on this server; the client packages ship the full file.' >"$tools"
set_conf "$tools" sysMgmtdHost "$host"
set_conf "$tools" connAuthFile $auth
echo "beegfs-server: beegfs-ctl reads /etc/beegfs/beegfs-client.conf (management host $host, the cluster's connAuthFile)"

#!/bin/sh
# The controller is BeeGFS's server: mgmtd, meta and storage on directories, set up with upstream's beegfs-setup-*
# scripts for this host. The services start once the cluster's connAuthFile exists (written at deployment).
set -eu
host=$(cat /etc/hostname)
for s in mgmtd meta storage; do [ -x /opt/beegfs/sbin/beegfs-$s ] || { echo "beegfs-server: beegfs-$s is not installed" >&2; exit 2; }; done
/opt/beegfs/sbin/beegfs-setup-mgmtd -p /srv/beegfs/mgmtd
/opt/beegfs/sbin/beegfs-setup-meta -p /srv/beegfs/meta -s 2 -m "$host"
/opt/beegfs/sbin/beegfs-setup-storage -p /srv/beegfs/storage -s 3 -i 301 -m "$host"
for s in mgmtd meta storage; do
  sed -i 's|^\(connAuthFile[[:space:]]*=\).*|\1 /etc/beegfs/connauthfile|' /etc/beegfs/beegfs-$s.conf
  mkdir -p /etc/systemd/system/beegfs-$s.service.d
  printf '[Unit]\nConditionPathExists=/etc/beegfs/connauthfile\n' >/etc/systemd/system/beegfs-$s.service.d/pharos-auth.conf
  systemctl enable beegfs-$s
done
echo "beegfs-server: mgmtd, meta and storage set up on /srv/beegfs for management host $host"

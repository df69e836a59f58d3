#!/bin/sh
# Slurm's layout on every node: the slurm user, slurm.conf rendered for the cluster, spool and log directories. The
# auth/slurm key is not baked into the image; the cluster's deployment writes /etc/slurm/slurm.key (cloud-init).
set -eu
upload=${PHAROS_UPLOAD:?the Packer template sets PHAROS_UPLOAD}
id slurm >/dev/null 2>&1 || useradd --system --home-dir /var/lib/slurm --create-home --shell /usr/sbin/nologin slurm
install -d -m 0755 /etc/slurm
install -m 0644 "$upload/slurm.conf" /etc/slurm/slurm.conf
install -d -o slurm -g slurm -m 0755 /var/log/slurm /var/spool/slurmctld
install -d -m 0755 /var/spool/slurmd
echo "slurm-common: /etc/slurm/slurm.conf for controller $(sed -n 's/^SlurmctldHost=//p' /etc/slurm/slurm.conf)"

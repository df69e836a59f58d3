#!/bin/sh
# The controller runs slurmctld; it starts once the cluster's key exists.
set -eu
command -v slurmctld >/dev/null || { echo "slurm-controller: slurmctld is not installed (package slurm-smd-slurmctld)" >&2; exit 2; }
mkdir -p /etc/systemd/system/slurmctld.service.d
printf '[Unit]\nConditionPathExists=/etc/slurm/slurm.key\n' >/etc/systemd/system/slurmctld.service.d/pharos-key.conf
systemctl enable slurmctld
echo "slurm-controller: slurmctld enabled (waits for /etc/slurm/slurm.key)"

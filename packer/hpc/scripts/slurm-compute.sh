#!/bin/sh
# A compute node runs slurmd; it starts once the cluster's key exists.
set -eu
command -v slurmd >/dev/null || { echo "slurm-compute: slurmd is not installed (package slurm-smd-slurmd)" >&2; exit 2; }
mkdir -p /etc/systemd/system/slurmd.service.d
printf '[Unit]\nConditionPathExists=/etc/slurm/slurm.key\n' >/etc/systemd/system/slurmd.service.d/pharos-key.conf
systemctl enable slurmd
echo "slurm-compute: slurmd enabled (waits for /etc/slurm/slurm.key)"

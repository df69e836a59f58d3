#!/bin/sh
# One check of a booted verify cluster, run in a guest over SSH: `cluster-checks.sh <check> [value]`. It prints what
# the guest reports and exits with the command's status; the executor judges the output, and retries while the
# daemons come up.
set -u
check=${1:-}
case $check in
  unit-active) systemctl is-active "$2" ;;
  node-states) sinfo -h -N -o '%N %T' ;;
  srun-hostname) timeout 120 srun -N1 hostname ;;
  submit-job) sbatch --parsable -o /dev/null --wrap 'hostname; sleep 1' ;;
  job-state) scontrol show job "$2" | grep -o 'JobState=[A-Z_]*' ;;
  # Bare, as an admin types it: it must find its config (/etc/beegfs/beegfs-client.conf) with the connAuthFile.
  beegfs-storage-nodes) sudo beegfs-ctl --listnodes --nodetype=storage ;;
  beegfs-servers) sudo beegfs-check-servers -e ;;
  # Touching the mount point mounts BeeGFS (an automount); a failed mount fails this, and the next touch tries again.
  # Under an automount the point holds two mounts, autofs's trigger and BeeGFS over it: the last is what a path reaches.
  beegfs-mounted) ls "$2" >/dev/null && findmnt -n -o FSTYPE "$2" | tail -n 1 ;;
  # A folder every job can write to, as a site makes one for its users.
  beegfs-shared-dir) sudo install -d -m 1777 "$2" && stat -c '%a %F' "$2" ;;
  # A batch job on that node writes the file: the data goes through the node's client to the controller's storage.
  beegfs-write-job) sbatch --parsable -w "$2" -o /dev/null --wrap "printf %s '$4' >'$3'" ;;
  # The controller's view of the file by its path inside BeeGFS, without a client mount of its own.
  beegfs-entry) sudo beegfs-ctl --getentryinfo --unmounted "$2" ;;
  # The bytes on the controller's storage target: a small file is one chunk file holding exactly its content.
  beegfs-chunk-content) sudo grep -rlx -- "$3" "$2" | head -n 1 | sudo xargs -r cat ;;
  # A file sent to the node's BeeGFS, checked by its digest and renamed into the root-owned deploy folder.
  install-sif) echo "$4  $2" | sha256sum -c --quiet && sudo install -d -m 755 "$(dirname "$3")" && sudo mv "$2" "$3" && sudo chmod 644 "$3" && echo "installed $3" ;;
  # A container check as a user runs it: a Slurm job on the node, Apptainer reading the SIF from BeeGFS.
  srun-sif) timeout 900 srun -w "$2" -N1 -n1 apptainer exec "$3" /bin/sh -c "$4" ;;
  *) echo "cluster-checks.sh: unknown check '$check'" >&2; exit 64 ;;
esac

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
  *) echo "cluster-checks.sh: unknown check '$check'" >&2; exit 64 ;;
esac

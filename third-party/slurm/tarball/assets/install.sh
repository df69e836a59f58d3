#!/bin/sh
# Installs the site side of a relocated Slurm view: the slurm user, its directories, the auth/slurm key, slurm.conf
# rendered for this prefix, and systemd units. Idempotent; never overwrites an existing key or slurm.conf.
#   install.sh [--prefix DIR] [--conf-dir DIR] [--cluster NAME] [--controller HOST] [--nodes SPEC] [--gpu|--no-gpu] [--no-systemd]
# A tarball built with the gpu variant configures GPUs (GresTypes=gpu, gres.conf AutoDetect=nvml) unless --no-gpu.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
VARIANTS=
[ ! -f "$here/build.env" ] || . "$here/build.env"
prefix=${SLURM_INSTALL_PREFIX:-/opt/slurm/view}
conf_dir=/etc/slurm
cluster=cluster
controller=$(hostname -s)
nodes="$(hostname -s) CPUs=$(nproc)"
case " $VARIANTS " in *" gpu "*) gpu=yes ;; *) gpu=no ;; esac
systemd=yes
while [ $# -gt 0 ]; do
    case $1 in
        --prefix) prefix=$2; shift 2 ;;
        --conf-dir) conf_dir=$2; shift 2 ;;
        --cluster) cluster=$2; shift 2 ;;
        --controller) controller=$2; shift 2 ;;
        --nodes) nodes=$2; shift 2 ;;
        --gpu) gpu=yes; shift ;;
        --no-gpu) gpu=no; shift ;;
        --no-systemd) systemd=no; shift ;;
        *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[ -x "$prefix/sbin/slurmctld" ] || { echo "install.sh: no Slurm at $prefix (sbin/slurmctld missing); pass --prefix" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root" >&2; exit 1; }

getent group slurm >/dev/null || groupadd --system slurm
getent passwd slurm >/dev/null || useradd --system --gid slurm --home-dir /var/lib/slurm --shell /usr/sbin/nologin slurm
install -d -o slurm -g slurm -m 0755 /var/spool/slurm /var/spool/slurm/ctld /var/log/slurm /run/slurmctld
# slurmd (root) refuses a /run/slurm that another user owns.
install -d -m 0755 /var/spool/slurm/d /run/slurm "$conf_dir"
if [ ! -f "$conf_dir/slurm.key" ]; then
    (umask 077 && dd if=/dev/urandom of="$conf_dir/slurm.key" bs=1024 count=1 2>/dev/null)
    chown slurm:slurm "$conf_dir/slurm.key"
fi
gres=
[ "$gpu" = no ] || gres='GresTypes=gpu'
if [ ! -f "$conf_dir/slurm.conf" ]; then
    sed -e "s|@PREFIX@|$prefix|g" -e "s|@CLUSTER@|$cluster|g" -e "s|@CONTROLLER@|$controller|g" \
        -e "s|@NODES@|$nodes|g" -e "s|@GRES@|$gres|g" "$here/slurm.conf.in" > "$conf_dir/slurm.conf"
    if [ "$gpu" = yes ]; then
        sed -i "s|^NodeName=\(.*\) State=|NodeName=\1 Gres=gpu State=|" "$conf_dir/slurm.conf"
        echo 'AutoDetect=nvml' > "$conf_dir/gres.conf"
    fi
fi
if [ "$systemd" = yes ] && [ -d /etc/systemd/system ]; then
    for unit in slurmctld slurmd; do
        sed -e "s|@PREFIX@|$prefix|g" -e "s|@CONF_DIR@|$conf_dir|g" "$here/$unit.service.in" > "/etc/systemd/system/$unit.service"
    done
    systemctl daemon-reload 2>/dev/null || true
fi
echo "install.sh: Slurm at $prefix configured in $conf_dir"

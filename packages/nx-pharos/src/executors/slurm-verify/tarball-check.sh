#!/bin/sh
# The relocated tarball as a site would use it, in a clean container of the suite with the product in /tarball:
# its signature checked first (when it has one), unpacked under another prefix, `module load slurm` with
# SLURM_INSTALL_PREFIX pointing there (a wrong prefix must fail with the module's own message), the cluster check,
# then install.sh rendering a site's slurm.conf.
#   tarball-check.sh FILE [SIGNATURE PUBLIC_KEY FINGERPRINT]     (gpg-verify.sh and cluster-check.sh beside it)
# VARIANTS (space-separated) says what was built; RELOCATED_ROOT is where it is unpacked (default /srv/relocated/slurm).
# No `set -u`: Lmod's shell init reads variables a container does not set (LOGNAME, …).
set -e
here=$(dirname "$0")
file=$1
root=${RELOCATED_ROOT:-/srv/relocated/slurm}
view=$root/view
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends lmod >/tmp/apt.log 2>&1 || { tail -n 20 /tmp/apt.log >&2; exit 2; }
if [ $# -ge 4 ]; then
  if ! sh "$here/gpg-verify.sh" "/tarball/$3" "/tarball/$2" "/tarball/$file"; then
    echo "pharos-check: FAIL $2 does not verify against $3 (gpgv's output is above)"; exit 1
  fi
  echo "pharos-check: ok   $2 is a good signature by $4"
fi
mkdir -p "$root"
tar -C "$root" -xzf "/tarball/$file"
echo "pharos-check: ok   unpacked $file under $root, not /opt/slurm"
case " ${VARIANTS:-} " in *" gpu "*)
  [ -f "$view/lib/slurm/gpu_nvml.so" ] || { echo "pharos-check: FAIL the gpu variant has no lib/slurm/gpu_nvml.so"; exit 1; }
  ! ls "$view/lib" | grep -q '^libnvidia-' || { echo "pharos-check: FAIL the tree bundles a GPU driver library"; exit 1; }
  echo "pharos-check: ok   the gpu variant has the NVML plugin and bundles no driver library" ;;
esac
. /usr/share/lmod/lmod/init/profile
module use "$root/modules"
if SLURM_INSTALL_PREFIX=/nonexistent module load slurm 2>/tmp/wrong-prefix; then
  echo "pharos-check: FAIL module load slurm accepted a prefix with no Slurm in it"; exit 1
fi
grep -q 'no Slurm' /tmp/wrong-prefix || { echo "pharos-check: FAIL a wrong prefix gave: $(cat /tmp/wrong-prefix)"; exit 1; }
echo "pharos-check: ok   module load slurm refuses a wrong SLURM_INSTALL_PREFIX with its own message"
export SLURM_INSTALL_PREFIX="$view"
module load slurm
[ "$SLURM_ROOT" = "$view" ] || { echo "pharos-check: FAIL SLURM_ROOT is '$SLURM_ROOT'"; exit 1; }
echo "pharos-check: ok   module load slurm: sinfo is $(command -v sinfo), SLURM_CONF=$SLURM_CONF"
PHAROS_SLURM_CONF_EXTRA="PluginDir=$view/lib/slurm" PHAROS_SLURMD_ARGS="-d $view/sbin/slurmstepd" sh "$here/cluster-check.sh" "prefix:$view"
# After the cluster (whose daemons run as root): the site layout it makes is for daemons running as slurm.
sh "$root/data/slurm_assets/install.sh" --prefix "$view" --conf-dir /srv/site-slurm --no-systemd >/dev/null
grep -qx "PluginDir=$view/lib/slurm" /srv/site-slurm/slurm.conf || { echo "pharos-check: FAIL install.sh rendered no PluginDir for $view"; exit 1; }
[ -s /srv/site-slurm/slurm.key ] && id slurm >/dev/null || { echo "pharos-check: FAIL install.sh made no key or no slurm user"; exit 1; }
echo "pharos-check: ok   install.sh created the slurm user, directories, key and a slurm.conf for the prefix"

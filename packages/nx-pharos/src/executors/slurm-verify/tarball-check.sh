#!/bin/sh
# The relocated tarball as a site would use it, in a clean container of the suite with the product in /tarball:
# its signature checked first (when it has one), unpacked under another prefix, `module load slurm` with
# SLURM_INSTALL_PREFIX pointing there (a wrong prefix must fail with the module's own message), the cluster check,
# then install.sh rendering a site's slurm.conf. With Open MPI in it, a program compiled with the tarball's mpicc runs
# as two ranks under the cluster's `srun --mpi=pmix`; without it (minimal), Open MPI must be absent.
#   tarball-check.sh FILE [SIGNATURE PUBLIC_KEY FINGERPRINT]  (gpg-verify.sh, cluster-check.sh, mpi-ring.c beside it)
# VARIANTS (space-separated) says what was built, COMPONENTS what is in it beside Slurm (name/version, space-separated),
# MODULE_LAYOUT its modules' layout (flat or hierarchy); RELOCATED_ROOT is where it is unpacked (default
# /srv/relocated/slurm).
# No `set -u`: Lmod's shell init reads variables a container does not set (LOGNAME, …).
set -e
here=$(dirname "$0")
file=$1
root=${RELOCATED_ROOT:-/srv/relocated/slurm}
view=$root/view
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086 # COMPONENTS is a list of name/version words
openmpi=$(printf '%s\n' ${COMPONENTS:-} | sed -n 's|^openmpi/||p')
# A compiler for mpicc (the tarball carries none: its modules name the suite's gcc).
apt-get install -y -q --no-install-recommends lmod ${openmpi:+gcc libc6-dev} >/tmp/apt.log 2>&1 || { tail -n 20 /tmp/apt.log >&2; exit 2; }
if [ $# -ge 4 ]; then
  if ! sh "$here/gpg-verify.sh" "/tarball/$3" "/tarball/$2" "/tarball/$file"; then
    echo "pharos-check: FAIL $2 does not verify against $3 (gpgv's output is above)"; exit 1
  fi
  echo "pharos-check: ok   $2 is a good signature by $4"
fi
mkdir -p "$root"
tar -C "$root" -xzf "/tarball/$file"
echo "pharos-check: ok   unpacked $file under $root, not /opt/slurm"
if [ -z "$openmpi" ]; then
  for f in bin/mpicc bin/mpirun share/openmpi; do
    [ ! -e "$view/$f" ] || { echo "pharos-check: FAIL $f is in a tarball built without Open MPI"; exit 1; }
  done
  ! ls "$view/lib" | grep -q '^libmpi\.' || { echo "pharos-check: FAIL lib/libmpi is in a tarball built without Open MPI"; exit 1; }
  echo "pharos-check: ok   no Open MPI in the view (no mpicc, mpirun or libmpi), as built"
fi
case " ${VARIANTS:-} " in *" gpu "*)
  [ -f "$view/lib/slurm/gpu_nvml.so" ] || { echo "pharos-check: FAIL the gpu variant has no lib/slurm/gpu_nvml.so"; exit 1; }
  ! ls "$view/lib" | grep -q '^libnvidia-' || { echo "pharos-check: FAIL the tree bundles a GPU driver library"; exit 1; }
  echo "pharos-check: ok   the gpu variant has the NVML plugin and bundles no driver library" ;;
esac
. /usr/share/lmod/lmod/init/profile
if [ "${MODULE_LAYOUT:-flat}" = hierarchy ]; then
  module use "$root/modules/Core"
else
  module use "$root/modules"
fi
if SLURM_INSTALL_PREFIX=/nonexistent module load slurm 2>/tmp/wrong-prefix; then
  echo "pharos-check: FAIL module load slurm accepted a prefix with no Slurm in it"; exit 1
fi
grep -q 'no Slurm' /tmp/wrong-prefix || { echo "pharos-check: FAIL a wrong prefix gave: $(cat /tmp/wrong-prefix)"; exit 1; }
echo "pharos-check: ok   module load slurm refuses a wrong SLURM_INSTALL_PREFIX with its own message"
export SLURM_INSTALL_PREFIX="$view"
module load slurm
[ "$SLURM_ROOT" = "$view" ] || { echo "pharos-check: FAIL SLURM_ROOT is '$SLURM_ROOT'"; exit 1; }
echo "pharos-check: ok   module load slurm: sinfo is $(command -v sinfo), SLURM_CONF=$SLURM_CONF"
if [ -n "$openmpi" ]; then
  if [ "${MODULE_LAYOUT:-flat}" = hierarchy ]; then
    # Core holds only Slurm and the compiler; Open MPI appears once the compiler's module is loaded.
    ! module -t avail openmpi 2>&1 | grep -q '^openmpi' || { echo "pharos-check: FAIL openmpi is visible in Core, before a compiler is loaded"; exit 1; }
    module load gcc
  fi
  if SLURM_INSTALL_PREFIX=/nonexistent module load openmpi 2>/tmp/wrong-prefix; then
    echo "pharos-check: FAIL module load openmpi accepted a prefix with no Open MPI in it"; exit 1
  fi
  grep -q 'no Open MPI' /tmp/wrong-prefix || { echo "pharos-check: FAIL a wrong prefix gave: $(cat /tmp/wrong-prefix)"; exit 1; }
  module load "openmpi/$openmpi"
  [ "$OPAL_PREFIX" = "$view" ] && [ "$PRTE_PREFIX" = "$view" ] || { echo "pharos-check: FAIL OPAL_PREFIX is '$OPAL_PREFIX', PRTE_PREFIX '$PRTE_PREFIX'"; exit 1; }
  [ "$(command -v mpicc)" = "$view/bin/mpicc" ] || { echo "pharos-check: FAIL mpicc is $(command -v mpicc), not $view/bin/mpicc"; exit 1; }
  if [ "${MODULE_LAYOUT:-flat}" = hierarchy ]; then
    echo "$MODULEPATH" | tr ':' '\n' | grep -q "/modules/MPI/gcc/[^/]*/openmpi/$openmpi\$" || { echo "pharos-check: FAIL openmpi opened no MPI level: MODULEPATH=$MODULEPATH"; exit 1; }
  fi
  echo "pharos-check: ok   module load openmpi/$openmpi (${MODULE_LAYOUT:-flat}): mpicc is $(command -v mpicc), OPAL_PREFIX=$OPAL_PREFIX"
  mkdir -p /srv/mpi
  mpicc -o /srv/mpi/mpi-ring "$here/mpi-ring.c" || { echo "pharos-check: FAIL mpicc could not build mpi-ring.c from the relocated prefix"; exit 1; }
  libmpi=$(ldd /srv/mpi/mpi-ring | sed -n 's/^[[:space:]]*libmpi\.so[^ ]* => \([^ ]*\) .*/\1/p')
  case $(readlink -f "$libmpi") in "$view"/lib/*) ;; *) echo "pharos-check: FAIL mpi-ring loads libmpi from '$libmpi', not $view/lib"; exit 1 ;; esac
  echo "pharos-check: ok   mpicc built mpi-ring, which loads $libmpi"
  export PHAROS_MPI_PROGRAM=/srv/mpi/mpi-ring PHAROS_MPI_LIBRARY="Open MPI v$openmpi"
else
  ! module -t avail openmpi 2>&1 | grep -q '^openmpi' || { echo "pharos-check: FAIL an openmpi module is in a tarball built without Open MPI"; exit 1; }
  echo "pharos-check: ok   no openmpi module, as built"
fi
PHAROS_SLURM_CONF_EXTRA="PluginDir=$view/lib/slurm" PHAROS_SLURMD_ARGS="-d $view/sbin/slurmstepd" sh "$here/cluster-check.sh" "prefix:$view"
# After the cluster (whose daemons run as root): the site layout it makes is for daemons running as slurm.
sh "$root/data/slurm_assets/install.sh" --prefix "$view" --conf-dir /srv/site-slurm --no-systemd >/dev/null
grep -qx "PluginDir=$view/lib/slurm" /srv/site-slurm/slurm.conf || { echo "pharos-check: FAIL install.sh rendered no PluginDir for $view"; exit 1; }
[ -s /srv/site-slurm/slurm.key ] && id slurm >/dev/null || { echo "pharos-check: FAIL install.sh made no key or no slurm user"; exit 1; }
echo "pharos-check: ok   install.sh created the slurm user, directories, key and a slurm.conf for the prefix"

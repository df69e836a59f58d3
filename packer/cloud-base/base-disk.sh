#!/usr/bin/env bash
# base-disk.sh - build the Pharos cloud base disk (qcow2) from the Debian archive alone.
#
#   bash base-disk.sh --suite bookworm --mirror <URL> --out <path/base.qcow2> --work <scratch dir>
#                     [--size 4096M] [--cache <debootstrap .deb cache dir>]
#                     [--security-mirror <URL>|none] [--hostname <name>]
#
# What it does (no loop devices, no grub-install, this script mounts nothing):
#   1. debootstrap --variant=minbase a root tree (cloud kernel, GRUB i386-pc files, systemd, ifupdown,
#      openssh-server, sudo, cloud-init, dbus) into a directory under --work.
#   2. customises the tree: fstab by UUID, hostname, hosts, apt sources, eth0 dhcp, cloud-init
#      (NoCloud/ConfigDrive), no SSH host keys, empty machine-id, a oneshot unit that makes host keys,
#      a static grub.cfg with a serial console. No user and no key are baked in: logins come from
#      the cloud-init seed only.
#   3. assembles a raw disk in a plain file: sfdisk (dos, one bootable partition at sector 2048),
#      mkfs.ext4 -d <tree> at the partition's byte offset, GRUB boot.img + core.img written with dd.
#   4. qemu-img convert -c -O qcow2 to a temporary name next to --out, then renames it into --out.
#
# Environment: PHAROS_APT_CACHE, an HTTP proxy (Pharos' apt cache) that debootstrap alone downloads through. The
# check of the security archive goes direct, so what the image's sources.list says never depends on the proxy.
#
# Note: debootstrap itself mounts /proc and /sys inside the target while it configures packages and
# unmounts them when it exits; the cleanup below unmounts any leftover of those before removing files,
# and removes with --one-file-system.
set -Eeuo pipefail

PROG=base-disk
SUITE=""
MIRROR=""
OUT=""
WORK=""
SIZE="4096M"
CACHE=""
SECURITY_MIRROR=""
HOSTNAME_DEFAULT="pharos-base"
HOST_NAME="$HOSTNAME_DEFAULT"

STEP="arguments"
RUN_DIR=""        # the scratch directory this run creates inside --work
WORK_CREATED=0    # 1 if this run created --work itself
OUT_DIR_CREATED=0 # 1 if this run created the directory of --out
OUT_TMP=""        # temporary output name, renamed into --out at the end
CHILD_PID=""      # long-running child (own process group), killed on a signal
LOG=""            # log file of the chatty tools
DONE=0

usage() {
  cat <<EOF
usage: bash base-disk.sh --suite <suite> --mirror <URL> --out <path/base.qcow2> --work <scratch dir>
                         [--size 4096M] [--cache <dir>] [--security-mirror <URL>|none] [--hostname <name>]
  --suite            Debian suite, e.g. bookworm
  --mirror           Debian archive URL (the one debootstrap and the image's apt use)
  --out              qcow2 to write (written to a temporary name, renamed at the end)
  --work             scratch directory (a subdirectory is made in it and removed at the end)
  --size             virtual disk size, <N>M or <N>G (default 4096M)
  --cache            debootstrap .deb cache directory (kept; makes reruns faster)
  --security-mirror  URL for <suite>-security; default: derived from --mirror (…/debian -> …/debian-security)
                     and checked; 'none' leaves security out
  --hostname         hostname baked into the image (default $HOSTNAME_DEFAULT; the seed usually overrides it)
EOF
}

say() { printf '%s: %s\n' "$PROG" "$*"; }
err() { printf '%s: error: %s\n' "$PROG" "$*" >&2; }
die() { err "$*"; exit 1; }

# --- arguments ---------------------------------------------------------------------------------
need_arg() { [[ $# -ge 2 && -n "$2" ]] || { usage >&2; die "option $1 needs a value"; }; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --suite) need_arg "$@"; SUITE="$2"; shift 2 ;;
    --mirror) need_arg "$@"; MIRROR="${2%/}"; shift 2 ;;
    --out) need_arg "$@"; OUT="$2"; shift 2 ;;
    --work) need_arg "$@"; WORK="$2"; shift 2 ;;
    --size) need_arg "$@"; SIZE="$2"; shift 2 ;;
    --cache) need_arg "$@"; CACHE="$2"; shift 2 ;;
    --security-mirror) need_arg "$@"; SECURITY_MIRROR="${2%/}"; shift 2 ;;
    --hostname) need_arg "$@"; HOST_NAME="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[[ -n "$SUITE" && -n "$MIRROR" && -n "$OUT" && -n "$WORK" ]] || { usage >&2; die "--suite, --mirror, --out and --work are required"; }
[[ "$SUITE" =~ ^[a-z][a-z0-9-]*$ ]] || die "--suite '$SUITE' does not look like a suite name"
[[ "$MIRROR" =~ ^(https?|file)://[^[:space:]]+$ ]] || die "--mirror must be an http(s):// or file:// URL"
[[ "$HOST_NAME" =~ ^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}$ ]] || die "--hostname '$HOST_NAME' is not a valid host name"
[[ "$SIZE" =~ ^([1-9][0-9]{0,6})([MmGg])$ ]] || die "--size must be <N>M or <N>G, got '$SIZE'"
case "${BASH_REMATCH[2]}" in
  [Gg]) SIZE_MIB=$(( BASH_REMATCH[1] * 1024 )) ;;
  *) SIZE_MIB=$(( BASH_REMATCH[1] )) ;;
esac
(( SIZE_MIB >= 1024 )) || die "--size must be at least 1024M (got ${SIZE_MIB}M)"

# --- safety --------------------------------------------------------------------------------------
if [[ "$(id -u)" -ne 0 ]]; then
  die "must run as root (debootstrap and chroot need it). Nothing was changed. Try: sudo bash $0 ..."
fi
for tool in debootstrap sfdisk mkfs.ext4 qemu-img chroot truncate dd setsid findmnt; do
  command -v "$tool" >/dev/null 2>&1 || die "missing host tool: $tool"
done
WORK="$(realpath -m -- "$WORK")"
OUT="$(realpath -m -- "$OUT")"
case "$WORK" in
  /|/bin|/boot|/dev|/etc|/home|/lib|/lib64|/proc|/root|/run|/sbin|/sys|/usr|/var|/tmp)
    die "--work '$WORK' is a system directory; give a dedicated scratch directory" ;;
esac
[[ "$OUT" == *.qcow2 ]] || die "--out must end in .qcow2"
[[ "$OUT" != "$WORK"/* ]] || die "--out must not be inside --work (the work dir is removed at the end)"
if [[ -n "$CACHE" ]]; then CACHE="$(realpath -m -- "$CACHE")"; fi

# --- cleanup ---------------------------------------------------------------------------------------
# Unmount whatever debootstrap may have left mounted under our tree (deepest first). Never mounts.
release_mounts() {
  local dir="$1" m
  [[ -n "$dir" && -d "$dir" ]] || return 0
  findmnt -rn -o TARGET | awk -v p="$dir/" 'index($0, p) == 1' | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || err "could not unmount leftover $m"
  done
}

cleanup() {
  local rc=$?
  trap - EXIT ERR INT TERM HUP PIPE
  set +e
  if [[ -n "$CHILD_PID" ]] && kill -0 "$CHILD_PID" 2>/dev/null; then
    kill -TERM -- "-$CHILD_PID" 2>/dev/null
    wait "$CHILD_PID" 2>/dev/null
  fi
  if [[ "$DONE" -ne 1 && -n "$LOG" && -s "$LOG" ]]; then
    err "last lines of the tool log ($STEP):"
    tail -n 25 "$LOG" | sed 's/^/    /' >&2
  fi
  [[ -n "$OUT_TMP" ]] && rm -f -- "$OUT_TMP"
  if [[ -n "$RUN_DIR" && -d "$RUN_DIR" ]]; then
    release_mounts "$RUN_DIR"
    if findmnt -rn -o TARGET | grep -q -F -- "$RUN_DIR/"; then
      err "something is still mounted under $RUN_DIR; left it in place, remove it by hand"
    else
      rm -rf --one-file-system -- "$RUN_DIR"
    fi
  fi
  if [[ "$WORK_CREATED" -eq 1 ]]; then rmdir -- "$WORK" 2>/dev/null; fi
  if [[ "$DONE" -ne 1 && "$OUT_DIR_CREATED" -eq 1 ]]; then rmdir -- "$OUT_DIR" 2>/dev/null; fi
  if [[ "$DONE" -ne 1 ]]; then
    [[ $rc -eq 0 ]] && rc=1
    err "failed during step '$STEP' (exit $rc); work files removed, no output written"
  fi
  exit "$rc"
}
on_signal() { err "caught signal $1 during step '$STEP'"; exit $((128 + $2)); }
trap cleanup EXIT
trap 'on_signal INT 2' INT
trap 'on_signal TERM 15' TERM
trap 'on_signal HUP 1' HUP
trap 'on_signal PIPE 13' PIPE

# Run a chatty command in its own process group with its output in $LOG, so a signal reaches it
# through the trap above and the terminal only gets the phase lines.
run_logged() {
  printf '\n### %s: %s\n' "$STEP" "$*" >>"$LOG"
  setsid "$@" </dev/null >>"$LOG" 2>&1 &
  CHILD_PID=$!
  local rc=0
  wait "$CHILD_PID" || rc=$?
  CHILD_PID=""
  if [[ $rc -ne 0 ]]; then err "step '$STEP': '$1' exited with $rc"; return "$rc"; fi
}

# --- work dir ----------------------------------------------------------------------------------------
STEP="work dir"
if [[ ! -d "$WORK" ]]; then mkdir -p -- "$WORK"; WORK_CREATED=1; fi
RUN_DIR="$(mktemp -d "$WORK/base-disk.XXXXXX")"
ROOT="$RUN_DIR/rootfs"
RAW="$RUN_DIR/disk.raw"
LOG="$RUN_DIR/tools.log"
: >"$LOG"
OUT_DIR="$(dirname -- "$OUT")"
if [[ ! -d "$OUT_DIR" ]]; then mkdir -p -- "$OUT_DIR"; OUT_DIR_CREATED=1; fi
OUT_TMP="$OUT_DIR/.$(basename -- "$OUT").partial.$$"
FS_MIB=$(( SIZE_MIB - 1 ))          # partition 1 starts at 1 MiB and runs to the end of the disk
UUID="$(cat /proc/sys/kernel/random/uuid)"
say "suite $SUITE, disk ${SIZE_MIB}M, work $RUN_DIR"

# --- 1. root tree ------------------------------------------------------------------------------------
STEP="debootstrap"
say "debootstrap ($SUITE, minbase)"
PACKAGES=(
  systemd-sysv udev kmod dbus
  ifupdown isc-dhcp-client iproute2 netbase
  openssh-server sudo ca-certificates
  linux-image-cloud-amd64 grub-pc-bin
  cloud-init python3-cffi-backend   # debootstrap cannot resolve python3-cffi-backend-api-* (virtual)
  e2fsprogs                         # fsck.ext4 for the root fs
)
PKG_LIST="$(IFS=,; echo "${PACKAGES[*]}")"
DB_ARGS=(--variant=minbase --arch=amd64 "--include=$PKG_LIST")
if [[ -n "$CACHE" ]]; then mkdir -p -- "$CACHE"; DB_ARGS+=("--cache-dir=$CACHE"); fi
DB_ENV=()
if [[ -n "${PHAROS_APT_CACHE:-}" ]]; then DB_ENV=("http_proxy=$PHAROS_APT_CACHE"); fi
run_logged env "${DB_ENV[@]}" debootstrap "${DB_ARGS[@]}" "$SUITE" "$ROOT" "$MIRROR"

# --- 2. customise ------------------------------------------------------------------------------------
STEP="customise"
say "customise tree"
[[ -e "$ROOT/vmlinuz" && -e "$ROOT/initrd.img" ]] || die "step '$STEP': /vmlinuz or /initrd.img missing in the tree (kernel install failed?)"

cat >"$ROOT/etc/fstab" <<EOF
# <file system>	<mount point>	<type>	<options>	<dump>	<pass>
UUID=$UUID	/	ext4	errors=remount-ro	0	1
EOF
echo "$HOST_NAME" >"$ROOT/etc/hostname"
cat >"$ROOT/etc/hosts" <<EOF
127.0.0.1	localhost
127.0.1.1	$HOST_NAME
::1	localhost ip6-localhost ip6-loopback
ff02::1	ip6-allnodes
ff02::2	ip6-allrouters
EOF
: >"$ROOT/etc/resolv.conf"          # debootstrap copied the host's; dhclient writes the guest's

# apt sources: the suite, -updates, and -security when a security archive can be found.
STEP="apt sources"
SEC_NOTE=""
if [[ -z "$SECURITY_MIRROR" ]]; then
  if [[ "$MIRROR" == */debian ]]; then
    SECURITY_MIRROR="$MIRROR-security"
  else
    SECURITY_MIRROR="none"
    SEC_NOTE="no security archive could be derived from the mirror URL (it does not end in /debian)"
  fi
fi
if [[ "$SECURITY_MIRROR" != "none" ]]; then
  if [[ "$SECURITY_MIRROR" == file://* ]]; then
    sec_ok=0; [[ -f "${SECURITY_MIRROR#file://}/dists/$SUITE-security/Release" ]] && sec_ok=1
  elif command -v curl >/dev/null 2>&1; then
    sec_ok=0; curl -fsSL -o /dev/null --max-time 30 "$SECURITY_MIRROR/dists/$SUITE-security/Release" && sec_ok=1
  else
    sec_ok=0; wget -q -O /dev/null --timeout=30 "$SECURITY_MIRROR/dists/$SUITE-security/Release" && sec_ok=1
  fi
  if [[ $sec_ok -ne 1 ]]; then
    SEC_NOTE="$SECURITY_MIRROR did not serve $SUITE-security when the image was built"
    SECURITY_MIRROR="none"
  fi
fi
{
  echo "# Written by packer/cloud-base/base-disk.sh"
  echo "deb $MIRROR $SUITE main"
  echo "deb $MIRROR $SUITE-updates main"
  if [[ "$SECURITY_MIRROR" != "none" ]]; then
    echo "deb $SECURITY_MIRROR $SUITE-security main"
  else
    echo "# $SUITE-security left out: ${SEC_NOTE:-disabled with --security-mirror none}."
    echo "# Only main + updates are configured; add a security source before using this image in production."
  fi
} >"$ROOT/etc/apt/sources.list"
if [[ "$SECURITY_MIRROR" == "none" ]]; then
  err "warning: $SUITE-security not configured in the image (${SEC_NOTE:---security-mirror none})"
fi

STEP="customise"
# Network: classic eth0 (net.ifnames=0 on the kernel command line), DHCP.
cat >"$ROOT/etc/network/interfaces" <<'EOF'
# Written by base-disk.sh. The kernel runs with net.ifnames=0, so the NIC is always eth0.
source /etc/network/interfaces.d/*

auto lo
iface lo inet loopback

allow-hotplug eth0
iface eth0 inet dhcp
EOF

# cloud-init: seed from NoCloud (cidata ISO) or ConfigDrive only; two real datasources so ds-identify
# disables cloud-init when no seed is attached. Network config stays with ifupdown. The file sorts
# after the package's 90_dpkg.cfg, so its datasource_list wins.
mkdir -p "$ROOT/etc/cloud/cloud.cfg.d"
cat >"$ROOT/etc/cloud/cloud.cfg.d/99-pharos.cfg" <<'EOF'
# Written by base-disk.sh
datasource_list: [ NoCloud, ConfigDrive ]
network:
  config: disabled
# No locales package in the image: skip the locale module. Quoted on purpose: cc_locale treats the
# string "false" like the boolean, and cloud-init 22.4's schema (type string) rejects a bare false
# with a boot-time "Invalid cloud-config provided" warning.
locale: "false"
manage_etc_hosts: true
# Same host key types as ssh-keygen -A on OpenSSH 9 (cloud-init 22.4 would also make a DSA key).
ssh_genkeytypes: [ rsa, ecdsa, ed25519 ]
EOF

# Per-instance identity: no host keys, empty machine-id; keys are made at first boot.
rm -f "$ROOT"/etc/ssh/ssh_host_*
: >"$ROOT/etc/machine-id"
if [[ -e "$ROOT/var/lib/dbus/machine-id" || -L "$ROOT/var/lib/dbus/machine-id" ]]; then
  rm -f "$ROOT/var/lib/dbus/machine-id"
  ln -s /etc/machine-id "$ROOT/var/lib/dbus/machine-id"
fi
cat >"$ROOT/etc/systemd/system/ssh-hostkeys.service" <<'EOF'
# Written by base-disk.sh: make SSH host keys on the first boot of a clone.
# Ordered after cloud-init.service, whose ssh module makes the keys itself when a seed is present.
[Unit]
Description=Generate missing SSH host keys
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
After=cloud-init.service
Before=ssh.service

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A
RemainAfterExit=yes

[Install]
RequiredBy=ssh.service
EOF
STEP="systemctl enable ssh-hostkeys (chroot)"
run_logged chroot "$ROOT" systemctl enable ssh-hostkeys.service

# GRUB: modules next to a static grub.cfg (the /vmlinuz and /initrd.img links follow kernel upgrades).
STEP="grub files"
mkdir -p "$ROOT/boot/grub/i386-pc"
cp "$ROOT"/usr/lib/grub/i386-pc/*.mod "$ROOT"/usr/lib/grub/i386-pc/*.lst "$ROOT/boot/grub/i386-pc/"
cat >"$ROOT/boot/grub/grub.cfg" <<EOF
# Written by base-disk.sh (static; no update-grub in this image)
serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1
terminal_input serial console
terminal_output serial console
set timeout=1
set default=0
insmod part_msdos
insmod ext2
search --no-floppy --fs-uuid --set=root $UUID
menuentry 'Debian GNU/Linux ($SUITE, Pharos cloud base)' {
	linux /vmlinuz root=UUID=$UUID ro console=tty0 console=ttyS0,115200 net.ifnames=0 biosdevname=0
	initrd /initrd.img
}
EOF
STEP="grub-mkimage (chroot)"
say "grub core image"
run_logged chroot "$ROOT" grub-mkimage -O i386-pc -o /tmp/core.img -p '(hd0,msdos1)/boot/grub' \
  biosdisk part_msdos ext2 search_fs_uuid
mv "$ROOT/tmp/core.img" "$RUN_DIR/core.img"
cp "$ROOT/usr/lib/grub/i386-pc/boot.img" "$RUN_DIR/boot.img"
CORE_BYTES=$(stat -c %s "$RUN_DIR/core.img")
(( CORE_BYTES <= 2047 * 512 )) || die "step '$STEP': core.img is $CORE_BYTES bytes, more than the 2047-sector MBR gap"

STEP="apt clean"
run_logged chroot "$ROOT" apt-get clean
rm -rf "$ROOT"/var/lib/apt/lists/*
mkdir -p "$ROOT/var/lib/apt/lists/partial"
rm -f "$ROOT"/var/log/*.log "$ROOT"/var/cache/debconf/*-old "$ROOT"/var/lib/dpkg/*-old
rm -rf "$ROOT"/tmp/* "$ROOT"/var/tmp/*

# --- 3. disk assembly ----------------------------------------------------------------------------------
STEP="partition (sfdisk)"
say "disk: partition ${SIZE_MIB}M"
truncate -s "${SIZE_MIB}M" "$RAW"
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$RAW" >>"$LOG" 2>&1

STEP="mkfs.ext4 -d"
say "disk: mkfs.ext4 -d (${FS_MIB}M at offset 1 MiB)"
MKFS_OPTS=()
# Keep the fs readable by GRUB 2.06 even where mke2fs defaults to newer features (upstream 1.47 defaults).
if mke2fs -V 2>&1 | grep -Eq 'mke2fs 1\.(4[7-9]|[5-9][0-9])'; then MKFS_OPTS+=(-O '^orphan_file,^metadata_csum_seed'); fi
# -b 4096 and an explicit M suffix: a bare fs-size would be read in KiB.
run_logged mkfs.ext4 -q -F -b 4096 -L rootfs -U "$UUID" "${MKFS_OPTS[@]}" -d "$ROOT" -E offset=1048576 "$RAW" "${FS_MIB}M"

STEP="grub boot code (dd)"
say "disk: GRUB boot.img + core.img"
dd if="$RUN_DIR/boot.img" of="$RAW" bs=440 count=1 conv=notrunc status=none
dd if="$RUN_DIR/core.img" of="$RAW" bs=512 seek=1 conv=notrunc status=none

# --- 4. qcow2 ---------------------------------------------------------------------------------------------
STEP="qemu-img convert"
say "qcow2: convert + compress"
run_logged qemu-img convert -c -O qcow2 "$RAW" "$OUT_TMP"
rm -f -- "$RAW"
STEP="rename into --out"
mv -f -- "$OUT_TMP" "$OUT"
OUT_TMP=""
DONE=1
say "done: $OUT ($(du -m -- "$OUT" | cut -f1) MiB on disk, ${SIZE_MIB}M virtual, fs UUID $UUID)"

#!/usr/bin/env bash
# common.sh - the common layer of every Pharos VM image. Packer runs it as root (sudo) in the guest,
# after cloud-init has created the login user from the NoCloud seed. Run it LAST: it ends with the
# sysprep (host keys, machine-id, cloud-init state, logs, build key, free blocks).
#
# Environment (optional): ADMIN_USER (default admin).
set -eu

ADMIN_USER="${ADMIN_USER:-admin}"
export DEBIAN_FRONTEND=noninteractive
export LC_ALL=C

step() { printf '==> common: %s\n' "$*"; }
fail() { printf '==> common: ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "must run as root (Packer runs it through sudo)"

# --- cloud-init ---------------------------------------------------------------------------------------
step "waiting for cloud-init to finish (cloud-init status --wait)"
if ! cloud-init status --wait >/dev/null; then
  cloud-init status --long >&2 || true
  fail "cloud-init did not finish cleanly; see /var/log/cloud-init.log in the guest and the serial log"
fi
cloud-init status --long | sed 's/^/    /'

# --- login user: key only, passwordless sudo ----------------------------------------------------------
step "user $ADMIN_USER: check it exists with an SSH key (made by the seed)"
id "$ADMIN_USER" >/dev/null 2>&1 || fail "user $ADMIN_USER does not exist; the seed's user-data should create it"
ADMIN_HOME="$(getent passwd "$ADMIN_USER" | cut -d: -f6)"
[ -s "$ADMIN_HOME/.ssh/authorized_keys" ] || fail "$ADMIN_HOME/.ssh/authorized_keys is missing or empty"

step "user $ADMIN_USER: lock the password (key-only login), shell /bin/bash, group sudo"
usermod --lock --shell /bin/bash "$ADMIN_USER"
usermod -aG sudo "$ADMIN_USER"

step "sudo: /etc/sudoers.d/90-pharos-$ADMIN_USER (NOPASSWD), checked with visudo"
SUDOERS="/etc/sudoers.d/90-pharos-$ADMIN_USER"
SUDOERS_TMP="$(mktemp /etc/sudoers.d/.pharos.XXXXXX)"
printf '# Pharos: the image login user, key-only, passwordless sudo\n%s ALL=(ALL:ALL) NOPASSWD: ALL\n' "$ADMIN_USER" >"$SUDOERS_TMP"
chmod 0440 "$SUDOERS_TMP"
if ! visudo -c -q -f "$SUDOERS_TMP"; then rm -f "$SUDOERS_TMP"; fail "visudo rejected $SUDOERS"; fi
mv -f "$SUDOERS_TMP" "$SUDOERS"
visudo -c -q || fail "visudo -c: the sudoers configuration is invalid"

# --- sshd ------------------------------------------------------------------------------------------------
step "sshd: no root login, no password or keyboard-interactive auth (/etc/ssh/sshd_config.d/10-pharos.conf)"
mkdir -p /etc/ssh/sshd_config.d
# sshd keeps the first value it reads; Debian's sshd_config includes sshd_config.d/*.conf at the top,
# and 10- sorts before the files cloud-init may add (50-cloud-init.conf).
cat >/etc/ssh/sshd_config.d/10-pharos.conf <<'EOF'
# Pharos: key-only SSH, no root login
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitEmptyPasswords no
PubkeyAuthentication yes
EOF
chmod 0644 /etc/ssh/sshd_config.d/10-pharos.conf
sshd -t || fail "sshd -t rejected the configuration"

step "root: lock the password"
passwd -l root >/dev/null

# --- HPC limits --------------------------------------------------------------------------------------------
step "limits: memlock unlimited, nofile 65536/1048576 (/etc/security/limits.d/90-pharos-hpc.conf)"
cat >/etc/security/limits.d/90-pharos-hpc.conf <<'EOF'
# Pharos HPC limits (pam_limits: SSH and su sessions). '*' does not cover root, hence the root lines.
*     soft  memlock  unlimited
*     hard  memlock  unlimited
*     soft  nofile   65536
*     hard  nofile   1048576
root  soft  memlock  unlimited
root  hard  memlock  unlimited
root  soft  nofile   65536
root  hard  nofile   1048576
EOF
step "limits: systemd services get memlock unlimited (/etc/systemd/system.conf.d/90-pharos-hpc.conf)"
mkdir -p /etc/systemd/system.conf.d
cat >/etc/systemd/system.conf.d/90-pharos-hpc.conf <<'EOF'
# Pharos: RDMA/MPI daemons need locked memory
[Manager]
DefaultLimitMEMLOCK=infinity
EOF

# --- directories ----------------------------------------------------------------------------------------------
step "directories: /opt/containers (SIF images), /opt/pharos"
install -d -m 0755 -o root -g root /opt/containers /opt/pharos

# --- sysprep ------------------------------------------------------------------------------------------------------
step "sysprep: apt clean, remove apt lists"
apt-get clean
rm -rf /var/lib/apt/lists/*
mkdir -p /var/lib/apt/lists/partial

step "sysprep: cloud-init clean --logs (the next boot with a new seed runs cloud-init again)"
cloud-init clean --logs

step "sysprep: remove the build's SSH keys from $ADMIN_USER and root (the next seed brings its own)"
rm -f "$ADMIN_HOME/.ssh/authorized_keys" /root/.ssh/authorized_keys

step "sysprep: empty /etc/machine-id (regenerated at the next boot)"
truncate -s 0 /etc/machine-id
if [ -e /var/lib/dbus/machine-id ] && [ ! -L /var/lib/dbus/machine-id ]; then
  rm -f /var/lib/dbus/machine-id
  ln -s /etc/machine-id /var/lib/dbus/machine-id
fi

step "sysprep: remove SSH host keys (ssh-hostkeys.service / cloud-init make new ones)"
rm -f /etc/ssh/ssh_host_*

step "sysprep: clear logs (journal, /var/log files) and shell history"
journalctl --rotate >/dev/null 2>&1 || true
journalctl --vacuum-time=1s >/dev/null 2>&1 || true
# the per-machine-id directory too: its name is the build VM's machine-id
find /var/log/journal -mindepth 1 -delete 2>/dev/null || true
find /var/log -type f \( -name '*.gz' -o -name '*.[0-9]' -o -name '*.old' \) -delete
find /var/log -type f \( -name '*.log' -o -name wtmp -o -name btmp -o -name lastlog -o -name faillog -o -name messages -o -name syslog \) -exec truncate -s 0 {} +
rm -f /root/.bash_history /home/*/.bash_history /root/.lesshst /home/*/.lesshst
rm -rf /var/tmp/* /tmp/pharos-upload
unset HISTFILE

step "sysprep: fstrim (free blocks leave the output through discard=unmap)"
sync
fstrim -v / || printf '==> common: fstrim not supported on this disk; the image keeps its free blocks\n'
sync
step "done"

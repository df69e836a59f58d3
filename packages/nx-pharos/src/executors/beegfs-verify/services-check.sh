#!/bin/sh
# Proves installed BeeGFS packages the way a site brings up a server: upstream's beegfs-setup-* scripts initialise
# mgmtd, meta and storage on directories, the daemons start with one shared connection-authentication file, and the
# client tools (beegfs-ctl, beegfs-check-servers) must see every service reachable. Then the client module must build
# with DKMS against the kernel headers of the image's suite. Runs as root in a clean container of that suite, with a
# real network interface (the daemons refuse loopback only) and a fixed hostname.
set -u
DATA=/data/beegfs
CONF=/etc/beegfs
SBIN=/opt/beegfs/sbin
HOST=$(hostname)

ok() { echo "pharos-check: ok   $*"; }
logs() {
  for f in /tmp/beegfs-*.out /var/log/beegfs-*.log /tmp/dkms-build.log; do
    [ -s "$f" ] && { echo "--- last lines of $f"; tail -n 25 "$f"; }
  done
}
fail() { echo "pharos-check: FAIL $*"; logs; exit 1; }

# Sets `key = value` in a BeeGFS config file, adding the key when the file lacks it.
set_conf() {
  [ -f "$1" ] || fail "the packages installed no $1"
  if grep -q "^$2[[:space:]]*=" "$1"; then sed -i "s|^\($2[[:space:]]*=\).*|\1 $3|" "$1"; else echo "$2 = $3" >>"$1"; fi
}

# One shared secret for every service and the client tools: 7.4 refuses to start without connection authentication.
# The tools (beegfs-ctl, beegfs-check-servers) read beegfs-client.conf, which beegfs-client-dkms ships and this container
# installs; a server without the client package has none, and must write one for its tools.
umask 077
head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n' >$CONF/connauthfile
umask 022
for c in mgmtd meta storage client; do set_conf $CONF/beegfs-$c.conf connAuthFile $CONF/connauthfile; done
set_conf $CONF/beegfs-client.conf sysMgmtdHost "$HOST"
ok "one connAuthFile for mgmtd, meta, storage and the client tools; management host $HOST"

$SBIN/beegfs-setup-mgmtd -p $DATA/mgmtd >/tmp/beegfs-setup.out 2>&1 || fail "beegfs-setup-mgmtd -p $DATA/mgmtd: $(tail -n 3 /tmp/beegfs-setup.out)"
$SBIN/beegfs-setup-meta -p $DATA/meta -s 2 -m "$HOST" >>/tmp/beegfs-setup.out 2>&1 || fail "beegfs-setup-meta: $(tail -n 3 /tmp/beegfs-setup.out)"
$SBIN/beegfs-setup-storage -p $DATA/storage -s 3 -i 301 -m "$HOST" >>/tmp/beegfs-setup.out 2>&1 || fail "beegfs-setup-storage: $(tail -n 3 /tmp/beegfs-setup.out)"
ok "beegfs-setup-mgmtd, -meta (ID 2) and -storage (ID 3, target 301) initialised $DATA"

# As upstream's systemd units start them, in the foreground; the container's init reaps them.
start() {
  $SBIN/beegfs-$1 cfgFile=$CONF/beegfs-$1.conf runDaemonized=false >/tmp/beegfs-$1.out 2>&1 &
  echo $! >/tmp/beegfs-$1.pid
}
alive() { kill -0 "$(cat /tmp/beegfs-$1.pid)" 2>/dev/null; }
nodes() { beegfs-ctl --listnodes --nodetype=$1 2>/dev/null | grep '\[ID: [0-9]*\]'; }
# Waits until beegfs-ctl lists a node of the type, failing early when the daemon has exited.
wait_listed() {
  i=0
  while [ $i -lt 90 ]; do
    [ -n "$(nodes $1)" ] && return 0
    alive $2 || fail "beegfs-$2 exited during startup"
    sleep 1
    i=$((i + 1))
  done
  fail "beegfs-ctl --listnodes --nodetype=$1 listed no node after 90 s (beegfs-$2 is running)"
}
start mgmtd
wait_listed management mgmtd
start meta
start storage
wait_listed metadata meta
wait_listed storage storage
for t in management metadata storage; do ok "beegfs-ctl --listnodes --nodetype=$t: $(nodes $t | tr -s ' \n' ' ' | sed 's/ $//')"; done

servers=$(beegfs-check-servers -e -c $CONF/beegfs-client.conf 2>&1) || fail "beegfs-check-servers exited non-zero: $(echo "$servers" | tail -n 5)"
echo "$servers" | grep -q UNREACHABLE && fail "beegfs-check-servers: $(echo "$servers" | grep UNREACHABLE)"
[ "$(echo "$servers" | grep -c 'reachable at')" -ge 3 ] || fail "beegfs-check-servers reported fewer than 3 servers: $servers"
ok "beegfs-check-servers: management, metadata and storage reachable"

# The client module, as the image will build it: DKMS against the suite's kernel headers (not the host's kernel).
kver=$(for d in /lib/modules/*/build; do [ -d "$d" ] && basename "$(dirname "$d")"; done | head -n 1)
[ -n "$kver" ] || fail "no kernel headers under /lib/modules/*/build"
src=$(ls -d /usr/src/beegfs-*/ 2>/dev/null | head -n 1)
[ -n "$src" ] && [ -f "${src}dkms.conf" ] || fail "beegfs-client-dkms installed no /usr/src/beegfs-<version>/dkms.conf"
version=${src#/usr/src/beegfs-}
version=${version%/}
dkms status -m beegfs -v "$version" | grep -q . || dkms add -m beegfs -v "$version" >/tmp/dkms-build.log 2>&1 || fail "dkms add beegfs/$version"
if ! dkms status -m beegfs -v "$version" -k "$kver" | grep -qE 'built|installed'; then
  dkms build -m beegfs -v "$version" -k "$kver" >>/tmp/dkms-build.log 2>&1 || {
    cat /var/lib/dkms/beegfs/"$version"/build/make.log >>/tmp/dkms-build.log 2>/dev/null
    fail "dkms build -m beegfs -v $version -k $kver"
  }
fi
module=$(find /var/lib/dkms/beegfs/"$version"/"$kver" -name 'beegfs.ko*' 2>/dev/null | head -n 1)
[ -n "$module" ] || fail "dkms reported a build for $kver but left no beegfs.ko"
ok "dkms built the beegfs $version client module for Linux $kver: $(basename "$module")"

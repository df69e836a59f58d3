#!/bin/sh
# The start of every .deb check in a clean container of the suite: packages are kept from starting daemons (the check
# starts its own), then apt-get installs the product's .debs from DEBS_DIR (default /debs) with EXTRA_PACKAGES
# (space-separated names) from the archive. apt's output goes to a log, shown only when it fails (exit 2).
#   install-debs.sh DEB_FILE…
set -eu
export DEBIAN_FRONTEND=noninteractive
policy=${POLICY_RC_D:-/usr/sbin/policy-rc.d}
printf '#!/bin/sh\nexit 101\n' > "$policy"
chmod +x "$policy"
apt-get update -q >/dev/null
cd "${DEBS_DIR:-/debs}"
debs=''
for f in "$@"; do debs="$debs ./$f"; done
# shellcheck disable=SC2086 # .deb file names and package names have no spaces (Debian's syntax)
apt-get install -y -q --no-install-recommends $debs ${EXTRA_PACKAGES:-} >/tmp/apt.log 2>&1 || { tail -n 20 /tmp/apt.log >&2; exit 2; }

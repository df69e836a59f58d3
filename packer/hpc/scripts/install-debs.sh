#!/bin/sh
# Installs the .debs Pharos uploaded (built by the workspace's deb targets for this suite) with apt, which brings
# their dependencies from the Debian archive. Daemons are not started here: the image is a template.
set -eu
upload=${PHAROS_UPLOAD:?the Packer template sets PHAROS_UPLOAD}
ls "$upload"/debs/*.deb >/dev/null 2>&1 || { echo "install-debs: no .debs were uploaded to $upload/debs" >&2; exit 2; }
echo "install-debs: $(ls "$upload"/debs | tr '\n' ' ')"
export DEBIAN_FRONTEND=noninteractive
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
apt-get update -q
apt-get install -y -q --no-install-recommends "$upload"/debs/*.deb
rm -f /usr/sbin/policy-rc.d
for deb in "$upload"/debs/*.deb; do
  pkg=$(dpkg-deb -f "$deb" Package)
  dpkg-query -W -f='${Status}\n' "$pkg" | grep -q 'install ok installed' || { echo "install-debs: $pkg is not installed" >&2; exit 3; }
done
apt-get clean
rm -rf /var/lib/apt/lists/*

# Signs a SIF with a PEM private key and writes the key's public half, for `apptainer verify --key`.
# Arguments: key file, passphrase file ('' when the key is not encrypted), SIF, public key to write.
# Only file paths come in: an encrypted key is decrypted into a private temporary folder that is removed on exit.
set -eu
umask 077
key=$1 passphrase=$2 sif=$3 public=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -n "$passphrase" ]; then
  openssl pkey -in "$key" -passin "file:$passphrase" -out "$work/key.pem"
  key=$work/key.pem
fi
openssl pkey -in "$key" -pubout -out "$public"
chmod 644 "$public"
apptainer sign --key "$key" "$sif"

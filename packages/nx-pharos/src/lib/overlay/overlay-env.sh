# Runs a command with overlays' .env files applied. $1: the command (for sh -c); the rest: .env files, sourced in
# mount order with every assignment exported, so a later overlay's value wins.
command=$1
shift
set -a
for env in "$@"; do
    . "$env"
done
set +a
exec /bin/sh -c "$command"

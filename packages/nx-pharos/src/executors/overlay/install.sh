# Runs inside the base SIF, as condatainer runs a build script: sources it in a clean bash and calls its install().
# $1: the build script; $2: what install() reads on its stdin (the answers to its #INTERACTIVE: prompts, one a line,
# or /dev/null: never a terminal); $3: "no network" or "WITH NETWORK" (#NETWORK:yes), for the log; the rest: the .env
# files of the overlays mounted under it, in mount order. The environment holds NCPUS, target_dir, tmp_dir, src_dir,
# app_name and version.
set -eo pipefail
script=$1
answers=$2
network=$3
shift 3
set -a
for env in "$@"; do
    . "$env"
done
set +a
cd "$tmp_dir"
. "$script"
if [ "$(type -t install)" != function ]; then
    echo "pharos: $script defines no install() function" >&2
    exit 2
fi
echo "pharos-phase: install() of $app_name/$version into $target_dir, $NCPUS CPU(s), $network"
install < "$answers"
echo "pharos-phase: install() done"

# Prints each entry of a SIF's /.singularity.d that is missing or not executable, one a line; prints nothing when
# all are there. $1 is the folder (/.singularity.d inside the SIF), the rest are the entries, relative to it.
dir=$1
shift
for entry in "$@"; do
  [ -x "$dir/$entry" ] || echo "$entry"
done

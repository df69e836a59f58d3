#!/bin/sh
# A real one-node Slurm cluster on loopback (slurmctld + slurmd, auth/slurm, no munge), then the checks a site
# would run: sinfo, srun, sbatch polled to completion, and an afterok chain. Every Slurm binary it calls must come
# from the product under test: $1 is "deb" (dpkg must own it, in a slurm-smd package) or "prefix:<dir>" (it must live
# under <dir>). Prints "pharos-check: ok|FAIL <what>" lines; exits non-zero on the first failure.
# PHAROS_SLURM_CONF_EXTRA: lines appended to slurm.conf; PHAROS_SLURMD_ARGS: extra slurmd arguments.
set -eu
origin=$1
work=$(mktemp -d)
cleanup() {
    scontrol shutdown >/dev/null 2>&1 || true
    sleep 0.5
    pkill -x slurmctld 2>/dev/null || true
    pkill -x slurmd 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
ok() { echo "pharos-check: ok   $*"; }
fail() {
    echo "pharos-check: FAIL $*"
    for log in "$work"/slurmctld.log "$work"/slurmd.log; do
        [ -f "$log" ] && { echo "--- last lines of $(basename "$log")"; tail -n 15 "$log"; }
    done
    exit 1
}

for tool in sinfo srun sbatch squeue scontrol slurmctld slurmd; do
    path=$(command -v "$tool") || fail "$tool is not on PATH"
    case $origin in
        deb)
            owner=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | cut -d: -f1) || fail "$path belongs to no package"
            case $owner in slurm-smd*) ;; *) fail "$path comes from $owner, not from the packages under test" ;; esac ;;
        prefix:*)
            case $(readlink -f "$path") in "${origin#prefix:}"/*) ;; *) fail "$path is not under ${origin#prefix:}" ;; esac ;;
    esac
done
ok "every Slurm binary comes from the product under test ($origin)"

mkdir -p "$work/state" "$work/spool" "$work/jobs"
chmod 777 "$work/jobs"
dd if=/dev/urandom of="$work/slurm.key" bs=1024 count=1 2>/dev/null
chmod 600 "$work/slurm.key"
cpus=$(nproc)
cat > "$work/slurm.conf" <<CONF
ClusterName=pharos-verify
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/slurm
CredType=cred/slurm
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MailProg=/bin/true
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=500 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
# A relocated tree needs its PluginDir named (the compiled default is the build prefix).
[ -z "${PHAROS_SLURM_CONF_EXTRA:-}" ] || printf '%s\n' "$PHAROS_SLURM_CONF_EXTRA" >> "$work/slurm.conf"
export SLURM_CONF="$work/slurm.conf"

slurmctld -i || fail "slurmctld did not start"
# shellcheck disable=SC2086 # PHAROS_SLURMD_ARGS is a word list, e.g. "-d <prefix>/sbin/slurmstepd".
slurmd -N localhost ${PHAROS_SLURMD_ARGS:-} || fail "slurmd did not start"
i=0
# Every client call has a time limit: a daemon that never answers must fail the check, not hang it.
until [ "$(timeout 10 sinfo -h -o %T 2>/dev/null)" = idle ]; do
    i=$((i + 1)); [ $i -lt 300 ] || fail "the node never became idle (sinfo: $(timeout 10 sinfo -h -o '%T %E' 2>&1))"
    sleep 0.2
done
ok "sinfo shows localhost idle"

out=$(timeout 60 srun -N1 hostname) || fail "srun hostname failed or timed out"
[ -n "$out" ] || fail "srun hostname printed nothing"
ok "srun -N1 hostname printed $out"

# Poll squeue instead of sbatch --wait, whose back-off makes the first job take ~10 s.
wait_done() {
    i=0
    while timeout 10 squeue -h -j "$1" 2>/dev/null | grep -q .; do
        i=$((i + 1)); [ $i -lt 600 ] || fail "job $1 did not finish"
        sleep 0.1
    done
    state=$(scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
    [ -z "$state" ] || [ "$state" = COMPLETED ] || fail "job $1 ended $state"
}
job=$(timeout 30 sbatch --parsable -o "$work/jobs/one.out" --wrap 'echo batch-ok') || fail "sbatch was refused"
wait_done "$job"
[ "$(cat "$work/jobs/one.out")" = batch-ok ] || fail "the batch job's output is '$(cat "$work/jobs/one.out" 2>/dev/null)'"
ok "sbatch job $job completed with its output"

a=$(timeout 30 sbatch --parsable -o "$work/jobs/chain.out" --open-mode=append --wrap 'sleep 1; echo A') || fail "sbatch A was refused"
b=$(timeout 30 sbatch --parsable -o "$work/jobs/chain.out" --open-mode=append --dependency=afterok:"$a" --wrap 'echo B') || fail "sbatch B was refused"
wait_done "$a"
wait_done "$b"
[ "$(tr '\n' ' ' < "$work/jobs/chain.out")" = "A B " ] || fail "the afterok chain wrote '$(cat "$work/jobs/chain.out")'"
ok "afterok chain: B ran after A succeeded"

# With PHAROS_MPI_PROGRAM (an MPI program built with the product's own mpicc): two ranks under srun's PMIx must each
# report, pass a message to the other around a ring, and reduce their ranks; PHAROS_MPI_LIBRARY is the start of the
# library version rank 0 must report (e.g. "Open MPI v5.0.7").
if [ -n "${PHAROS_MPI_PROGRAM:-}" ]; then
    plugins=$(timeout 10 srun --mpi=list 2>&1) || true
    echo "$plugins" | grep -qw pmix || fail "srun --mpi=list offers no pmix: $(echo "$plugins" | tr '\n' ' ')"
    overcommit=
    [ "$cpus" -ge 2 ] || overcommit=--overcommit
    # shellcheck disable=SC2086 # overcommit is one flag or none
    out=$(timeout 120 srun --mpi=pmix -N1 -n 2 $overcommit "$PHAROS_MPI_PROGRAM" 2>&1) || fail "srun --mpi=pmix -n 2 $PHAROS_MPI_PROGRAM failed: $out"
    echo "$out" | sed 's/^/    /'
    for r in 0 1; do
        o=$((1 - r))
        echo "$out" | grep -q "^pharos-mpi: rank $r of 2 on " || fail "MPI rank $r did not report (srun printed: $out)"
        echo "$out" | grep -qxF "pharos-mpi: rank $r received \"hello from rank $o of 2\" from rank $o" || fail "MPI rank $r did not receive rank $o's message"
    done
    echo "$out" | grep -qx 'pharos-mpi: sum of ranks 1' || fail "MPI_Allreduce of the ranks did not give 1"
    library=$(echo "$out" | sed -n 's/^pharos-mpi: library //p')
    case $library in "${PHAROS_MPI_LIBRARY:-}"*) ;; *) fail "the ranks ran with '$library', not ${PHAROS_MPI_LIBRARY:-}" ;; esac
    ok "srun --mpi=pmix -n 2 $(basename "$PHAROS_MPI_PROGRAM"): both ranks reported and passed a message around the ring ($library)"
fi

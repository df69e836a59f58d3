#!/usr/bin/env zx
// The Slurm engine's benchmark, on the engine tests' loopback cluster (e2e/slurm-cluster.ts: slurmctld and slurmd in
// a container of the dev container's image, the workspace bound at its own path), asserting nothing:
// 1. One trivial overlay target (install() makes one directory): through the engine, run locally, and its engine
//    overhead as the target reports it (`engine overhead X s`: its time beyond the job's own run time), beside
//    `sbatch --wait` of a job that runs as long (sbatch's own following, for the same job length).
// 2. A graph of 20 small overlays (four chains of five, each #DEP on the one before) with --parallel=8: through the
//    engine, locally, and `pharos submit --wait`.
//   npm run bench:slurm                 # BENCH_RUNS=3 by default
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { $ } from 'zx';
import { env, nxBin, root, timed } from './lib.mjs';

$.verbose = false;
const runs = Number(process.env.BENCH_RUNS ?? 3);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cli = join(root, 'packages/nx-pharos/e2e/slurm-cluster-cli.ts');
const overlays = join(root, 'containers/overlays');
const script = (name, dep) => `#!/usr/bin/bash
#WHATIS:bench:slurm overlay ${name}
#SBATCH --cpus-per-task=1
#SBATCH --mem=256M
${dep ? `#DEP:${dep}/1.0\n` : ''}
install() {
    mkdir -p "$target_dir/share" && echo ${name} > "$target_dir/share/${name}"
}
`;
const written = [];
const write = (name, dep) => {
  const file = join(overlays, name, '1.0.sh');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, script(name, dep));
  written.push(dirname(file));
};

write('bench-trivial');
const graph = [];
for (const chain of ['a', 'b', 'c', 'd'])
  for (let i = 1; i <= 5; i++) {
    write(`bench-${chain}${i}`, i > 1 ? `bench-${chain}${i - 1}` : undefined);
    graph.push(`bench-${chain}${i}-1.0`);
  }

const nx = (args, extra = {}) => $({ cwd: root, env: { ...env, ...extra } })`${nxBin} ${args} --output-style=static`;
let cluster;
try {
  await nx(['run-many', '-t', 'sif', '--projects=overlay-build-base,dev-container']);
  const modules = (await $`realpath ${join(root, 'node_modules/@swc-node')}`).stdout.trim();
  cluster = JSON.parse((await $({ cwd: root })`node -r @swc-node/register ${cli} up ${root} ${root} ${dirname(modules)}`).stdout);
  const slurm = { PATH: `${cluster.clientsDir}:${process.env.PATH}` };
  const engine = { ...slurm, PHAROS_ENGINE: 'slurm' };
  // The trivial target's engine runs go through counting shims, so the harness's share of the overhead can be told.
  const counting = mkdtempSync(join(tmpdir(), 'bench-slurm-count-'));
  const callLog = join(counting, 'calls');
  for (const cmd of ['sbatch', 'squeue', 'scontrol', 'scancel', 'sacct']) {
    writeFileSync(join(counting, cmd), `#!/bin/sh\necho ${cmd} >> ${callLog}\nexec ${join(cluster.clientsDir, cmd)} "$@"\n`, { mode: 0o755 });
  }
  const countedEngine = { ...engine, PATH: `${counting}:${engine.PATH}` };

  // 1. One trivial target.
  const trivial = ['run', 'bench-trivial-1.0:overlay', '--skip-nx-cache', '--exclude-task-dependencies'];
  await nx(trivial, engine); // the workspace probe, once
  const viaEngine = [];
  const overhead = [];
  const ranFor = [];
  const local = [];
  const sbatchWait = [];
  const jobs = mkdtempSync(join(tmpdir(), 'bench-slurm-'));
  for (let i = 0; i < runs; i++) {
    let out = '';
    viaEngine.push(await timed(async () => (out = (await nx(trivial, countedEngine)).stdout)));
    const m = /job \d+ ran ([\d.]+) s; engine overhead (-?[\d.]+) s/.exec(out);
    if (m) {
      ranFor.push(Number(m[1]));
      overhead.push(Number(m[2]));
    }
    local.push(await timed(() => nx(trivial)));
    const job = join(jobs, 'sleep.sh');
    writeFileSync(job, `#!/bin/sh\nsleep ${m ? m[1] : 1}\n`);
    sbatchWait.push(await timed(() => $({ cwd: root, env: { ...process.env, ...slurm } })`sbatch --wait --quiet -o /dev/null ${job}`));
  }
  rmSync(jobs, { recursive: true, force: true });
  const callsPerRun = (existsSync(callLog) ? readFileSync(callLog, 'utf8').split('\n').filter(Boolean).length : 0) / runs;
  rmSync(counting, { recursive: true, force: true });
  // The loopback harness reaches Slurm's clients through docker exec; on a real cluster each call is one local process.
  const clientCall = [];
  for (let i = 0; i < 5; i++) clientCall.push(await timed(() => $({ env: { ...process.env, ...slurm } })`squeue --noheader`));
  console.log(
    `trivial overlay: engine ${median(viaEngine).toFixed(1)} s, local ${median(local).toFixed(1)} s, engine / local = ${(median(viaEngine) / median(local)).toFixed(2)} (median of ${runs})`,
  );
  console.log(
    `trivial overlay: engine overhead ${overhead.length ? median(overhead).toFixed(2) : '?'} s beyond the job's run time (${ranFor.length ? median(ranFor).toFixed(2) : '?'} s, the batch script's own); sbatch --wait of a job as long: ${median(sbatchWait).toFixed(1)} s`,
  );

  const perCall = median(clientCall);
  console.log(
    `Slurm client calls per engine run: ${callsPerRun.toFixed(1)} (some while the job runs), each ${perCall.toFixed(2)} s through the harness's docker exec (squeue, median of 5), where a real cluster's clients take milliseconds`,
  );

  // 2. Twenty small targets, --parallel=8.
  const many = ['run-many', '-t', 'overlay', `--projects=${graph.join(',')}`, '--skip-nx-cache', '--parallel=8'];
  // submit first: its jobs run nx without --skip-nx-cache, so they must find nothing of these targets in the cache.
  const submit = await timed(
    () => $({ cwd: root, env: { ...env, ...slurm } })`${join(root, 'tools/pharos')} submit --wait run-many -t overlay --projects=${graph.join(',')}`,
  );
  const graphEngine = await timed(() => nx(many, engine));
  const graphLocal = await timed(() => nx(many));
  console.log(
    `20 overlays, --parallel=8: engine ${graphEngine.toFixed(1)} s, local ${graphLocal.toFixed(1)} s, pharos submit --wait ${submit.toFixed(1)} s; engine / local = ${(graphEngine / graphLocal).toFixed(2)}, submit / local = ${(submit / graphLocal).toFixed(2)}`,
  );
} finally {
  if (cluster) await $`node -r @swc-node/register ${cli} down ${cluster.container} ${cluster.clientsDir}`.nothrow();
  for (const dir of written) rmSync(dir, { recursive: true, force: true });
  rmSync(join(root, 'dist/containers/overlays/bench-trivial'), { recursive: true, force: true });
  for (const p of graph) rmSync(join(root, 'dist/containers/overlays', p.replace(/-1\.0$/, '')), { recursive: true, force: true });
}

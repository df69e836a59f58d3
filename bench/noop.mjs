#!/usr/bin/env zx
// No-op pipeline benchmark: `nx run-many -t build` with everything cached, against the same command in an empty Nx
// workspace, measured in the same run on the same machine. Prints medians and the ratio; asserts nothing.
// Run after the main job (npm run pipeline), so every task is a cache hit.
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { $ } from 'zx';
import { nxTasks } from './lib.mjs';

$.verbose = false;
const root = resolve(import.meta.dirname, '..');
const runs = Number(process.env.BENCH_RUNS ?? 5);
const nxBin = join(root, 'node_modules/.bin/nx');

const empty = mkdtempSync(join(tmpdir(), 'nx-empty-'));
writeFileSync(join(empty, 'package.json'), '{"name":"empty","private":true}\n');
writeFileSync(join(empty, 'nx.json'), '{}\n');
mkdirSync(join(empty, 'packages'));
symlinkSync(join(root, 'node_modules'), join(empty, 'node_modules'));

async function median(cwd, daemon) {
  const env = { ...process.env, NX_DAEMON: String(daemon), NX_TUI: 'false', NX_NO_CLOUD: 'true' };
  await $({ cwd, env, nothrow: true })`${nxBin} run-many -t build --output-style=static`; // warm-up
  const times = [];
  let printed = 0;
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    const r = await $({ cwd, env, nothrow: true })`${nxBin} run-many -t build --output-style=static`;
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    // A run that fails, or runs a task, is not a no-op: its time would measure something else.
    if (r.exitCode !== 0) throw new Error(`the no-op run failed (exit ${r.exitCode}); run the main job first:\n${(r.stdout + r.stderr).slice(-3000)}`);
    const ran = cwd === root ? nxTasks(r.stdout).ran : [];
    if (ran.length) throw new Error(`not a no-op: ${ran.length} task(s) ran instead of hitting the cache: ${ran.join(', ')}; run the main job first`);
    printed = nxTasks(r.stdout).all.length;
  }
  if (cwd === root) console.log(`daemon ${daemon ? 'on ' : 'off'}: all ${printed} tasks Nx printed were cache hits, in every timed run`);
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

try {
  for (const daemon of [false, true]) {
    const pipeline = await median(root, daemon);
    const baseline = await median(empty, daemon);
    console.log(
      `daemon ${daemon ? 'on ' : 'off'}: pharos no-op ${pipeline.toFixed(0)} ms, empty Nx workspace ${baseline.toFixed(0)} ms, ratio ${(pipeline / baseline).toFixed(2)} (median of ${runs})`,
    );
  }
  console.log(
    'note: no task runs. Products of 8 MiB or more are links into the store, so a cache hit restores a link, not an\n' +
      'archive; what the ratio measures is the project graph, the runtime inputs and Nx per cache hit (docs/store.md, Limits).',
  );
} finally {
  await $({ cwd: empty, nothrow: true })`${nxBin} daemon --stop`;
  rmSync(empty, { recursive: true, force: true });
}

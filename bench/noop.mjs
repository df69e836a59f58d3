#!/usr/bin/env zx
// No-op pipeline benchmark: `nx run-many -t build` with everything cached, against the same command in an empty Nx
// workspace, measured in the same run on the same machine. Prints medians and the ratio; asserts nothing.
// Run after the main job (npm run pipeline), so every task is a cache hit.
// A third workspace is Nx alone: as many projects as the pipeline's no-op printed tasks, each a cached `echo` with no
// plugin, runtime input or output, so what Nx itself costs per cache hit is told apart from what Pharos adds.
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

/** A workspace of `count` projects whose `build` is a cached `echo`, its cache filled by one run. */
async function nxAlone(count) {
  const dir = mkdtempSync(join(tmpdir(), 'nx-alone-'));
  writeFileSync(join(dir, 'package.json'), '{"name":"nx-alone","private":true}\n');
  writeFileSync(join(dir, 'nx.json'), '{"targetDefaults":{"build":{"cache":true}}}\n');
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  for (let i = 0; i < count; i++) {
    mkdirSync(join(dir, 'packages', `p${i}`), { recursive: true });
    const project = { name: `p${i}`, targets: { build: { command: `echo built p${i}`, outputs: [] } } };
    writeFileSync(join(dir, 'packages', `p${i}`, 'project.json'), JSON.stringify(project));
  }
  return dir;
}

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
  taskCount = Math.max(taskCount, printed);
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}
let taskCount = 0;
let alone;

try {
  for (const daemon of [false, true]) {
    const pipeline = await median(root, daemon);
    const baseline = await median(empty, daemon);
    alone ??= await nxAlone(taskCount);
    const floor = await median(alone, daemon);
    console.log(
      `daemon ${daemon ? 'on ' : 'off'}: pharos no-op ${pipeline.toFixed(0)} ms, empty Nx workspace ${baseline.toFixed(0)} ms, ratio ${(pipeline / baseline).toFixed(2)} (median of ${runs})`,
    );
    console.log(
      `daemon ${daemon ? 'on ' : 'off'}: Nx alone with ${taskCount} cached echo tasks ${floor.toFixed(0)} ms, ratio ${(floor / baseline).toFixed(2)} to the empty workspace; pharos to it ${(pipeline / floor).toFixed(2)}`,
    );
  }
  console.log(
    'note: no task runs. Products of 8 MiB or more are links into the store, so a cache hit restores a link, not an\n' +
      'archive; what the ratio measures is the project graph, the runtime inputs and Nx per cache hit (docs/store.md, Limits).',
  );
} finally {
  for (const dir of [empty, alone].filter(Boolean)) {
    await $({ cwd: dir, nothrow: true })`${nxBin} daemon --stop`;
    rmSync(dir, { recursive: true, force: true });
  }
}

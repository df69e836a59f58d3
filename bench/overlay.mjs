#!/usr/bin/env zx
// Overlay benchmark, two parts, asserting nothing:
// 1. Packing: the overlay target's mksquashfs step (as its log reports it) against a raw `mksquashfs` of the same tree
//    with the same flags (read from the manifest), both in the dev container, in the same run. The tree is the
//    overlay's own content, unpacked from the product once.
// 2. The htslib → samtools chain: cold (every overlay rebuilt, --skip-nx-cache) and cached (Nx restores both).
//   npm run bench:overlay                   # htslib-1.16, 3 runs each
//   BENCH_OVERLAY=samtools/1.16.1 BENCH_RUNS=5 npm run bench:overlay
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { $ } from 'zx';
import { env, nxBin, root, timed } from './lib.mjs';

$.verbose = false;
const overlay = process.env.BENCH_OVERLAY ?? 'htslib/1.16';
const runs = Number(process.env.BENCH_RUNS ?? 3);
const [name, version] = overlay.split('/');
const project = `${name}-${version}`;
const chainEnd = 'samtools-1.16.1';
const dist = join(root, 'dist/containers/overlays', name);
const work = join(root, 'tmp/bench-overlay');
const inDev = (...argv) => $({ cwd: root })`${join(root, 'tools/run-in-dev-container')} --no-build -- ${argv}`;
const nx = (...args) => $({ cwd: root, env })`${nxBin} ${args} --output-style=static`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

await nx('run', `${chainEnd}:overlay`);
await nx('run', `${project}:overlay`);
const manifest = () => JSON.parse(readFileSync(join(dist, `${version}.sqf.json`), 'utf8'));
const flags = manifest().mksquashfsArgs; // the flags after tree and dest, as the executor recorded them
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
await inDev('unsquashfs', '-no-progress', '-d', join(work, 'tree'), join(dist, manifest().sqf));
const rawSqf = join(work, 'raw.sqf');

// The executor's own measure of its pack step, so install() does not count.
const packedIn = (out) => {
  const m = /pharos: packed \S+ in ([\d.]+) s/.exec(out);
  if (!m) throw new Error(`the overlay target did not report its pack time:\n${out.slice(-2000)}`);
  return Number(m[1]);
};
const ours = [];
const raw = [];
for (let i = 0; i < runs; i++) {
  // Interleaved, so a slow moment of the machine hits both alike.
  const r = await nx('run', `${project}:overlay`, '--skip-nx-cache', '--exclude-task-dependencies');
  ours.push(packedIn(r.stdout));
  rmSync(rawSqf, { force: true });
  // Timed inside the container, so the raw tool's figure holds no container start; ours does (the executor's pack
  // step starts one), and the ratio shows that cost rather than hiding it.
  const t = await inDev(
    'sh',
    '-c',
    's=$(date +%s.%N); mksquashfs "$@" >/dev/null; e=$(date +%s.%N); echo "$s $e"',
    'raw',
    join(work, 'tree/cnt'),
    rawSqf,
    ...flags,
  );
  const [s, e] = t.stdout.trim().split('\n').pop().split(' ').map(Number);
  raw.push(e - s);
}
const ourBytes = manifest().bytes;
const rawBytes = statSync(rawSqf).size;
console.log(
  `pack ${overlay}: ours ${median(ours).toFixed(1)} s (${(ourBytes / 1e6).toFixed(1)} MB), raw mksquashfs ${median(raw).toFixed(1)} s (${(rawBytes / 1e6).toFixed(1)} MB)`,
);
console.log(
  `pack ${overlay}: ours / raw = ${(median(ours) / median(raw)).toFixed(2)}, ours - raw = ${(median(ours) - median(raw)).toFixed(2)} s (the pack step's container start; median of ${runs}; flags ${flags.join(' ')})`,
);

// The chain: cold rebuilds both overlays, in their #DEP order (the base SIF and the dev container are left out of the
// run, not rebuilt), cached restores them.
const chain = ['run-many', '-t', 'overlay', '--projects', `htslib-1.16,${chainEnd}`];
const cold = await timed(() => nx(...chain, '--skip-nx-cache', '--exclude-task-dependencies'));
const cached = [];
for (let i = 0; i < runs; i++) cached.push(await timed(() => nx(...chain)));
console.log(
  `chain htslib → samtools: cold ${cold.toFixed(1)} s, cached ${median(cached).toFixed(1)} s (median of ${runs}), cold / cached = ${(cold / median(cached)).toFixed(1)}`,
);
rmSync(work, { recursive: true, force: true });

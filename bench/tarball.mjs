#!/usr/bin/env zx
// tarball target benchmark: a cold build (source already in the source cache, everything else from scratch:
// toolchain, build dependencies, configure, make, relocation, bundling, packing) and a cached run (Nx restores the
// product from its cache), printed next to slurm-factory's published times (first build 45-90 min, cached 5-15 min,
// both with Spack, which also compiles the dependencies that Debian's packages give us). Asserts nothing. The cold
// run takes ~5 min on 2 cores.
//   npm run bench:tarball                    # slurm, trixie
//   BENCH_PROJECT=slurm BENCH_SUITE=bookworm npm run bench:tarball
import { $ } from 'zx';
import { env, nxBin, root, timed } from './lib.mjs';

$.verbose = false;
const project = process.env.BENCH_PROJECT ?? 'slurm';
const suite = process.env.BENCH_SUITE ?? 'trixie';

// Dependencies (fetch, the suite's image) first, so both timings are the tarball task alone.
await $({ cwd: root, env })`${nxBin} run ${project}:fetch --output-style=static`;
await $({ cwd: root, env })`${nxBin} run debian-${suite}:image --output-style=static`;
const cold = await timed(
  () => $({ cwd: root, env })`${nxBin} run ${project}:tarball --suite=${suite} --skip-nx-cache --exclude-task-dependencies --output-style=static`,
);
// With its dependencies in the graph (all cache hits): --exclude-task-dependencies changes the task's hash.
const cached = await timed(() => $({ cwd: root, env })`${nxBin} run ${project}:tarball --suite=${suite} --output-style=static`);
const min = (s) => `${(s / 60).toFixed(1)} min`;
console.log(`tarball (${project}, ${suite}): cold ${min(cold)} (${cold.toFixed(0)} s), cached ${cached.toFixed(1)} s`);
console.log(
  `slurm-factory (published, Spack builds the dependencies too): first build 45-90 min, cached 5-15 min; ` +
    `ours cold is ${((45 * 60) / cold).toFixed(0)}-${((90 * 60) / cold).toFixed(0)}x shorter, cached ${((5 * 60) / cached).toFixed(0)}-${((15 * 60) / cached).toFixed(0)}x`,
);

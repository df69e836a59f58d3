#!/usr/bin/env zx
// VM image benchmark: for each Packer image, a cold build of its `image` target (dependencies already built, so the
// time is that image alone) and a cached run (Nx restores the qcow2), next to the raw tool in the same run: the
// `packer build` time Packer itself reports in the target's log ("Build 'qemu.image' finished after …"). The ratio is
// the target's overhead over raw Packer (staging, validate, digest, renames). Asserts nothing. Under TCG on 2 cores
// the cold builds take a few minutes each.
//   npm run bench:vm                          # cloud-base, hpc-controller, hpc-compute
//   BENCH_IMAGES=cloud-base npm run bench:vm
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { $ } from 'zx';
import { env, nxBin, root, timed } from './lib.mjs';

$.verbose = false;
const images = (process.env.BENCH_IMAGES ?? 'cloud-base,hpc-controller,hpc-compute').split(',');

/** Packer's own wall time for the build, from its last line "finished after 1 minute 46 seconds". */
function packerSeconds(image) {
  const log = readFileSync(join(root, 'tmp/logs', `${image}-image.log`), 'utf8');
  const m = /finished after (?:(\d+) hours? )?(?:(\d+) minutes? )?(?:(\d+) seconds?)?/.exec(
    log
      .split('\n')
      .reverse()
      .find((l) => l.includes('finished after')) ?? '',
  );
  return m ? Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0) : NaN;
}

for (const image of images) {
  await $({ cwd: root, env })`${nxBin} run ${image}:image --output-style=static`;
  const cold = await timed(() => $({ cwd: root, env })`${nxBin} run ${image}:image --skip-nx-cache --exclude-task-dependencies --output-style=static`);
  const raw = packerSeconds(image);
  const cached = await timed(() => $({ cwd: root, env })`${nxBin} run ${image}:image --output-style=static`);
  console.log(`${image}: cold ${cold.toFixed(0)} s (raw packer build ${raw} s, ratio ${(cold / raw).toFixed(2)}), cached ${cached.toFixed(1)} s`);
}

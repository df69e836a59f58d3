#!/usr/bin/env zx
// SIF conversion benchmark: our `sif` target against `apptainer build x.sif docker-daemon://<image>` with Apptainer's
// default flags, on the same image in the same run, both in the same dev container. Prints medians and the ratio;
// asserts nothing. A third variant (our target forced to gzip) splits the gain between the archive path and the
// compression choice.
//   npm run bench:sif                      # openmpi, 2 runs each
//   BENCH_PROJECT=python-science BENCH_RUNS=3 npm run bench:sif
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { $ } from 'zx';
import { env, nxBin, root, timed } from './lib.mjs';

$.verbose = false;
const project = process.env.BENCH_PROJECT ?? 'openmpi';
const runs = Number(process.env.BENCH_RUNS ?? 2);
const dist = join(root, 'dist/containers', project);
const rawSif = join(root, 'tmp/bench-raw.sif');
mkdirSync(dirname(rawSif), { recursive: true });

// The image archive and the dev container must exist; then put the image in the daemon for docker-daemon://.
await $({ cwd: root, env })`${nxBin} run ${project}:image --output-style=static`;
await $({ cwd: root, env })`${nxBin} run dev-container:image --output-style=static`;
const manifest = JSON.parse(readFileSync(join(dist, 'image.json'), 'utf8'));
const inDaemon = (await $({ nothrow: true })`docker image inspect --format {{.Id}} ${manifest.id}`).exitCode === 0;
if (!inDaemon) await $`docker load -i ${join(dist, 'image.tar')}`;
// The archive is saved by image ID, without tags: point the tag at it, as ensureImage does.
await $`docker tag ${manifest.id} ${manifest.tags[0]}`;

const variants = {
  ours: () => $({ cwd: root, env })`${nxBin} run ${project}:sif --skip-nx-cache --exclude-task-dependencies --output-style=static`,
  'ours, gzip': () => $({ cwd: root, env })`${nxBin} run ${project}:sif --compression=gzip --skip-nx-cache --exclude-task-dependencies --output-style=static`,
  raw: async () => {
    rmSync(rawSif, { force: true });
    await $({ cwd: root })`${join(root, 'tools/run-in-dev-container')} --docker --no-build -- apptainer build ${rawSif} docker-daemon://${manifest.tags[0]}`;
  },
};
const sizes = {};
const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (let i = 0; i < runs; i++) {
  // Interleaved, so a slow moment of the machine hits every variant alike.
  for (const [name, run] of Object.entries(variants)) {
    times[name].push(await timed(run));
    const file = name === 'raw' ? rawSif : join(dist, `${project}.sif`);
    sizes[name] = existsSync(file) ? statSync(file).size : NaN;
  }
}
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
const image = `${project} (${(manifest.archiveBytes / 1e6).toFixed(0)} MB archive)`;
for (const name of Object.keys(variants)) {
  console.log(`${name.padEnd(11)} ${m[name].toFixed(1).padStart(6)} s  ${(sizes[name] / 1e6).toFixed(0).padStart(4)} MB SIF`);
}
console.log(
  `${image}: raw docker-daemon:// / ours = ${(m.raw / m.ours).toFixed(2)}x (median of ${runs}); ` +
    `archive path alone (gzip both) = ${(m.raw / m['ours, gzip']).toFixed(2)}x`,
);
// Leave the workspace's product as the cached target made it.
rmSync(rawSif, { force: true });
await $({ cwd: root, env })`${nxBin} run ${project}:sif --output-style=static`;

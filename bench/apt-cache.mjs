#!/usr/bin/env zx
// apt cache benchmark (issue 17's acceptance line): the dev container's image rebuilt cold (no Nx cache, and its image
// and build layers removed from the engine first) three times: through the apt cache while it fills, without it
// (PHAROS_APT_PROXY=off), and through it warm. Prints each time, the ratio of the run without the cache to the warm
// run, and what apt-cacher-ng fetched from the mirror and served in each run (its apt-cacher.log). Asserts nothing.
// Needs the Docker engine and the apt cache (npm run setup); three full dev container builds, ~15-30 min on 2 cores.
//   npm run bench:apt-cache
//   BENCH_PROJECT=base-tools npm run bench:apt-cache          # another image
//   BENCH_APT_LOG=/var/log/apt-cacher-ng/apt-cacher.log …     # a cache other than the one setup starts
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import { env, nxBin, root, timed } from './lib.mjs';

$.verbose = false;
const project = process.env.BENCH_PROJECT ?? 'dev-container';
const proxy = process.env.PHAROS_APT_PROXY && process.env.PHAROS_APT_PROXY !== 'off' ? process.env.PHAROS_APT_PROXY : 'http://127.0.0.1:3142';
const log = process.env.BENCH_APT_LOG ?? join(homedir(), '.cache/pharos/apt-cacher-ng/log/apt-cacher.log');
if (!existsSync(log)) {
  console.error(`bench: no apt-cacher-ng log at ${log}; run npm run setup (or set BENCH_APT_LOG)`);
  process.exit(1);
}

const nx = (args, extra = {}) => $({ cwd: root, env: { ...env, ...extra } })`${nxBin} ${args} --output-style=static`;
const projectRoot = JSON.parse((await nx(['show', 'project', project, '--json'])).stdout).root;
const manifest = join(root, 'dist', projectRoot, 'image.json');

// The images it builds on, once, so that every timed run is this image's build alone.
await nx(['run', `${project}:image`]);

/** The image and the layers only it uses gone from the engine, so the builder finds no cache for any step. */
async function removeImage() {
  if (!existsSync(manifest)) return;
  const { id } = JSON.parse(readFileSync(manifest, 'utf8'));
  await $`docker image rm --force ${id}`.nothrow();
}

/** What apt-cacher-ng logged since `offset`: bytes fetched from the mirror (I) and served (O). */
function transfers(offset) {
  const text = readFileSync(log).subarray(offset).toString();
  const sum = (kind) => text.split('\n').reduce((n, line) => (line.split('|')[1] === kind ? n + Number(line.split('|')[2]) : n), 0);
  return { fetched: sum('I'), served: sum('O') };
}

async function coldBuild(aptProxy) {
  await removeImage();
  const offset = statSync(log).size;
  const seconds = await timed(() => nx(['run', `${project}:image`, '--skip-nx-cache', '--exclude-task-dependencies'], { PHAROS_APT_PROXY: aptProxy }));
  return { seconds, ...transfers(offset) };
}

const fill = await coldBuild(proxy);
const none = await coldBuild('off');
const warm = await coldBuild(proxy);
const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
const seconds = (r) => `${r.seconds.toFixed(0).padStart(5)} s`;
console.log(`apt cache, ${project} rebuilt cold (no Nx cache, no layer cache):`);
console.log(`  through the cache, filling ${seconds(fill)}   from the mirror ${mb(fill.fetched)}, served ${mb(fill.served)}`);
// Without the cache nothing logs the bytes: apt fetched from the mirror what the warm run was served.
console.log(`  without the cache          ${seconds(none)}   from the mirror ~${mb(warm.served)} (what apt was served warm)`);
console.log(`  through the cache, warm    ${seconds(warm)}   from the mirror ${mb(warm.fetched)}, served ${mb(warm.served)}`);
console.log(`  without / warm: ${(none.seconds / warm.seconds).toFixed(2)}x`);

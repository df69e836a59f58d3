#!/usr/bin/env zx
// deb target benchmark: our `deb` target (through nx: fetch check, container, toolchain, build-deps, dpkg-buildpackage,
// manifest) against the same steps typed by hand in a plain `docker run` of the same debian:<suite> image, in the
// same run. Prints both times and the ratio (goal: ≤ 1.10); asserts nothing. One run each: a Slurm build is ~10 min.
//   npm run bench:deb                         # slurm, trixie
//   BENCH_PROJECT=slurm BENCH_SUITE=bookworm npm run bench:deb
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import { env, nxBin, root, timed } from './lib.mjs';

$.verbose = false;
const project = process.env.BENCH_PROJECT ?? 'slurm';
const suite = process.env.BENCH_SUITE ?? 'trixie';

// Source in the cache and the suite's image in the daemon, for both variants alike.
await $({ cwd: root, env })`${nxBin} run ${project}:fetch --output-style=static`;
await $({ cwd: root, env })`${nxBin} run debian-${suite}:image --output-style=static`;
const base = JSON.parse(readFileSync(join(root, `dist/containers/debian-${suite}/image.json`), 'utf8'));
const inDaemon = (await $({ nothrow: true })`docker image inspect --format {{.Id}} ${base.id}`).exitCode === 0;
if (!inDaemon) await $`docker load -i ${join(root, `dist/containers/debian-${suite}/image.tar`)}`;
const config = JSON.parse((await $({ cwd: root, env })`${nxBin} show project ${project} --json`).stdout);
const source = JSON.parse(readFileSync(join(root, 'dist', config.root, config.targets.fetch.options.release, 'source.json'), 'utf8'));
const cacheDir = process.env.PHAROS_CACHE_DIR || join(process.env.HOME, '.cache/pharos');
const tarball = join(cacheDir, 'sources', source.file);

const ours = await timed(() => $({ cwd: root, env })`${nxBin} run ${project}:deb-${suite} --skip-nx-cache --exclude-task-dependencies --output-style=static`);
const out = mkdtempSync(join(tmpdir(), 'bench-deb-'));
const raw = await timed(
  () =>
    $`docker run --rm --init -v ${tarball}:/src/${source.file}:ro -v ${out}:/out ${base.id} sh -c ${`set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -q && apt-get install -y -q --no-install-recommends build-essential devscripts equivs fakeroot
mkdir -p /build && tar -C /build -xf /src/${source.file} && cd /build/*/
apt-get build-dep -y -q ./
dpkg-buildpackage -us -uc -b -j$(nproc)
cp ../*.deb /out/`}`,
);
rmSync(out, { recursive: true, force: true });
console.log(`ours ${ours.toFixed(0)} s, raw dpkg-buildpackage ${raw.toFixed(0)} s, ratio ${(ours / raw).toFixed(3)} (${project} ${source.file}, ${suite})`);
// Leave the workspace's product as the cached target made it.
await $({ cwd: root, env })`${nxBin} run ${project}:deb-${suite} --output-style=static`;

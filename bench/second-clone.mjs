#!/usr/bin/env zx
// Team benchmark: a second clone's whole pipeline from the team's stores, against the cold build that filled them,
// in one run. Two clones of this repository's HEAD in a scratch folder, each with its own Nx cache and its own
// content-addressed store (PHAROS_STORE), sharing only what host setup starts on loopback: the shared Nx cache
// (127.0.0.1:7420) and the team store (the registry, read-write door 7422, read-only door 7421).
//   A (CI): the pipeline from nothing, with the read-write token and credentials and PHAROS_REGISTRY_PUSH=1.
//   B (a laptop): the pipeline with the read-only ones. Every task must be a remote cache hit (it fails otherwise).
// Then B's consumers run for real (`--skip-nx-cache --exclude-task-dependencies`), after the images A left in the
// Docker daemon are removed, so they read only blobs B fetched by digest: a SIF test, a deb verify and a VM cluster
// verify. Prints the times and the ratio; asserts only that B's pipeline ran no task and its consumers pass.
//   npm run bench:team                                   # about 90 min under TCG on 2 cores; A dominates
//   BENCH_PRODUCER=<workspace> npm run bench:team        # no A: <workspace> already ran the pipeline with pushing on
//   BENCH_CONSUMERS=base-tools:test npm run bench:team   # fewer consumers
// A is cold for Nx, the stores and Docker's layer cache (its bootstrapped base images are new, so no layer matches),
// not for downloads: the source cache (PHAROS_CACHE_DIR) is the host's.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import { env, nxTasks, root, timed } from './lib.mjs';

$.verbose = false;
const config = join(homedir(), '.config/pharos');
const consumers = (process.env.BENCH_CONSUMERS ?? 'base-tools:test,slurm:verify-deb-bookworm,hpc-compute:verify').split(',');
const scratch = mkdtempSync(join(tmpdir(), 'pharos-bench-team-'));

for (const f of ['nx-remote-cache/read-token', 'nx-remote-cache/write-token', 'registry/auth.json', 'registry/auth-write.json']) {
  if (!existsSync(join(config, f))) throw new Error(`${join(config, f)} is missing: run host setup first (npx zx tools/setup-host.mjs)`);
}
const token = (which) => readFileSync(join(config, `nx-remote-cache/${which}-token`), 'utf8').trim();
const base = { ...env, NX_SELF_HOSTED_REMOTE_CACHE_SERVER: 'http://127.0.0.1:7420' };
const ciEnv = (store) => ({
  ...base,
  NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: token('write'),
  PHAROS_REGISTRY: '127.0.0.1:7422',
  PHAROS_REGISTRY_AUTH_FILE: join(config, 'registry/auth-write.json'),
  PHAROS_REGISTRY_PUSH: '1',
  PHAROS_STORE: store,
});
const laptopEnv = (store) => ({
  ...base,
  NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: token('read'),
  PHAROS_REGISTRY: '127.0.0.1:7421',
  PHAROS_REGISTRY_AUTH_FILE: join(config, 'registry/auth.json'),
  PHAROS_REGISTRY_PUSH: '',
  PHAROS_STORE: store,
});

/** A clone of HEAD (the producer's, when given, so both run the same commit) whose node_modules links to this one's, except the plugin, which is the clone's own source. */
async function clone(name) {
  const dir = join(scratch, name);
  await $`git clone --quiet --no-hardlinks ${process.env.BENCH_PRODUCER ?? root} ${dir}`;
  mkdirSync(join(dir, 'node_modules/@pharos'), { recursive: true });
  for (const e of readdirSync(join(root, 'node_modules')).filter((e) => e !== '@pharos'))
    symlinkSync(join(root, 'node_modules', e), join(dir, 'node_modules', e));
  symlinkSync(join(dir, 'packages/nx-pharos'), join(dir, 'node_modules/@pharos/nx-plugin'));
  return dir;
}

const blobsIn = (store) =>
  existsSync(join(store, 'sha256')) ? readdirSync(join(store, 'sha256'), { recursive: true }).filter((p) => /^[0-9a-f]{2}\/[0-9a-f]{64}$/.test(p)) : [];
const pipeline = (cwd, env) => $({ cwd, env, nothrow: true })`node_modules/.bin/zx tools/pipeline.mjs --output-style=static`;
const imageIds = (ws) =>
  $({ cwd: ws, nothrow: true })`find dist -name image.json`.then((r) =>
    r.stdout
      .split('\n')
      .filter(Boolean)
      .map((f) => JSON.parse(readFileSync(join(ws, f), 'utf8')).id),
  );

try {
  let cold;
  if (!process.env.BENCH_PRODUCER) {
    const a = await clone('a');
    let run;
    cold = await timed(async () => (run = await pipeline(a, ciEnv(join(scratch, 'store-a')))));
    if (run.exitCode !== 0) throw new Error(`clone A's pipeline failed (exit ${run.exitCode}):\n${(run.stdout + run.stderr).slice(-4000)}`);
    console.log(`A (CI, cold): pipeline in ${cold.toFixed(0)} s, ${nxTasks(run.stdout).ran.length} tasks ran`);
  }
  const b = await clone('b');
  let run;
  const warm = await timed(async () => (run = await pipeline(b, laptopEnv(join(scratch, 'store-b')))));
  const tasks = nxTasks(run.stdout);
  if (run.exitCode !== 0) throw new Error(`clone B's pipeline failed (exit ${run.exitCode}):\n${(run.stdout + run.stderr).slice(-4000)}`);
  // An nx:noop task (a project's `build` over its steps) does no work; a producer that restored it from its own
  // cache never uploaded it, and a laptop just runs it.
  const worked = [];
  for (const t of tasks.ran) {
    const [project, target] = t.split(':');
    const shown = await $({ cwd: b, env: laptopEnv(join(scratch, 'store-b')) })`node_modules/.bin/nx show project ${project} --json`;
    if (JSON.parse(shown.stdout).targets?.[target]?.executor !== 'nx:noop') worked.push(t);
  }
  if (worked.length) throw new Error(`clone B ran ${worked.length} task(s) instead of restoring them: ${worked.join(', ')}`);
  const fetched = blobsIn(join(scratch, 'store-b'));
  console.log(
    `B (laptop, team cache): pipeline in ${warm.toFixed(1)} s, ${tasks.all.length - tasks.ran.length} of the ${tasks.all.length} tasks printed were cache hits, and the rest nx:noop; ${fetched.length} blobs in its store`,
  );
  if (cold) console.log(`ratio: cold ${cold.toFixed(0)} s / second clone ${warm.toFixed(1)} s = ${(cold / warm).toFixed(1)}x`);

  // What a machine that never built them has: none of these images in its Docker daemon.
  // A child image keeps its parent (409), so a few passes, until none is left or none goes.
  let ids = [...new Set(await imageIds(b))];
  for (let pass = 0; pass < 5 && ids.length; pass++) {
    await $({ nothrow: true })`docker rmi --force ${ids}`;
    ids = (await Promise.all(ids.map(async (id) => ((await $({ nothrow: true })`docker image inspect ${id}`).exitCode === 0 ? id : '')))).filter(Boolean);
  }
  if (ids.length) console.log(`note: ${ids.length} image(s) stayed in the daemon (used by something else): ${ids.join(' ')}`);
  for (const c of consumers) {
    let r;
    const s = await timed(
      async () =>
        (r = await $({
          cwd: b,
          env: laptopEnv(join(scratch, 'store-b')),
          nothrow: true,
        })`node_modules/.bin/nx run ${c} --skip-nx-cache --exclude-task-dependencies --output-style=static`),
    );
    if (r.exitCode !== 0) throw new Error(`clone B: ${c} failed (exit ${r.exitCode}):\n${(r.stdout + r.stderr).slice(-4000)}`);
    console.log(`B: ${c} passed in ${s.toFixed(0)} s, on blobs fetched by digest (${blobsIn(join(scratch, 'store-b')).length} blobs in its store now)`);
  }
} finally {
  if (!process.env.BENCH_KEEP) rmSync(scratch, { recursive: true, force: true });
  else console.log(`kept ${scratch}`);
}

import { execa, type ResultPromise } from 'execa';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageDir, imageManifestPath, type ImageManifest } from '../src/products/image';
import { sifFileNames, type SifManifest } from '../src/products/sif';
import { OWNER_LABEL, workspaceId } from '../src/tools/container-owner';
import { archivedImageId, consistentImageProduct, copyWorkspace, docker, filesIn, nx, removeDir, sha256sum, startNx } from './harness';
import { pidIsAlive } from '../src/utils/pid';

/**
 * Issue 13's acceptance through the real Nx CLI and Docker engine: a hanging check stops at its limit and names
 * itself; a kill -9 of a run (what a CI job timeout does) leaves its check container, and the next run removes it;
 * two runs of one target at once end with one consistent product, five times in a row.
 *
 * One workspace copy with a tiny container of its own (FROM the cached debian:trixie, one RUN), so a build takes
 * seconds. Every trial runs with --exclude-task-dependencies: --skip-nx-cache would otherwise rebuild the base image and
 * the dev container too, and two runs of those would be what the trial measures.
 */

const NAME = 'hardening-probe';
const ROOT = `containers/${NAME}`;
const TEST_TASK = `${NAME}:test`;

type Nx = ResultPromise<{ all: true; reject: false; detached: true; stdin: 'ignore' }>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `root`, every process of its group and every descendant, as `ps` sees them now. */
async function processTree(root: number): Promise<number[]> {
  const { stdout } = await execa('ps', ['-e', '-o', 'pid=,ppid=,pgid=']);
  const rows = stdout
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number));
  const tree = new Set([root, ...rows.filter(([, , pgid]) => pgid === root).map(([pid]) => pid)]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of rows) {
      if (tree.has(ppid) && !tree.has(pid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  return [...tree];
}

/**
 * kill -9 of a whole run, as a CI job timeout does it: Nx runs each executor in a forked process, so killing Nx alone
 * would leave the executor running. The tree is read first (a killed parent's children lose their parent id).
 */
async function killRun(root: number): Promise<number[]> {
  const tree = await processTree(root);
  const kill = (pid: number) => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  kill(-root);
  tree.forEach(kill);
  return tree;
}

describe('hardening: a hung check, a killed run and two runs of one target', () => {
  let ws: string;
  let wsId: string;
  const started: Nx[] = [];
  const dist = () => join(ws, imageDir(ROOT));
  const containerYaml = (check: string) => writeFileSync(join(ws, ROOT, 'container.yaml'), `test:\n  runtimes: [docker]\n  checks:\n${check}`);
  /** nx in its own process group, killed (kill -9 of its tree) if it runs longer than `limitMs`, and in afterAll. */
  const run = (args: string[], limitMs = 5 * 60_000) => {
    const child = startNx(args, ws) as Nx;
    started.push(child);
    const timer = setTimeout(() => void killRun(child.pid as number), limitMs);
    void child.finally(() => clearTimeout(timer));
    return child;
  };
  const ownContainers = async (task?: string) =>
    docker.listContainers({
      all: true,
      filters: { label: [`${OWNER_LABEL.workspace}=${wsId}`, ...(task ? [`${OWNER_LABEL.task}=${task}`] : [])] },
    });

  beforeAll(async () => {
    ws = copyWorkspace();
    wsId = workspaceId(realpathSync(ws));
    mkdirSync(join(ws, ROOT), { recursive: true });
    // STAMP lets two concurrent builds make two different images, so a mixed product would show.
    writeFileSync(join(ws, ROOT, 'Dockerfile'), 'FROM debian:trixie\nARG STAMP=none\nRUN echo "$STAMP" > /etc/pharos-stamp\n');
    containerYaml('    - name: says hello\n      command: echo hello\n      expectOutput: hello\n');
    // The image and its SIF once, and the base images restored, before any trial races on them.
    const warm = await nx(['run', `${NAME}:sif`], ws);
    expect(warm.exitCode, warm.output.slice(-3000)).toBe(0);
  }, 15 * 60_000);

  afterAll(async () => {
    for (const child of started) {
      if (child.exitCode === null && child.pid) await killRun(child.pid);
      await child.catch(() => undefined);
    }
    if (wsId)
      for (const c of await ownContainers())
        await docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined);
    const images = await docker.listImages({ all: true, filters: { label: [`org.pharos.project=${NAME}`] } }).catch(() => []);
    for (const image of images)
      await docker
        .getImage(image.Id)
        .remove({ force: true })
        .catch(() => undefined);
    if (ws) removeDir(ws);
  });

  it(
    'stops a hanging check at its timeout, names it, and leaves no container',
    async () => {
      containerYaml('    - name: hangs forever\n      command: sleep 100000\n      timeout: 3s\n');
      const began = Date.now();
      const r = await run(['run', TEST_TASK], 120_000);
      const seconds = (Date.now() - began) / 1000;
      const output = r.all ?? '';
      expect(r.signal, `nx run ${TEST_TASK} was still running after 120 s:\n${output.slice(-3000)}`).toBeUndefined();
      expect(r.exitCode, output.slice(-3000)).not.toBe(0);
      expect(output).toContain('pharos: check "hangs forever" did not finish within 3s; its container was stopped and removed');
      expect(output).toContain('raise its limit: set "timeout:" on the check in containers/hardening-probe/container.yaml (now 3s');
      expect(seconds, `nx run ${TEST_TASK} took ${seconds} s`).toBeLessThan(60);
      expect(await ownContainers()).toEqual([]);
    },
    3 * 60_000,
  );

  it(
    'leaves a running check behind after a kill -9 of the run, and the next run removes it',
    async () => {
      containerYaml('    - name: sleeps ten minutes\n      command: sleep 600\n      timeout: 15m\n');
      const child = run(['run', TEST_TASK]);
      let output = '';
      child.all?.on('data', (d: Buffer) => (output += d.toString()));
      const deadline = Date.now() + 120_000;
      let check = (await ownContainers(TEST_TASK)).find((c) => c.State === 'running');
      while (!check && Date.now() < deadline && child.exitCode === null) {
        await sleep(500);
        check = (await ownContainers(TEST_TASK)).find((c) => c.State === 'running');
      }
      expect(check, `no running check container of ${TEST_TASK}:\n${output.slice(-3000)}`).toBeDefined();
      const orphan = check as NonNullable<typeof check>;
      const owner = Number(orphan.Labels[OWNER_LABEL.pid]);

      const killed = await killRun(child.pid as number);
      await child.catch(() => undefined);
      expect(killed).toContain(owner); // the executor's forked process was part of the run
      for (const until = Date.now() + 10_000; killed.some(pidIsAlive) && Date.now() < until;) await sleep(200);
      expect(killed.filter(pidIsAlive)).toEqual([]);
      // A kill -9 runs no cleanup: the check container outlives its run. This is what the next run must notice.
      expect((await docker.getContainer(orphan.Id).inspect()).State.Running).toBe(true);

      containerYaml('    - name: says hello\n      command: echo hello\n      expectOutput: hello\n');
      const next = await nx(['run', TEST_TASK], ws);
      expect(next.exitCode, next.output.slice(-3000)).toBe(0);
      const name = orphan.Names[0].replace(/^\//, '');
      expect(next.output).toContain(
        `pharos: removed container ${name} (${orphan.Id.slice(0, 12)}), left behind by ${TEST_TASK} whose run (pid ${owner}) has ended`,
      );
      await expect(docker.getContainer(orphan.Id).inspect()).rejects.toMatchObject({ statusCode: 404 });
      expect(await ownContainers()).toEqual([]);
    },
    5 * 60_000,
  );

  /** Two runs of `args` at once; both outputs, and whether one of them waited for `lock`. */
  async function concurrently(args: [string[], string[]], lock: string, task: string) {
    const runs = await Promise.all(args.map((a) => run(a)));
    const outputs = runs.map((r) => r.all ?? '');
    runs.forEach((r, i) => expect(r.exitCode, `run ${i + 1} of nx ${args[i].join(' ')}:\n${outputs[i].slice(-3000)}`).toBe(0));
    expect(filesIn(dist()).filter((f) => f.endsWith('.lock'))).toEqual([]);
    // Held by the other run's task, or by that Nx run after its task succeeded, until it has cached the outputs.
    const held = new RegExp(`pharos: waiting for ${imageDir(ROOT)}/${lock}: held by nx-(task ${task}|run ${task}, storing its outputs in the Nx cache) \\(pid`);
    return { outputs, waited: outputs.some((o) => held.test(o)) };
  }

  /** The product is consistent (harness), and the tag names it when this run tagged it. */
  async function consistentImage(tagged = true): Promise<ImageManifest> {
    const manifest = await consistentImageProduct(ws, ROOT);
    // A product restored from the Nx cache is tagged by its consumer (ensureImage), not by the restore.
    if (tagged) expect((await docker.getImage(`pharos/${NAME}:latest`).inspect()).Id).toBe(manifest.id);
    return manifest;
  }

  /** The build argument an image was made with, from its history (`|1 STAMP=… /bin/sh -c …`). */
  async function stampOf(id: string): Promise<string | undefined> {
    const history = (await docker.getImage(id).history()) as Array<{ CreatedBy: string }>;
    return history.map((h) => /STAMP=(\S+)/.exec(h.CreatedBy)?.[1]).find(Boolean);
  }

  it(
    'ends two concurrent image runs with one consistent image, five times',
    async () => {
      let waits = 0;
      for (let trial = 1; trial <= 5; trial++) {
        const stamps = [`t${trial}-a-${Date.now()}`, `t${trial}-b-${Date.now()}`];
        const args = stamps.map((s) => ['run', `${NAME}:image`, '--skip-nx-cache', '--exclude-task-dependencies', `--buildArgs.STAMP=${s}`]);
        const { waited } = await concurrently(args as [string[], string[]], 'image.tar.lock', `${NAME}:image`);
        if (waited) waits++;
        const manifest = await consistentImage();
        // The product is one of the two runs' images, whole: not an older one, not a blend.
        expect(stamps).toContain(await stampOf(manifest.id));
      }
      // Had the runs never overlapped, the trials would have tested nothing.
      expect(waits, 'no trial had one run wait for the other').toBeGreaterThan(0);
    },
    10 * 60_000,
  );

  // Nx copies a task's outputs into its cache after the task ends, when the other run may be waiting to rewrite them:
  // each run's cache entry must still be its own product, whole. So the lock passes from the task to its Nx run, which
  // ends it in its post-tasks hook. --skip-nx-cache writes no cache entry, so this trial is two cache misses (fresh
  // build arguments) instead. Before the hand-over this failed 2 of 7 attempts on a loaded machine.
  it(
    'keeps each of two concurrent runs its own product in the Nx cache',
    async () => {
      const stamps = [`cache-a-${Date.now()}`, `cache-b-${Date.now()}`];
      const runOf = (stamp: string) => ['run', `${NAME}:image`, '--exclude-task-dependencies', `--buildArgs.STAMP=${stamp}`];
      await concurrently([runOf(stamps[0]), runOf(stamps[1])], 'image.tar.lock', `${NAME}:image`);
      expect(stamps).toContain(await stampOf((await consistentImage()).id));
      for (const stamp of stamps) {
        const r = await nx(runOf(stamp), ws);
        expect(r.exitCode, r.output.slice(-3000)).toBe(0);
        expect(r.tasks.get(`${NAME}:image`), r.output.slice(-3000)).toBe('cache');
        // Which run's image each file holds, so a mixed entry shows whose halves it has.
        const manifest = JSON.parse(readFileSync(join(ws, imageManifestPath(ROOT)), 'utf8')) as ImageManifest;
        const restored = { 'image.json': await stampOf(manifest.id), 'image.tar': await stampOf(await archivedImageId(join(dist(), manifest.archive))) };
        expect(restored, `the product of STAMP=${stamp} from the cache:\n${r.output.slice(-1500)}`).toEqual({ 'image.json': stamp, 'image.tar': stamp });
        await consistentImage(false);
      }
      // The Nx runs ended their locks in their post hook: no lock, and no list of handed-over locks, is left.
      expect(filesIn(dist()).filter((f) => f.endsWith('.lock'))).toEqual([]);
      expect(existsSync(join(ws, 'tmp/pharos/nx-runs')) ? readdirSync(join(ws, 'tmp/pharos/nx-runs')) : []).toEqual([]);
    },
    5 * 60_000,
  );

  it(
    'ends two concurrent SIF runs with a SIF whose manifest names the image of image.json, twice',
    async () => {
      // Two trials, not five: each is two SIF conversions one after the other (the lock), about a minute.
      let waits = 0;
      const files = sifFileNames(NAME);
      for (let trial = 1; trial <= 2; trial++) {
        const args = ['run', `${NAME}:sif`, '--skip-nx-cache', '--exclude-task-dependencies'];
        const { waited } = await concurrently([args, args], `${files.sif}.lock`, `${NAME}:sif`);
        if (waited) waits++;
        const image = await consistentImage(false); // a SIF run reads the archive and leaves the tag alone
        const sif = JSON.parse(readFileSync(join(dist(), files.manifest), 'utf8')) as SifManifest;
        expect(sif.image).toEqual({ id: image.id, archiveSha256: image.archiveSha256 });
        expect(await sha256sum(join(dist(), sif.sif))).toBe(sif.sha256);
        expect(statSync(join(dist(), sif.sif)).size).toBe(sif.bytes);
        expect(existsSync(join(dist(), files.publicKey))).toBe(false);
      }
      expect(waits, 'no trial had one run wait for the other').toBeGreaterThan(0);
    },
    10 * 60_000,
  );
});

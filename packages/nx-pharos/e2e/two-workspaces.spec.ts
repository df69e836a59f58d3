import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageManifestPath, type ImageManifest } from '../src/products/image';
import { runContainerCaptured, tagImage } from '../src/tools/docker';
import { consistentImageProduct, copyWorkspace, docker, nx, removeDir } from './harness';

/**
 * Issue 13, "IDs, not tags": two clones on one machine (or CI runners on one daemon) share every tag, so each one's
 * builds re-point `pharos/<name>:latest` under the other. Two workspace copies each hold a parent image of the same
 * name, with a stamp of their own, and a child FROM its tag; both rebuild parent and child at once, several rounds.
 * Every child must be built on its own workspace's parent, say so in image.json, and every product must be whole.
 *
 * Besides the real concurrent runs, a loop points the shared tag at one workspace's parent, then the other's, every
 * few milliseconds: it stands for the two workspaces' tag writes (each build and each consumer that tags), packed
 * together so that every build's moment of reading a tag, if it still reads one, is hit rather than hit by luck.
 */

const PARENT = 'ids-probe';
const CHILD = 'ids-probe-child';
const PARENT_ROOT = `probes/${PARENT}`;
const CHILD_ROOT = `probes/${CHILD}`;
const SHARED_TAG = `pharos/${PARENT}:latest`;
// Two rounds: with the re-tagging loop, the old tag-reading code failed in 7 of 8 workspace-rounds, and each round costs
// about a minute and a half of `npm test`.
const ROUNDS = 2;

interface Workspace {
  label: string;
  dir: string;
  stamp: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a file in an image holds, read by running the image by ID. */
async function fileIn(imageId: string, file: string): Promise<string> {
  const r = await runContainerCaptured(docker, { image: imageId, cmd: ['cat', file], network: 'none', labels: { 'org.pharos.test': 'two-workspaces' } });
  return r.exitCode === 0 ? r.stdout.trim() : `(cat ${file} exited ${r.exitCode}: ${r.stderr.trim()})`;
}

const layersOf = async (imageId: string) => (await docker.getImage(imageId).inspect()).RootFS.Layers ?? [];

/** Points SHARED_TAG at each of `ids()` in turn until stopped; answers how many times it moved the tag. */
function moveTagInALoop(ids: () => string[]): () => Promise<number> {
  let stopped = false;
  let moves = 0;
  const loop = (async () => {
    while (!stopped) {
      for (const id of ids()) {
        await tagImage(docker, id, SHARED_TAG).then(
          () => moves++,
          () => undefined,
        );
      }
      await sleep(5);
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    return moves;
  };
}

describe('two workspaces on one Docker daemon', () => {
  const workspaces: Workspace[] = [];
  const manifestOf = (w: Workspace, root: string) => JSON.parse(readFileSync(join(w.dir, imageManifestPath(root)), 'utf8')) as ImageManifest;

  beforeAll(async () => {
    for (const label of ['a', 'b']) {
      const w: Workspace = { label, dir: copyWorkspace(), stamp: `workspace-${label}-${process.pid}` };
      workspaces.push(w);
      mkdirSync(join(w.dir, PARENT_ROOT), { recursive: true });
      mkdirSync(join(w.dir, CHILD_ROOT), { recursive: true });
      writeFileSync(join(w.dir, PARENT_ROOT, 'stamp'), `${w.stamp}\n`);
      writeFileSync(join(w.dir, PARENT_ROOT, 'Dockerfile'), 'FROM debian:trixie\nCOPY stamp /etc/pharos-stamp\n');
      writeFileSync(join(w.dir, CHILD_ROOT, 'Dockerfile'), `FROM ${SHARED_TAG}\nRUN cp /etc/pharos-stamp /etc/pharos-child-stamp\n`);
    }
    // One at a time, so the first builds of the shared debian-trixie product (a cache hit in both) do not race.
    for (const w of workspaces) {
      const warm = await nx(['run', `${CHILD}:image`], w.dir);
      expect(warm.exitCode, `workspace ${w.label}:\n${warm.output.slice(-3000)}`).toBe(0);
    }
  }, 20 * 60_000);

  afterAll(async () => {
    for (const project of [CHILD, PARENT]) {
      const images = await docker.listImages({ all: true, filters: { label: [`org.pharos.project=${project}`] } }).catch(() => []);
      for (const image of images)
        await docker
          .getImage(image.Id)
          .remove({ force: true })
          .catch(() => undefined);
    }
    for (const w of workspaces) removeDir(w.dir);
  });

  /** Everything wrong with workspace `w`'s parent and child products, as sentences (none when all is well). */
  async function problemsOf(w: Workspace, round: number): Promise<string[]> {
    const where = `round ${round}, workspace ${w.label}`;
    let parent: ImageManifest;
    let child: ImageManifest;
    try {
      parent = await consistentImageProduct(w.dir, PARENT_ROOT);
      child = await consistentImageProduct(w.dir, CHILD_ROOT);
    } catch (err) {
      return [`${where}: inconsistent product: ${(err as Error).message}`];
    }
    const problems: string[] = [];
    const recorded = child.base.map((b) => b.id);
    if (recorded.join() !== parent.id) problems.push(`${where}: the child's image.json names base ${recorded.join()}, its parent is ${parent.id}`);
    const parentStamp = await fileIn(parent.id, '/etc/pharos-stamp');
    if (parentStamp !== w.stamp) problems.push(`${where}: the parent holds stamp ${parentStamp}, not ${w.stamp}`);
    const childStamp = await fileIn(child.id, '/etc/pharos-child-stamp');
    if (childStamp !== w.stamp) problems.push(`${where}: the child was built on stamp ${childStamp}, not ${w.stamp}`);
    const [parentLayers, childLayers] = await Promise.all([layersOf(parent.id), layersOf(child.id)]);
    if (childLayers.slice(0, parentLayers.length).join() !== parentLayers.join()) problems.push(`${where}: the child's layers do not start with its parent's`);
    return problems;
  }

  it(
    'builds each workspace on its own images while the other rebuilds and re-tags the same names',
    async () => {
      const [a, b] = workspaces;
      const parents = () => [manifestOf(a, PARENT_ROOT).id, manifestOf(b, PARENT_ROOT).id];
      expect(new Set(parents()).size, 'the two workspaces must make different parent images').toBe(2);
      let ids = parents();
      const stopMoving = moveTagInALoop(() => ids);
      const problems: string[] = [];
      try {
        for (let round = 1; round <= ROUNDS; round++) {
          const args = ['run-many', '-t', 'image', '-p', `${PARENT},${CHILD}`, '--skip-nx-cache', '--exclude-task-dependencies'];
          const runs = await Promise.all(workspaces.map((w) => nx(args, w.dir)));
          for (const [i, w] of workspaces.entries()) {
            if (runs[i].exitCode !== 0) {
              problems.push(`round ${round}, workspace ${w.label}: nx failed:\n${runs[i].output.slice(-2000)}`);
              continue;
            }
            problems.push(...(await problemsOf(w, round)));
          }
          // A run that failed left no parent manifest; the loop keeps the IDs it had.
          ids = workspaces.map((w, i) => (existsSync(join(w.dir, imageManifestPath(PARENT_ROOT))) ? manifestOf(w, PARENT_ROOT).id : ids[i]));
        }
      } finally {
        const moves = await stopMoving();
        expect(moves, 'the loop never moved the shared tag').toBeGreaterThan(ROUNDS);
      }
      expect(problems).toEqual([]);
    },
    20 * 60_000,
  );
});

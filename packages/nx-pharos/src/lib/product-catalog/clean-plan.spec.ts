import { describe, expect, it } from 'vitest';
import { recogniseManifest, type ProductEntry } from '../../products/product-manifests';
import { OWNER_LABEL, type ContainerOwner, type LabelledContainer } from '../../tools/container-owner';
import { formatPlan, judgeLock, planClean, type CleanInput, type DaemonImage } from './clean-plan';

const H = (c: string) => c.repeat(64);
function entry(manifest: string, data: object): ProductEntry {
  const e = recogniseManifest(manifest, JSON.stringify({ schema: 1, ...data }));
  if (!e) throw new Error(`not recognised: ${manifest}`);
  return e;
}

const ID = `sha256:${H('a')}`;
const openmpi = entry('dist/containers/openmpi/image.json', {
  project: 'openmpi',
  id: ID,
  tags: ['pharos/openmpi:latest', 'site/openmpi:1'],
  archive: 'image.tar',
  archiveSha256: H('b'),
});
const base = entry('dist/containers/debian-trixie/image.json', {
  project: 'debian-trixie',
  id: `sha256:${H('d')}`,
  tags: ['debian:trixie'],
  archive: 'image.tar',
  archiveSha256: H('e'),
});
const debs = entry('dist/third-party/slurm/24.11.5/trixie/debs.json', { project: 'slurm', version: '24.11.5', suite: 'trixie', debs: [] });

const SELF: ContainerOwner = { workspace: 'ws1', task: 'a run outside Nx', pid: 10, node: 'here' };
const container = (name: string, task: string, pid: number, node = 'here'): LabelledContainer => ({
  id: `${name}-id-0123456789`,
  name,
  labels: { [OWNER_LABEL.workspace]: 'ws1', [OWNER_LABEL.task]: task, [OWNER_LABEL.pid]: String(pid), [OWNER_LABEL.node]: node },
});
const alive = (pid: number) => pid === 500;
const daemon = (over: Partial<DaemonImage> = {}): DaemonImage => ({
  present: true,
  repoTags: ['pharos/openmpi:latest', 'site/openmpi:1'],
  labels: { 'org.pharos.project': 'openmpi' },
  tagIds: { 'pharos/openmpi:latest': ID, 'site/openmpi:1': ID },
  ...over,
});

function input(over: Partial<CleanInput> = {}): CleanInput {
  return {
    scope: [],
    entries: [openmpi, base, debs],
    locks: new Map(),
    containers: [container('dead', 'openmpi:sif', 400), container('live', 'slurm:deb-trixie', 500), container('far', 'openmpi:image', 400, 'there')],
    self: SELF,
    isAlive: alive,
    images: new Map([
      [ID, daemon()],
      [`sha256:${H('d')}`, { present: true, repoTags: ['debian:trixie'], labels: {}, tagIds: { 'debian:trixie': `sha256:${H('d')}` } }],
    ]),
    ...over,
  };
}

describe('judgeLock', () => {
  const lock = (pid: number, node = 'here') =>
    JSON.stringify({ type: 'nx-task slurm:deb-trixie', pid, node, job_id: null, created_at: '2026-11-30T03:00:00Z' });
  it('frees no lock, reclaims an ended run on this node, and never guesses about a live one, another node or garbage', () => {
    expect(judgeLock(undefined, 'here', alive)).toEqual({ state: 'free' });
    expect(judgeLock(lock(400), 'here', alive).state).toBe('ended');
    expect(judgeLock(lock(500), 'here', alive)).toMatchObject({ state: 'held', holder: expect.stringContaining('nx-task slurm:deb-trixie (pid 500 on here') });
    expect(judgeLock(lock(400, 'there'), 'here', alive)).toMatchObject({ state: 'held', holder: expect.stringContaining('on another node') });
    expect(judgeLock('{', 'here', alive)).toMatchObject({ state: 'held', holder: expect.stringContaining('an unreadable lock') });
  });
});

describe('planClean', () => {
  it("removes every product's outputs, the ended runs' containers and the pharos/ tags that still name the manifest's image", () => {
    const plan = planClean(input());
    expect(plan.products.map((p) => p.entry.project)).toEqual(['openmpi', 'debian-trixie', 'slurm']);
    expect(plan.containers.map((c) => c.name)).toEqual(['dead']);
    expect(plan.keptContainers).toEqual([
      { name: 'live', why: 'its run (slurm:deb-trixie, pid 500) is still going' },
      { name: 'far', why: 'started on there, whose runs cannot be checked from here' },
    ]);
    expect(plan.images).toEqual([{ ref: 'pharos/openmpi:latest', project: 'openmpi', id: ID }]);
    expect(plan.keptImages).toEqual([
      { ref: 'site/openmpi:1', why: 'not a pharos/ name: other tools may use it' },
      { ref: 'debian:trixie', why: 'not a pharos/ name: other tools may use it' },
    ]);
  });

  it('keeps a pharos/ tag that a newer build moved to another image, and removes an untagged image of ours by ID', () => {
    const moved = planClean(input({ images: new Map([[ID, daemon({ tagIds: { 'pharos/openmpi:latest': `sha256:${H('f')}` } })]]) }));
    expect(moved.images).toEqual([]);
    expect(moved.keptImages[0]).toEqual({
      ref: 'pharos/openmpi:latest',
      why: `it names another image now (sha256:${'f'.repeat(12)}), not the one dist/containers/openmpi/image.json holds`,
    });
    const untagged = planClean(input({ images: new Map([[ID, daemon({ repoTags: [], tagIds: {} })]]) }));
    expect(untagged.images).toEqual([{ ref: ID, project: 'openmpi', id: ID }]);
    const notOurs = planClean(input({ images: new Map([[ID, daemon({ repoTags: [], tagIds: {}, labels: {} })]]) }));
    expect(notOurs.images).toEqual([]);
  });

  it('cleans only the projects named: their products, containers and images', () => {
    const plan = planClean(input({ scope: ['slurm'] }));
    expect(plan.products.map((p) => p.entry.project)).toEqual(['slurm']);
    expect(plan.containers).toEqual([]);
    expect(plan.keptContainers.map((c) => c.name)).toEqual(['live']);
    expect(plan.images).toEqual([]);
  });

  it('skips a product a live build has locked, with its images, and takes an ended run’s lock along', () => {
    const locks = new Map([
      [openmpi.lock, { state: 'held' as const, holder: 'nx-task openmpi:image (pid 500 on here, since then)' }],
      [debs.lock, { state: 'ended' as const, holder: 'nx-task slurm:deb-trixie (pid 400 on here, since then)' }],
    ]);
    const plan = planClean(input({ locks }));
    expect(plan.lockedProducts.map((p) => p.entry.project)).toEqual(['openmpi']);
    expect(plan.images).toEqual([]);
    const text = formatPlan(plan, true);
    expect(text).toContain('skipping dist/containers/openmpi/image.json: a build holds dist/containers/openmpi/image.tar.lock: nx-task openmpi:image (pid 500');
    expect(text).toContain('would remove dist/third-party/slurm/24.11.5/trixie  (slurm debs)\n');
    expect(text).toContain(
      'would remove dist/third-party/slurm/24.11.5/trixie.lock  (the lock of nx-task slurm:deb-trixie (pid 400 on here, since then), which has ended)\n',
    );
    expect(text).toContain('would remove container dead (dead-id-0123)  (left by openmpi:sif)\n');
    expect(text).toContain('keeping image debian:trixie: not a pharos/ name');
    expect(formatPlan(planClean(input({ entries: [], containers: [], images: new Map() })), false)).toBe('pharos clean: nothing of Pharos to remove\n');
  });
});

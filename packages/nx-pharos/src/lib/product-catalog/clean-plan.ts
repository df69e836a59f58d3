import type { ProductEntry } from '../../products/product-manifests';
import { orphansToReap, OWNER_LABEL, type ContainerOwner, type LabelledContainer } from '../../tools/container-owner';
import { describeHolder, parseHolder } from '../../utils/product-lock';

/**
 * `pharos clean`: what it removes, decided from data alone, so `--dry-run` prints exactly what a real run does. Only
 * what Pharos made: the outputs of products whose manifest is a Pharos manifest, this workspace's containers (by their
 * owner labels) whose run has ended, and the `pharos/` tags the workspace's image manifests name while they still
 * name that image. Store blobs are `pharos store-gc`'s; anything else is never looked at.
 */

/** The projects to clean (none: all), as `pharos clean [project…]` names them. */
export type Scope = readonly string[];

const inScope = (scope: Scope, project: string) => !scope.length || scope.includes(project);

/** What a lock file beside a product says: no build (free), a run that has ended (its lock goes), or a live one. */
export type LockState = { state: 'free' } | { state: 'ended'; holder: string } | { state: 'held'; holder: string };

/** A lock's text judged as product-lock.ts reclaims one: only a holder on this node whose pid is gone has ended. */
export function judgeLock(text: string | undefined, node: string, isAlive: (pid: number) => boolean): LockState {
  if (text === undefined) return { state: 'free' };
  const holder = parseHolder(text);
  if (typeof holder === 'string') return { state: 'held', holder: `an unreadable lock (${holder})` };
  if (holder.node !== node) return { state: 'held', holder: `${describeHolder(holder)}, on another node, which cannot be checked from here` };
  return isAlive(holder.pid) ? { state: 'held', holder: describeHolder(holder) } : { state: 'ended', holder: describeHolder(holder) };
}

/** An image a manifest names, as the daemon has it now. */
export interface DaemonImage {
  /** The manifest's image ID, when the daemon has it. */
  present: boolean;
  /** Its tags now. */
  repoTags: string[];
  labels: Record<string, string>;
  /** What each of the manifest's tags names now (undefined: no such tag). */
  tagIds: Record<string, string | undefined>;
}

/** Pharos names the images it builds `pharos/<project>`; a base image's `debian:<suite>` is a name others use too. */
export const PHAROS_IMAGE_PREFIX = 'pharos/';
const PROJECT_LABEL = 'org.pharos.project';

export interface CleanPlan {
  products: Array<{ entry: ProductEntry; lock: LockState }>;
  lockedProducts: Array<{ entry: ProductEntry; holder: string }>;
  containers: Array<{ id: string; name: string; task: string }>;
  keptContainers: Array<{ name: string; why: string }>;
  /** Tags to remove (`docker image rm <tag>`), or an untagged image by ID. */
  images: Array<{ ref: string; project: string; id: string }>;
  keptImages: Array<{ ref: string; why: string }>;
}

export interface CleanInput {
  scope: Scope;
  entries: readonly ProductEntry[];
  /** By lock path. */
  locks: ReadonlyMap<string, LockState>;
  /** The containers labelled with this workspace. */
  containers: readonly LabelledContainer[];
  self: ContainerOwner;
  isAlive: (pid: number) => boolean;
  /** By image ID of each image manifest in scope. */
  images: ReadonlyMap<string, DaemonImage>;
}

function planImages(entries: readonly ProductEntry[], images: ReadonlyMap<string, DaemonImage>): Pick<CleanPlan, 'images' | 'keptImages'> {
  const plan: Pick<CleanPlan, 'images' | 'keptImages'> = { images: [], keptImages: [] };
  const seen = new Set<string>();
  for (const entry of entries.filter((e) => e.kind === 'image')) {
    const id = String(entry.manifestData.id);
    const tags = (entry.manifestData.tags as string[] | undefined) ?? [];
    const daemon = images.get(id);
    for (const tag of tags) {
      if (seen.has(tag)) continue;
      seen.add(tag);
      const now = daemon?.tagIds[tag];
      if (!now) continue;
      if (!tag.startsWith(PHAROS_IMAGE_PREFIX)) plan.keptImages.push({ ref: tag, why: `not a ${PHAROS_IMAGE_PREFIX} name: other tools may use it` });
      else if (now !== id) plan.keptImages.push({ ref: tag, why: `it names another image now (${now.slice(0, 19)}), not the one ${entry.manifest} holds` });
      else plan.images.push({ ref: tag, project: entry.project, id });
    }
    // An image of ours that lost its tags to a newer build: by ID, only when nothing names it and it carries our label.
    if (daemon?.present && !daemon.repoTags.length && daemon.labels[PROJECT_LABEL] === entry.project && !seen.has(id)) {
      seen.add(id);
      plan.images.push({ ref: id, project: entry.project, id });
    }
  }
  return plan;
}

export function planClean(input: CleanInput): CleanPlan {
  const entries = input.entries.filter((e) => inScope(input.scope, e.project));
  const products: CleanPlan['products'] = [];
  const lockedProducts: CleanPlan['lockedProducts'] = [];
  for (const entry of entries) {
    const lock = input.locks.get(entry.lock) ?? { state: 'free' };
    if (lock.state === 'held') lockedProducts.push({ entry, holder: lock.holder });
    else products.push({ entry, lock });
  }
  const task = (c: LabelledContainer) => c.labels[OWNER_LABEL.task] ?? '';
  const ours = input.containers.filter((c) => !input.scope.length || input.scope.some((p) => task(c).startsWith(`${p}:`)));
  const ended = orphansToReap([...ours], input.self, input.isAlive);
  const endedIds = new Set(ended.map((o) => o.id));
  return {
    products,
    lockedProducts,
    containers: ended.map((o) => ({ id: o.id, name: o.name, task: o.task })),
    keptContainers: ours
      .filter((c) => !endedIds.has(c.id))
      .map((c) => ({
        name: c.name,
        why:
          c.labels[OWNER_LABEL.node] !== input.self.node
            ? `started on ${c.labels[OWNER_LABEL.node] ?? 'an unknown node'}, whose runs cannot be checked from here`
            : input.isAlive(Number(c.labels[OWNER_LABEL.pid]))
              ? `its run (${task(c) || 'an unknown task'}, pid ${c.labels[OWNER_LABEL.pid]}) is still going`
              : `its owner (${task(c) || 'an unknown task'}) cannot be judged ended from here (labels missing, or another pid namespace)`,
      })),
    ...planImages(
      // Locked image products keep their images too: the running build is about to use or replace them.
      products.map((p) => p.entry),
      input.images,
    ),
  };
}

/** The plan as lines: what goes (`remove` / `would remove`) and what stays, with why. */
export function formatPlan(plan: CleanPlan, dryRun: boolean): string {
  const verb = dryRun ? 'would remove' : 'removing';
  const lines = [
    ...plan.products.flatMap(({ entry, lock }) => [
      ...entry.outputs.map((o) => `${verb} ${o}  (${entry.project} ${entry.kind})`),
      ...(lock.state === 'ended' ? [`${verb} ${entry.lock}  (the lock of ${lock.holder}, which has ended)`] : []),
    ]),
    ...plan.containers.map((c) => `${verb} container ${c.name} (${c.id.slice(0, 12)})  (left by ${c.task})`),
    ...plan.images.map((i) => `${verb} image ${i.ref}  (${i.project}, ${i.id.slice(0, 19)})`),
    ...plan.lockedProducts.map(({ entry, holder }) => `skipping ${entry.manifest}: a build holds ${entry.lock}: ${holder}`),
    ...plan.keptContainers.map((c) => `keeping container ${c.name}: ${c.why}`),
    ...plan.keptImages.map((i) => `keeping image ${i.ref}: ${i.why}`),
  ];
  const nothing = !plan.products.length && !plan.containers.length && !plan.images.length && !plan.lockedProducts.length;
  return `${lines.join('\n')}${lines.length ? '\n' : ''}${nothing ? 'pharos clean: nothing of Pharos to remove\n' : ''}`;
}

import type { ExecutorContext } from '@nx/devkit';
import { join } from 'node:path';
import type { VmImageDefinition } from '../../definitions/vm-image';
import { debsAbsence, debTarget } from '../../products/debs';
import type { SourceAbsence } from '../../products/source';
import type { LeftOutPackage } from '../../products/vm-image';
import type { DebsSource } from './normalize-options';

/** Why a package the site left out by hand is missing, as vm-image.json and the run say it. */
export const IMAGES_WITHOUT_WHY = 'imagesWithout in nx.json';

/**
 * Every package project an image leaves out, and why: those the site names in imagesWithout, then the optional ones
 * whose debs.json records an absent source. Both leave out the same things (withoutProjects); only the reason differs.
 */
export function leftOutPackages(without: readonly string[], absent: ReadonlyArray<{ project: string; absence: SourceAbsence }>): LeftOutPackage[] {
  const explicit = without.map((project) => ({ project, why: IMAGES_WITHOUT_WHY }));
  const unpinned = absent
    .filter((a) => !without.includes(a.project))
    .map(({ project, absence }) => ({ project, why: `${absence.reason} (${project}: ${absence.why})`, next: absence.next }));
  return [...explicit, ...unpinned];
}

/** The loud line of a package an image is built without. */
export function leftOutLine(image: string, p: LeftOutPackage): string {
  return `pharos: ${image} is built WITHOUT ${p.project} (${p.why}): its packages and the scripts that need them are left out${p.next ? `. Next: ${p.next}` : ''}\n`;
}

/**
 * The image's package projects whose `deb-<suite>` product records an absent source. Read from the products the
 * image target depends on, whose debs.json is in its cache key: pinning the source changes them, and so the image.
 */
export function absentPackages(def: VmImageDefinition, debs: DebsSource[], context: ExecutorContext): Array<{ project: string; absence: SourceAbsence }> {
  const out: Array<{ project: string; absence: SourceAbsence }> = [];
  for (const project of new Set(def.packages.map((p) => p.project))) {
    const source = debs.find((d) => d.project === project);
    // stageDebs names a package with no .debs folder; nothing to decide here.
    if (!source) continue;
    const absence = debsAbsence(join(context.root, source.dir), context, `${project}:${debTarget(def.suite)}`);
    if (absence) out.push({ project, absence });
  }
  return out;
}

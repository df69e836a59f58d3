import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { assertOverlayMatches, readOverlayManifest, type OverlayManifest } from '../../products/overlay';
import { assertSifMatches, readSifManifest, type SifManifest } from '../../products/sif';
import { shownPath, type NormalizedOverlayOptions } from './normalize-options';

/**
 * What an overlay is built or used on, each product read through its manifest and checked against its digest before
 * anything mounts it: the base SIF and the overlays of the #DEP closure.
 */

export interface BaseSif {
  file: string;
  manifest: SifManifest;
}

export interface MountedOverlay {
  overlay: string;
  project: string;
  sqf: string;
  env: string;
  manifest: OverlayManifest;
}

/** A SIF read through its manifest (`producer` is the task that makes it, for the error when it is missing). */
export async function verifiedSif(manifestFile: string, producer: string, o: { workspaceRoot: string }): Promise<BaseSif> {
  const manifest = readSifManifest(manifestFile, o.workspaceRoot, producer);
  const file = join(dirname(manifestFile), manifest.sif);
  await assertSifMatches(file, manifest, shownPath(o, file));
  return { file, manifest };
}

export async function verifiedBaseSif(o: Pick<NormalizedOverlayOptions, 'workspaceRoot' | 'base'>): Promise<BaseSif> {
  return verifiedSif(o.base.manifest, o.base.producer, o);
}

export async function verifiedOverlay(manifestFile: string, producer: string, o: { workspaceRoot: string }): Promise<MountedOverlay> {
  const manifest = readOverlayManifest(manifestFile, o.workspaceRoot, producer);
  const sqf = join(dirname(manifestFile), manifest.sqf);
  await assertOverlayMatches(sqf, manifest, shownPath(o, sqf));
  return { overlay: manifest.overlay, project: manifest.project, sqf, env: join(dirname(manifestFile), manifest.env), manifest };
}

/** The #DEP closure's overlays, dependencies first (the order they are mounted in). */
export async function verifiedDeps(o: NormalizedOverlayOptions): Promise<MountedOverlay[]> {
  const out: MountedOverlay[] = [];
  for (const dep of o.deps) out.push(await verifiedOverlay(dep.manifest, dep.producer, o));
  return out;
}

/** The `bin/` of each overlay, topmost first, as PATH takes them: the overlay itself before what it builds on. */
export function overlayBinDirs(appRoots: string[]): string[] {
  return [...appRoots].reverse().map((root) => `${root}/bin`);
}

const ENV_SCRIPT = join(__dirname, 'overlay-env.sh');

/**
 * argv (inside the SIF) that sources each `.env` with every assignment exported, then runs `command` with `sh -c`:
 * a .env is POSIX shell, so a value is taken exactly as its single quotes hold it (`apptainer --env-file` expands
 * `$` even inside them). The script's text goes in as `sh -c`, the values as arguments.
 */
export function withOverlayEnv(command: string, envFiles: string[]): string[] {
  return ['/bin/sh', '-c', readFileSync(ENV_SCRIPT, 'utf8'), 'pharos-overlay-env', command, ...envFiles];
}

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { appRoot, assertOverlayBlob, assertOverlayMatches, readOverlayManifest, type OverlayManifest } from '../../products/overlay';
import { assertSifMatches, readSifManifest, type SifManifest } from '../../products/sif';
import { overlayExecArgv, type ApptainerBind } from '../../tools/apptainer';
import { holdSharedFlocks } from '../../tools/flock';
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

/** Where a base SIF's manifest is and the task that writes it. */
export interface BaseSifRef {
  workspaceRoot: string;
  base: { manifest: string; producer: string };
}

export async function verifiedBaseSif(o: BaseSifRef): Promise<BaseSif> {
  return verifiedSif(o.base.manifest, o.base.producer, o);
}

/** An overlay's product as its manifest describes it (the files not yet checked). */
export function overlayProduct(manifestFile: string, producer: string, o: { workspaceRoot: string }): MountedOverlay {
  const manifest = readOverlayManifest(manifestFile, o.workspaceRoot, producer);
  const dir = dirname(manifestFile);
  return { overlay: manifest.overlay, project: manifest.project, sqf: join(dir, manifest.sqf), env: join(dir, manifest.env), manifest };
}

/** Overlays held in use: each `.sqf` under a shared flock, so an update refuses to replace it until release(). */
export interface OverlaysInUse {
  overlays: MountedOverlay[];
  release: () => Promise<void>;
}

/**
 * Holds a shared flock on each overlay's `.sqf` (tools/flock.ts), then checks each against its manifest: the file
 * checked is the one that stays in place while it is mounted. Everything that mounts overlays holds them so (`pharos
 * exec`, the test and the builds of the overlays on top); the caller releases them when it no longer mounts them.
 */
export async function holdOverlays(overlays: MountedOverlay[], o: { workspaceRoot: string }): Promise<OverlaysInUse> {
  for (const m of overlays) await assertOverlayBlob(m.sqf, m.manifest, shownPath(o, m.sqf));
  const release = await holdSharedFlocks(
    overlays.map((m) => m.sqf),
    (file) => process.stderr.write(`pharos: waiting for ${shownPath(o, file)}: something holds it exclusively (an update putting a new version in place)…\n`),
  );
  try {
    for (const m of overlays) await assertOverlayMatches(m.sqf, m.manifest, shownPath(o, m.sqf));
  } catch (err) {
    await release();
    throw err;
  }
  return { overlays, release };
}

/** The #DEP closure's overlays, dependencies first (the order they are mounted in), held in use. */
export async function heldDeps(o: NormalizedOverlayOptions): Promise<OverlaysInUse> {
  return holdOverlays(
    o.deps.map((d) => overlayProduct(d.manifest, d.producer, o)),
    o,
  );
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

/** Where the mounted overlays' `.env` files are bound inside the SIF, in mount order. */
export const envInSif = (i: number) => `/pharos/env/${i}.env`;

/** The `bin/` of each mounted overlay (`name/version`), topmost first. */
export function mountedBinDirs(mounted: ReadonlyArray<{ overlay: string }>): string[] {
  return overlayBinDirs(mounted.map((m) => appRoot(...(m.overlay.split('/') as [string, string]))));
}

/**
 * `apptainer exec` of `command` (`sh -c`) on the base SIF with `mounted` over it, dependencies first, the way a person
 * uses overlays: each `.env` applied (a later overlay's value wins) and each `bin/` on PATH (the topmost first).
 * `extra`: more binds and the working directory (`pharos exec` binds the folder it was started in).
 */
export function usingOverlaysArgv(sif: string, mounted: MountedOverlay[], command: string, extra: { binds?: ApptainerBind[]; pwd?: string } = {}): string[] {
  return overlayExecArgv({
    sif,
    overlays: mounted.map((m) => m.sqf),
    binds: [...mounted.map((m, i) => ({ host: m.env, container: envInSif(i), readOnly: true })), ...(extra.binds ?? [])],
    prependPath: mountedBinDirs(mounted),
    pwd: extra.pwd,
    argv: withOverlayEnv(
      command,
      mounted.map((_, i) => envInSif(i)),
    ),
  });
}

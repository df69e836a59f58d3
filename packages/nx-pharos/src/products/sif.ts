import { join } from 'node:path';
import { readManifest, writeManifest } from './manifest';
import { productDir } from './paths';
import { assertProductDigest } from './store-files';

/**
 * `<name>.sif.json`, written last next to the SIF: what it was made from and how, so consumers (tests, VM images)
 * can check they hold the complete, intended file, and its hash is the cache input of everything that uses it.
 */
export interface SifManifest {
  schema: 1;
  project: string;
  /** File names, relative to the manifest. */
  sif: string;
  sha256: string;
  bytes: number;
  /** A container's SIF: the image product it was converted from. */
  image?: { id: string; archiveSha256: string };
  /** A `.def` image (containers/overlays/<name>/<version>.def): the definition file it was built from… */
  definition?: { file: string; sha256: string };
  /** …and the SIF its `From:` names, a container's `sif` product. */
  base?: { project: string; sif: string; sha256: string };
  mksquashfsArgs: string;
  apptainerVersion: string;
  /** The public half of the signing key, when the SIF is signed. */
  publicKey?: string;
}

export interface SifFiles {
  sif: string;
  manifest: string;
  publicKey: string;
}

/** The file names of one SIF product, as the manifest records them (relative to it). */
export function sifFileNames(name: string): SifFiles {
  return { sif: `${name}.sif`, manifest: `${name}.sif.json`, publicKey: `${name}.sif.pub.pem` };
}

export function sifProductPaths(outputDir: string, name: string): SifFiles {
  const names = sifFileNames(name);
  return { sif: join(outputDir, names.sif), manifest: join(outputDir, names.manifest), publicKey: join(outputDir, names.publicKey) };
}

/** `<name>.sif.json` of a project, workspace-relative (`projectRoot` may be Nx's `{projectRoot}` token). */
export function sifManifestPath(projectRoot: string, name: string): string {
  return productDir(projectRoot, sifFileNames(name).manifest);
}

export function readSifManifest(file: string, workspaceRoot: string, producer: string): SifManifest {
  return readManifest<SifManifest>(file, workspaceRoot, { what: 'SIF', required: ['sif', 'sha256'] }, producer);
}

export const writeSifManifest: (file: string, manifest: SifManifest) => Promise<void> = writeManifest;

export async function assertSifMatches(sifFile: string, manifest: SifManifest, shown: string): Promise<void> {
  await assertProductDigest(sifFile, manifest, { what: 'the SIF', shown, rebuild: `npx nx run ${manifest.project}:sif --skip-nx-cache` });
}

import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PharosError } from '../utils/errors';
import { readManifest } from './manifest';
import { assertProductDigest } from './store-files';

/** `tarball.json`, written last next to a relocatable tarball: what it holds and how it was built. */

/** A shared library the tree carries because the clean suite lacks it. */
export interface BundledLibrary {
  soname: string;
  package: string;
}

export const TARBALL_MANIFEST = 'tarball.json';

export interface TarballManifest {
  schema: 1;
  project: string;
  name: string;
  version: string;
  /**
   * The suite the tree was built on and for (the tarball target's `suite` option). Named `toolchain` in the product
   * because sites read it under that name: tarball.json, build.env's TOOLCHAIN and module templates' {{toolchain}}.
   */
  toolchain: string;
  variants: string[];
  arch: string;
  file: string;
  sha256: string;
  bytes: number;
  source: { file: string; sha256: string };
  configureFlags: string[];
  bundled: BundledLibrary[];
  builtOn: string;
  signature?: { file: string; publicKey: string; fingerprint: string };
}

/** What a tarball was built as: its name, the module template's variables and build.env all come from these. */
export type TarballFacts = Pick<TarballManifest, 'name' | 'version' | 'toolchain' | 'variants' | 'arch'>;

/** slurm-factory's name, with the variants after the suite: slurm-24.11.5-trixie-gpu-x86_64-software.tar.gz. */
export function tarballName(name: string, version: string, suite: string, arch: string, variants: string[] = []): string {
  return `${[name, version, suite, ...variants, arch].join('-')}-software.tar.gz`;
}

/** Sourced by the site install script: what this tree was built as. */
export function buildEnv(m: TarballFacts): string {
  return `NAME=${m.name}\nVERSION=${m.version}\nTOOLCHAIN=${m.toolchain}\nVARIANTS='${m.variants.join(' ')}'\nARCH=${m.arch}\n`;
}

/**
 * The manifest of the tarball in `dir`, after checking the tarball against its sha256 and that the signature files it
 * lists are there. `producer` is the task that makes it (e.g. `slurm:tarball`).
 */
export async function verifiedTarball(dir: string, workspace: { root: string }, producer: string): Promise<TarballManifest> {
  const manifest = readManifest<TarballManifest>(join(dir, TARBALL_MANIFEST), workspace.root, { what: 'tarball', required: ['file', 'sha256'] }, producer);
  await assertProductDigest(join(dir, manifest.file), manifest, {
    what: manifest.file,
    shown: relative(workspace.root, join(dir, manifest.file)),
    rebuild: `npx nx run ${producer} --skip-nx-cache`,
  });
  for (const f of manifest.signature ? [manifest.signature.file, manifest.signature.publicKey] : []) {
    if (!existsSync(join(dir, f))) {
      throw new PharosError(`${TARBALL_MANIFEST} lists ${f}, which is missing`, {
        file: relative(workspace.root, join(dir, f)),
        next: `rebuild it: npx nx run ${producer} --sign --skip-nx-cache`,
      });
    }
  }
  return manifest;
}

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

/** A package built into the same view after the main one (Open MPI beside Slurm), as recipe.yaml's tarball.components. */
export interface TarballComponentRecord {
  name: string;
  version: string;
  source: { file: string; sha256: string };
  configureFlags: string[];
}

/**
 * How the Lmod modules are laid out: `flat` (modules/<name>/<version>.lua for each package) or `hierarchy`
 * (slurm-factory's --enable-hierarchy: Core/, Compiler/<compiler>/<version>/, MPI/<compiler>/<version>/<mpi>/<version>/).
 */
export type ModuleLayout = 'flat' | 'hierarchy';

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
  /** What is built into the view beside the main package; empty when none is (the minimal variant). */
  components: TarballComponentRecord[];
  /** The compiler the tree was built with (the suite's gcc): the Compiler level of the module hierarchy. */
  compiler: { name: string; version: string };
  modules: { layout: ModuleLayout; files: string[] };
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
export type TarballFacts = Pick<TarballManifest, 'name' | 'version' | 'toolchain' | 'variants' | 'arch'> & {
  components: Array<Pick<TarballComponentRecord, 'name' | 'version'>>;
  compiler: TarballManifest['compiler'];
  layout: ModuleLayout;
};

/**
 * slurm-factory's name, with the variants after the suite, then each component with its version, then `hierarchy`
 * for that module layout: slurm-24.11.5-trixie-openmpi5.0.7-x86_64-software.tar.gz,
 * slurm-24.11.5-trixie-minimal-x86_64-software.tar.gz (no component).
 */
export function tarballName(
  name: string,
  version: string,
  suite: string,
  arch: string,
  variants: string[] = [],
  components: Array<{ name: string; version: string }> = [],
  layout: ModuleLayout = 'flat',
): string {
  const parts = [name, version, suite, ...variants, ...components.map((c) => `${c.name}${c.version}`), ...(layout === 'hierarchy' ? ['hierarchy'] : []), arch];
  return `${parts.join('-')}-software.tar.gz`;
}

/** Sourced by the site install script: what this tree was built as. */
export function buildEnv(m: TarballFacts): string {
  const components = m.components.map((c) => `${c.name}/${c.version}`).join(' ');
  return `NAME=${m.name}\nVERSION=${m.version}\nTOOLCHAIN=${m.toolchain}\nVARIANTS='${m.variants.join(' ')}'\nCOMPONENTS='${components}'\nMODULE_LAYOUT=${m.layout}\nARCH=${m.arch}\n`;
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

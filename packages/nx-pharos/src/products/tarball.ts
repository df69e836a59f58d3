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

/** slurm-factory's name, with the variants after the toolchain: slurm-24.11.5-trixie-gpu-x86_64-software.tar.gz. */
export function tarballName(name: string, version: string, toolchain: string, arch: string, variants: string[] = []): string {
  return `${[name, version, toolchain, ...variants, arch].join('-')}-software.tar.gz`;
}

/** Sourced by the site install script: what this tree was built as. */
export function buildEnv(m: Pick<TarballManifest, 'name' | 'version' | 'toolchain' | 'variants' | 'arch'>): string {
  return `NAME=${m.name}\nVERSION=${m.version}\nTOOLCHAIN=${m.toolchain}\nVARIANTS='${m.variants.join(' ')}'\nARCH=${m.arch}\n`;
}

import { join, relative } from 'node:path';
import { PharosError } from '../utils/errors';
import { readManifest } from './manifest';
import type { SourceAbsence } from './source';
import { assertProductDigest } from './store-files';

/** `debs.json`, written last next to the .debs a `deb-<suite>` target built: the product contract of a suite's packages. */
export const DEBS_MANIFEST = 'debs.json';

export type DebsManifest = BuiltDebsManifest | AbsentDebsManifest;

export interface BuiltDebsManifest {
  schema: 1;
  project: string;
  version: string;
  suite: string;
  source: { file: string; sha256: string };
  /** The version's packaging tarball (its `debian/`), when the recipe names one. */
  packaging?: { file: string; sha256: string };
  /** The recipe's patches of this version, applied after the packaging's own, as the recipe names them. */
  patches?: Array<{ file: string; sha256: string }>;
  builtOn: string;
  /**
   * The recipe's `deb.buildFrom`: each other suite's packages the build installed, with their versions (suite →
   * package → version). Those suites move; this says what the .debs were built with.
   */
  buildFrom?: Record<string, Record<string, string>>;
  debs: Array<{ file: string; package: string; version: string; architecture: string; sha256: string; bytes: number }>;
}

/**
 * An optional package whose source is not pinned: no .debs, and the reason. A product of its own (not an error) so
 * the run that made it is cached like any other, and pinning the source (an input of deb) replaces it.
 */
export interface AbsentDebsManifest {
  schema: 1;
  project: string;
  version: string;
  suite: string;
  absent: SourceAbsence;
  debs: [];
}

const DEBS_KIND = { what: '.deb', required: ['project', 'suite'] } as const;

function readDebsManifest(debsDir: string, workspace: { root: string }, producer: string): DebsManifest {
  return readManifest<DebsManifest>(join(debsDir, DEBS_MANIFEST), workspace.root, DEBS_KIND, producer);
}

/** The absence the suite's debs.json records, or undefined when it holds built packages. */
export function debsAbsence(debsDir: string, workspace: { root: string }, producer: string): SourceAbsence | undefined {
  const manifest = readDebsManifest(debsDir, workspace, producer);
  return 'absent' in manifest ? manifest.absent : undefined;
}

/** The packages a suite's debs.json lists, in its order; none when it records an absence. */
export function builtPackages(debsDir: string, workspace: { root: string }, producer: string): string[] {
  return readDebsManifest(debsDir, workspace, producer).debs.map((d) => d.package);
}

/** The deb target that makes a suite's packages: the one producer of debsDir(root, release, suite). */
export function debTarget(suite: string): string {
  return `deb-${suite}`;
}

/**
 * The .deb files of `packages`, in that order, after checking every .deb of the manifest against its sha256.
 * `producer` is the task that makes them (e.g. `slurm:deb-trixie`), named when they are missing or damaged.
 */
export async function verifiedDebs(debsDir: string, packages: string[], workspace: { root: string }, label: string, producer: string): Promise<string[]> {
  const manifestFile = join(debsDir, DEBS_MANIFEST);
  const manifest = readDebsManifest(debsDir, workspace, producer);
  if ('absent' in manifest) {
    throw new PharosError(`${producer} built no packages: ${manifest.absent.reason} (${manifest.project}: ${manifest.absent.why})`, {
      file: relative(workspace.root, manifestFile),
      step: label,
      next: manifest.absent.next,
    });
  }
  for (const d of manifest.debs) {
    await assertProductDigest(join(debsDir, d.file), d, {
      what: d.file,
      shown: relative(workspace.root, join(debsDir, d.file)),
      rebuild: `npx nx run ${producer} --skip-nx-cache`,
    });
  }
  return packages.map((p) => {
    const deb = manifest.debs.find((d) => d.package === p);
    if (!deb) throw new PharosError(`the build produced no ${p} package`, { file: relative(workspace.root, manifestFile), step: label });
    return deb.file;
  });
}

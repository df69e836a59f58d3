import { execa } from 'execa';
import Handlebars from 'handlebars';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildEnv, tarballName, type BundledLibrary, type TarballFacts } from '../../products/tarball';
import { markedFields } from '../../utils/build-log';

/**
 * The relocatable tarball's build (tarball-build.sh in the suite's container, with relocate.sh beside it) and its
 * layout: view/ (the relocatable prefix), modules/<name>/<version>.lua, data/<name>_assets/.
 */

export const TARBALL_BUILD_SCRIPT = join(__dirname, 'tarball-build.sh');
export const BUNDLED_MARKER = 'pharos-bundled:';

export const installPrefix = (name: string) => `/opt/${name}/view`;

export interface TarballBuildRequest {
  /** The recipe's name: the tree is built for /opt/<name>/view with its configuration in /etc/<name>. */
  name: string;
  tarball: string;
  stage: string;
  /** Packages the variants need beyond debian/control, and the archive components they come from. */
  buildPackages: string[];
  aptComponents: string[];
  jobs: number;
  /** File listing the sonames a clean system of the target has (one per line). */
  presentSonames: string;
  uid: number;
  gid: number;
}

/** tarball-build.sh's environment; the configure flags are its arguments. */
export function tarballBuildEnv(req: TarballBuildRequest): Record<string, string> {
  return {
    NAME: req.name,
    SOURCE_TARBALL: req.tarball,
    STAGE: req.stage,
    // Package and component names are validated by the recipe: space-separated lists are safe.
    BUILD_PACKAGES: req.buildPackages.join(' '),
    APT_COMPONENTS: req.aptComponents.join(' '),
    JOBS: String(req.jobs),
    PRESENT_SONAMES: req.presentSonames,
    OWNER: `${req.uid}:${req.gid}`,
  };
}

export function parseBundled(output: string): BundledLibrary[] {
  return markedFields(output, BUNDLED_MARKER).map(([soname, pkg]) => ({ soname, package: pkg ?? '' }));
}

/**
 * Lays out the staged build as the tarball's tree: view/ from the install, the module rendered from module.lua.hbs,
 * the site assets with each variant's overlay, and build.env.
 */
export async function layOutTree(stage: string, templates: string, facts: TarballFacts): Promise<string> {
  const tree = join(stage, 'tree');
  const assets = join(tree, 'data', `${facts.name}_assets`);
  await mkdir(join(tree, 'modules', facts.name), { recursive: true });
  await rename(join(stage, 'root', installPrefix(facts.name)), join(tree, 'view'));
  const module = Handlebars.compile(await readFile(join(templates, 'module.lua.hbs'), 'utf8'), { noEscape: true, strict: true });
  await writeFile(join(tree, 'modules', facts.name, `${facts.version}.lua`), module({ ...facts, variants: facts.variants.join(', ') }));
  if (existsSync(join(templates, 'assets'))) await cp(join(templates, 'assets'), assets, { recursive: true });
  for (const v of facts.variants) {
    const overlay = join(templates, 'variants', v);
    if (existsSync(overlay)) await cp(overlay, assets, { recursive: true });
  }
  await mkdir(assets, { recursive: true });
  await writeFile(join(assets, 'build.env'), buildEnv(facts));
  return tree;
}

/** The product's file name for what was built. */
export function tarballFile(facts: TarballFacts): string {
  return tarballName(facts.name, facts.version, facts.toolchain, facts.arch, facts.variants);
}

/** Packs the tree reproducibly: sorted, owned by root. */
export async function packTree(tree: string, file: string): Promise<void> {
  await execa('tar', ['-C', tree, '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-czf', file, 'view', 'modules', 'data']);
}

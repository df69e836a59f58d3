import type { ExecutorContext } from '@nx/devkit';
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { componentsNotOn } from '../../definitions/source-recipe';
import { normalizeOptions, type SourceBuild, type SourceBuildOptions } from '../../lib/source-build/normalize-options';
import { GPG_SIGNING, signTarball } from '../../lib/source-build/sign-tarball';
import { fetchComponentSource, fetchRecipeSource, runLoggedBuild, suiteEngine } from '../../lib/source-build/source-build';
import {
  COMPONENT_BUILD_SCRIPT,
  layOutTree,
  packTree,
  parseBundled,
  parseCompiler,
  TARBALL_BUILD_SCRIPT,
  tarballBuildArgs,
  tarballBuildEnv,
  tarballFile,
} from '../../lib/source-build/tarball-build';
import { runExecutor } from '../../lib/team-store/install';
import { hashAndStore } from '../../products/store-files';
import { TARBALL_MANIFEST, type TarballFacts, type TarballManifest } from '../../products/tarball';
import { runContainerCaptured } from '../../tools/docker';
import { parseLdconfig, RELOCATE_SCRIPT } from '../../tools/relocatable';
import { removeProducts, writeAtomically } from '../../utils/atomic-file';
import { PharosError } from '../../utils/errors';
import { workspacePath, type ProductLockOptions } from '../../utils/executor';
import { signingMaterial, type SigningMaterial } from '../../utils/signing-material';

export interface TarballOptions extends SourceBuildOptions, ProductLockOptions {
  /** Write a detached, armored GPG signature `<tarball>.asc` and the signer's public key. */
  sign?: boolean;
  /** Path of the OpenPGP secret key; default from PHAROS_GPG_KEY_FILE. */
  signingKeyFile?: string;
  /** Folder with module.lua.hbs, assets/ and variants/<variant>/; default {projectRoot}/tarball. */
  templates?: string;
}

export default async function tarballExecutor(options: TarballOptions, context: ExecutorContext) {
  return runExecutor(async (run) => {
    const build = normalizeOptions(options, context, 'tarball');
    const outputDir = build.tarballDir;
    await run.lockProduct(context, outputDir, options);
    await removeProducts([outputDir]);
    // Signing material and the dev container first: a missing key must not cost a whole build.
    let signing: SigningMaterial | undefined;
    if (options.sign) signing = await signingMaterial(GPG_SIGNING, options.signingKeyFile, process.env, context.root, `${build.label} option "sign"`);
    try {
      const templates = workspacePath(options.templates ?? '{projectRoot}/tarball', context);
      await writeAtomically(outputDir, (tmp) => buildTarball(build, templates, tmp, context, signing));
    } finally {
      await signing?.dispose();
    }
    process.stdout.write(
      `pharos: ${relative(context.root, outputDir)}: the tarball${options.sign ? ', its .asc signature and public key' : ''} and ${TARBALL_MANIFEST}\n`,
    );
  });
}

/** Builds the tree in the suite's container, lays it out, packs and optionally signs it, and writes tarball.json in `tmp`. */
async function buildTarball(build: SourceBuild, templates: string, tmp: string, context: ExecutorContext, signing?: SigningMaterial): Promise<void> {
  const { recipe, release, suite, variants, variantNames, label } = build;
  const source = await fetchRecipeSource(build);
  for (const c of componentsNotOn(recipe, suite)) {
    process.stdout.write(`pharos: WITHOUT ${c.name} ${c.version} on ${suite}: ${build.recipeFile} builds it for ${c.suites?.join(', ')} only\n`);
  }
  // Every source before the container starts: a missing one fails with the same message as the main source's.
  const components = [];
  for (const component of build.components) components.push({ component, source: await fetchComponentSource(build, component) });
  const { docker, base } = await suiteEngine(context, suite);
  const configureFlags = [...build.version.configureFlags, ...variants.flatMap((v) => v.configureFlags)];
  const layout = build.hierarchy ? 'hierarchy' : 'flat';
  const stage = join(tmp, 'stage');
  await mkdir(stage, { recursive: true });
  // What a clean system of the target already has: everything else the tree needs is bundled.
  const ldconfig = await runContainerCaptured(docker, { image: base.id, cmd: ['ldconfig', '-p'], network: 'none', labels: { 'org.pharos.tarball': label } });
  if (ldconfig.exitCode !== 0) throw new PharosError(`ldconfig -p failed in debian:${suite}: ${ldconfig.stderr.trim()}`, { step: label });
  await writeFile(join(stage, 'present-sonames'), `${parseLdconfig(ldconfig.stdout).join('\n')}\n`);

  const { output, shownLog } = await runLoggedBuild(docker, context, {
    what: `tarball-${[release, suite, ...variantNames, ...(build.hierarchy ? ['hierarchy'] : [])].join('-')}`,
    announce: `relocatable build of ${[`${recipe.name} ${release}`, ...components.map(({ component: c }) => `${c.name} ${c.version}`)].join(' + ')}${
      variantNames.length ? ` (${variantNames.join(', ')})` : ''
    } on debian:${suite}`,
    image: base.id,
    script: TARBALL_BUILD_SCRIPT,
    calls: [RELOCATE_SCRIPT, COMPONENT_BUILD_SCRIPT],
    args: tarballBuildArgs(
      configureFlags,
      components.map(({ component: c, source: s }) => ({ name: c.name, tarball: `/src/${s.file}`, configureFlags: c.configureFlags })),
    ),
    env: tarballBuildEnv({
      name: recipe.name,
      tarball: `/src/${source.file}`,
      stage: '/stage',
      buildPackages: [...new Set([...variants.flatMap((v) => v.buildPackages), ...components.flatMap(({ component: c }) => c.buildPackages)])],
      aptComponents: [...new Set(variants.flatMap((v) => v.aptComponents))],
      jobs: build.jobs,
      presentSonames: '/stage/present-sonames',
      uid: build.uid,
      gid: build.gid,
    }),
    binds: [`${source.path}:/src/${source.file}:ro`, ...components.map(({ source: s }) => `${s.path}:/src/${s.file}:ro`), `${stage}:/stage`],
    labels: { 'org.pharos.tarball': label },
    label,
  });
  const bundled = parseBundled(output);
  const arch = readFileSync(join(stage, 'arch'), 'utf8').trim();
  const facts: TarballFacts = {
    name: recipe.name,
    version: release,
    toolchain: suite,
    variants: variantNames,
    components: components.map(({ component: c }) => ({ name: c.name, version: c.version })),
    compiler: parseCompiler(output, shownLog),
    layout,
    arch,
  };
  const { tree, modules } = await layOutTree(stage, templates, facts);
  const file = tarballFile(facts);
  process.stdout.write(`pharos: packing ${file} (${bundled.length} bundled librar${bundled.length === 1 ? 'y' : 'ies'})\n`);
  await packTree(tree, join(tmp, file));
  await rm(stage, { recursive: true, force: true });
  const signature = signing ? await signTarball(docker, base.id, signing, tmp, file, label) : undefined;
  const manifest: TarballManifest = {
    schema: 1,
    project: build.project,
    name: facts.name,
    version: facts.version,
    toolchain: facts.toolchain,
    variants: facts.variants,
    components: components.map(({ component: c, source: s }) => ({
      name: c.name,
      version: c.version,
      source: { file: s.file, sha256: s.sha256 },
      configureFlags: c.configureFlags,
    })),
    compiler: facts.compiler,
    modules: { layout, files: modules },
    arch: facts.arch,
    file,
    // After signing: the signature is of the plain file, and the store keeps its bytes as they are.
    ...(await hashAndStore(join(tmp, file), { workspaceRoot: context.root })),
    source: { file: source.file, sha256: source.sha256 },
    configureFlags,
    bundled,
    builtOn: base.id,
    ...(signature ? { signature } : {}),
  };
  await writeFile(join(tmp, TARBALL_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
}

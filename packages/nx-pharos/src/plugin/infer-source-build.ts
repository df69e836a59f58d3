import type { ProjectConfiguration, TargetConfiguration } from '@nx/devkit';
import { dirname } from 'node:path';
import type { SourceRecipe } from '../definitions/source-recipe';
import { buildTarget, executorSourceInputs, PLUGIN, PLUGIN_SRC, projectName } from './target-inputs';

export const DEB_SUITES = ['bookworm', 'trixie'] as const;
export const DEFAULT_DEB_SUITE = 'trixie';
/** The executor that proves a package's products with a running service, per recipe name. */
const VERIFY_EXECUTORS: Record<string, string> = { slurm: 'slurm-verify', beegfs: 'beegfs-verify' };
/** A recipe folder with this template builds the relocatable tarball too. */
export const TARBALL_TEMPLATE = 'tarball/module.lua.hbs';

/**
 * `third-party/<name>/recipe.yaml`: a package built from pinned sources. `fetch` fills the source cache, `deb` builds
 * Debian packages for a suite (an Nx configuration), `tarball` (when `tarball/module.lua.hbs` exists) a relocatable
 * tree, and `verify-deb`/`verify-tarball` prove them in a clean container; `build`, `verify` and `test` group those.
 */
export function inferSourceBuildProject(recipeFile: string, recipe: SourceRecipe, withTarball: boolean, _suites: string[] = [...DEB_SUITES]): ProjectConfiguration {
  const root = dirname(recipeFile);
  const name = projectName(root);
  // The sources, requirements and deb build of every version, not the whole recipe: configure flags and variants
  // shape the tarball only.
  const recipeSources = { runtime: `node packages/nx-pharos/bin/pharos.cjs recipe-sources ${recipeFile}` };
  const base = { recipe: recipeFile, release: recipe.defaultVersion };
  // Some packages build for fewer suites (BeeGFS 7.4: its client module fails on trixie's kernel).
  const suites: string[] = recipe.deb.suites ?? [...DEB_SUITES];
  const defaultSuite = suites.includes(DEFAULT_DEB_SUITE) ? DEFAULT_DEB_SUITE : suites[0];
  const suiteConfigurations = Object.fromEntries(suites.map((suite) => [suite, { suite }]));
  const suiteImages = suites.map((suite) => ({ projects: [`debian-${suite}`], target: 'image' }));
  const suiteImageInputs = { dependentTasksOutputFiles: '**/image.json' };
  const sourceBuildInputs = [`${PLUGIN_SRC}/lib/source-build/source-build.ts`, `${PLUGIN_SRC}/utils/build-log.ts`, `${PLUGIN_SRC}/utils/shell.ts`, `${PLUGIN_SRC}/definitions/source-recipe.ts`];
  const verifyExecutor = VERIFY_EXECUTORS[recipe.name];
  const debTarget: TargetConfiguration = {
    executor: `${PLUGIN}:deb`,
    // Not forwarded: fetch takes none of deb's other options; deb fetches another --release itself, the same way.
    dependsOn: ['fetch', ...suiteImages],
    inputs: [
      recipeSources,
      suiteImageInputs,
      ...executorSourceInputs('deb', ['source-fetch', 'dpkg', 'suite-image', 'image-store']),
      ...sourceBuildInputs,
    ],
    outputs: ['{workspaceRoot}/dist/{projectRoot}/{options.release}/{options.suite}'],
    cache: true,
  };
  const products = ['deb', ...(withTarball ? ['tarball'] : [])];
  const verifyTarget = (product: string): TargetConfiguration => ({
    executor: `${PLUGIN}:${verifyExecutor}`,
    options: { ...base, suite: defaultSuite, products: [product] },
    configurations: suiteConfigurations,
    defaultConfiguration: defaultSuite,
    // Forwarded, so `verify-tarball --release=X --gpu` proves the product built with those options.
    dependsOn: [{ target: product, params: 'forward' }, ...suiteImages],
    inputs: [
      { dependentTasksOutputFiles: product === 'deb' ? '**/debs.json' : '**/tarball.json' },
      suiteImageInputs,
      ...executorSourceInputs(verifyExecutor, ['suite-image', 'image-store', 'gpg']),
      `${PLUGIN_SRC}/executors/${verifyExecutor}/*.sh`,
      `${PLUGIN_SRC}/lib/source-build/verify-products.ts`,
      ...sourceBuildInputs,
    ],
    cache: true,
  });
  return {
    root,
    name,
    projectType: 'application',
    tags: ['third-party'],
    // Builds and verifications start from the suites' base images; `nx affected` sees only project edges.
    implicitDependencies: [PLUGIN, ...suites.map((suite) => `debian-${suite}`)],
    targets: {
      fetch: {
        executor: `${PLUGIN}:fetch`,
        options: base,
        inputs: [recipeSources, ...executorSourceInputs('fetch', ['source-fetch', 'debian-mirror']), ...sourceBuildInputs],
        outputs: ['{workspaceRoot}/dist/{projectRoot}/{options.release}/source.json'],
        cache: true,
      },
      deb: {
        ...debTarget,
        options: { ...base, suite: defaultSuite },
        configurations: suiteConfigurations,
        defaultConfiguration: defaultSuite,
      },
      // The same build for one fixed suite, for other projects' dependsOn: Nx cannot name a configuration there, and a
      // dependency runs with its default one (a bookworm VM image needs `deb-bookworm`, whatever `deb` defaults to).
      ...Object.fromEntries(suites.map((suite) => [`deb-${suite}`, { ...debTarget, options: { ...base, suite } }])),
      ...(withTarball
        ? {
            tarball: {
              executor: `${PLUGIN}:tarball`,
              options: { ...base, toolchain: defaultSuite },
              configurations: Object.fromEntries(suites.map((suite) => [suite, { toolchain: suite }])),
              defaultConfiguration: defaultSuite,
              dependsOn: ['fetch', ...suiteImages],
              inputs: [
                // Sources, configure flags and variants all shape the tree; which key signs shapes the .asc.
                '{projectRoot}/recipe.yaml',
                { env: 'PHAROS_GPG_KEY_FILE' },
                { env: 'PHAROS_GPG_KEY' },
                '{projectRoot}/tarball/**/*',
                suiteImageInputs,
                ...executorSourceInputs('tarball', ['source-fetch', 'relocatable', 'suite-image', 'image-store', 'gpg']),
                `${PLUGIN_SRC}/executors/tarball/build-script.ts`,
                `${PLUGIN_SRC}/utils/signing-material.ts`,
                ...sourceBuildInputs,
              ],
              outputs: ['{workspaceRoot}/dist/{projectRoot}/{options.release}/tarball-{options.toolchain}'],
              cache: true,
            },
          }
        : {}),
      ...(verifyExecutor
        ? {
            ...Object.fromEntries(products.map((product) => [`verify-${product}`, verifyTarget(product)])),
            verify: {
              executor: 'nx:noop',
              configurations: Object.fromEntries(suites.map((suite) => [suite, {}])),
              defaultConfiguration: defaultSuite,
              dependsOn: products.map((product) => ({ target: `verify-${product}`, params: 'forward' as const })),
              cache: true,
            },
          }
        : {}),
      build: buildTarget(products),
      test: { executor: 'nx:noop', dependsOn: [verifyExecutor ? 'verify' : 'build'], cache: true },
    },
  };
}

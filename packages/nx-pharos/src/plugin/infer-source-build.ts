import type { ProjectConfiguration, TargetConfiguration } from '@nx/devkit';
import { dirname } from 'node:path';
import type { SourceRecipe } from '../definitions/source-recipe';
import { DEBS_MANIFEST, debTarget } from '../products/debs';
import { asOutput, debsDir, releaseDir, tarballDir } from '../products/paths';
import { defaultSuite, SOURCE_RECORD } from '../products/source';
import { TARBALL_MANIFEST } from '../products/tarball';
import { executorInputs, PLUGIN, projectName } from './target-inputs';

/** The executor that proves a package's products with a running service, per recipe name. */
const VERIFY_EXECUTORS: Record<string, string> = { slurm: 'slurm-verify', beegfs: 'beegfs-verify', apptainer: 'apptainer-verify' };
/** Any other recipe with a `verify:` section: its .debs installed and its own checks run (.debs only, no tarball). */
const DEB_VERIFY = 'deb-verify';
/** A recipe folder with this template builds the relocatable tarball too. */
export const TARBALL_TEMPLATE = 'tarball/module.lua.hbs';

const forward = (target: string) => ({ target, params: 'forward' as const });
const noop = (dependsOn: TargetConfiguration['dependsOn']): TargetConfiguration => ({ executor: 'nx:noop', dependsOn, cache: true });

/**
 * `third-party/<name>/recipe.yaml`: a package built from pinned sources. `fetch` fills the source cache; `deb-<suite>`
 * builds the Debian packages of one suite (the one producer of that suite's folder) and `deb` all of them; `tarball`
 * (when `tarball/module.lua.hbs` exists) a relocatable tree for `--suite`; `verify-deb-<suite>`, `verify-deb` and
 * `verify-tarball` prove them in a clean container; `build`, `verify` and `test` group those. No target has Nx
 * configurations: Nx runs an unknown one silently as the default, so a suite is always a target name or `--suite`.
 *
 * `suites` are the Debian suites the workspace's base-image projects produce; the recipe's `deb.suites` narrows them.
 */
export function inferSourceBuildProject(recipeFile: string, recipe: SourceRecipe, withTarball: boolean, suites: readonly string[]): ProjectConfiguration {
  const root = dirname(recipeFile);
  const name = projectName(root);
  // The sources, requirements and deb build of every version, not the whole recipe: configure flags and variants
  // shape the tarball only.
  const recipeSources = { runtime: `node packages/nx-pharos/bin/pharos.cjs recipe-sources ${recipeFile}` };
  const base = { recipe: recipeFile, release: recipe.defaultVersion };
  // Some packages build for fewer suites (BeeGFS 7.4: its client module fails on trixie's kernel).
  const built = recipe.deb.suites ? suites.filter((s) => recipe.deb.suites?.includes(s)) : [...suites];
  const suite = defaultSuite(built);
  const suiteImage = (s: string) => ({ projects: [`debian-${s}`], target: 'image' });
  const suiteImageInputs = { dependentTasksOutputFiles: '**/image.json' };
  const verifyExecutor = VERIFY_EXECUTORS[recipe.name] ?? (recipe.verify ? DEB_VERIFY : undefined);
  const verifiesTarball = withTarball && verifyExecutor !== DEB_VERIFY;
  const release = '{options.release}';

  const debTargets = Object.fromEntries(
    built.map((s): [string, TargetConfiguration] => [
      debTarget(s),
      {
        executor: `${PLUGIN}:deb`,
        options: { ...base, suite: s },
        // Not forwarded: fetch takes none of deb's other options; deb fetches another --release itself, the same way.
        dependsOn: ['fetch', suiteImage(s)],
        inputs: [recipeSources, suiteImageInputs, ...executorInputs('deb')],
        outputs: [asOutput(debsDir('{projectRoot}', release, s))],
        cache: true,
      },
    ]),
  );
  const tarball: TargetConfiguration = {
    executor: `${PLUGIN}:tarball`,
    options: { ...base, suite },
    // Every suite's image: `--suite` picks one at run time, and Nx fixes the graph before that.
    dependsOn: ['fetch', ...built.map(suiteImage)],
    inputs: [
      // Sources, configure flags and variants all shape the tree; which key signs shapes the .asc.
      '{projectRoot}/recipe.yaml',
      { env: 'PHAROS_GPG_KEY_FILE' },
      { env: 'PHAROS_GPG_KEY' },
      '{projectRoot}/tarball/**/*',
      suiteImageInputs,
      ...executorInputs('tarball'),
    ],
    outputs: [asOutput(tarballDir('{projectRoot}', release, '{options.suite}'))],
    cache: true,
  };
  // Only a package with a verify executor of its own gets verify targets.
  const verifyTargets = (executor: string): Record<string, TargetConfiguration> => {
    // deb-verify's checks are the recipe's `verify:` section.
    const verifyInputs = (manifest: string) => [
      { dependentTasksOutputFiles: `**/${manifest}` },
      suiteImageInputs,
      ...(executor === DEB_VERIFY ? ['{projectRoot}/recipe.yaml'] : []),
      ...executorInputs(executor),
    ];
    return {
      ...Object.fromEntries(
        built.map((s): [string, TargetConfiguration] => [
          `verify-${debTarget(s)}`,
          {
            executor: `${PLUGIN}:${executor}`,
            options: { ...base, suite: s, products: ['deb'] },
            // Forwarded, so `verify-deb --release=X` proves the packages of that version.
            dependsOn: [forward(debTarget(s)), suiteImage(s)],
            inputs: verifyInputs(DEBS_MANIFEST),
            cache: true,
          },
        ]),
      ),
      'verify-deb': noop(built.map((s) => forward(`verify-${debTarget(s)}`))),
      ...(verifiesTarball
        ? {
            'verify-tarball': {
              executor: `${PLUGIN}:${executor}`,
              options: { ...base, suite, products: ['tarball'] },
              // Forwarded, so `verify-tarball --suite=bookworm --gpu` proves the product built with those options.
              dependsOn: [forward('tarball'), ...built.map(suiteImage)],
              inputs: verifyInputs(TARBALL_MANIFEST),
              cache: true,
            },
          }
        : {}),
      verify: noop([forward('verify-deb'), ...(verifiesTarball ? [forward('verify-tarball')] : [])]),
    };
  };
  return {
    root,
    name,
    projectType: 'application',
    tags: ['third-party'],
    // Builds and verifications start from the suites' base images; `nx affected` sees only project edges.
    implicitDependencies: [PLUGIN, ...built.map((s) => `debian-${s}`)],
    targets: {
      fetch: {
        executor: `${PLUGIN}:fetch`,
        options: base,
        inputs: [recipeSources, ...executorInputs('fetch')],
        outputs: [asOutput(`${releaseDir('{projectRoot}', release)}/${SOURCE_RECORD}`)],
        cache: true,
      },
      ...debTargets,
      deb: noop(built.map((s) => forward(debTarget(s)))),
      ...(withTarball ? { tarball } : {}),
      ...(verifyExecutor ? verifyTargets(verifyExecutor) : {}),
      // Every group forwards: Nx hands the command line's options to any forwarding edge below a group, so a group
      // that did not would send `--release` to some of its products and not others.
      build: noop([forward('deb'), ...(withTarball ? [forward('tarball')] : [])]),
      test: noop([forward(verifyExecutor ? 'verify' : 'build')]),
    },
  };
}

import type { ExecutorContext } from '@nx/devkit';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import {
  parseSourceRecipe,
  recipeVariants,
  recipeVersion,
  tarballComponents,
  type BuildVariant,
  type PinnedSource,
  type RecipeVersion,
  type SourceRecipe,
  type TarballComponent,
} from '../../definitions/source-recipe';
import { debTarget } from '../../products/debs';
import { debsDir, releaseDir, tarballDir } from '../../products/paths';
import { defaultSuite, sourceAbsence, type SourceAbsence } from '../../products/source';
import { recipePatches, type RecipePatch } from '../../tools/recipe-patches';
import { configuredMirrors, configuredPins, withSitePins } from '../../tools/source-fetch';
import { PharosError } from '../../utils/errors';
import { projectRootOf, taskLabel, workspacePath } from '../../utils/executor';

/** The options every executor of the source-build family (fetch, deb, tarball, slurm-verify, beegfs-verify) shares. */
export interface SourceBuildOptions {
  recipe: string;
  /** A version of the recipe (not "version": that is Nx's own flag on the command line). */
  release?: string | number;
  /** The Debian suite to build on and for, or another OS image by name (ubuntu:24.04). */
  suite?: string;
  /** The recipe's `gpu` and `minimal` variants (tarball builds). */
  gpu?: boolean;
  minimal?: boolean;
  /** Lay the tarball's Lmod modules out as Core/Compiler/MPI (slurm-factory's --enable-hierarchy). */
  hierarchy?: boolean;
  jobs?: number;
  /** The executor's own product folder (fetch: the version's folder, deb: the suite's .debs, tarball: its tree). */
  outputPath?: string;
  /** Where a verify executor reads the products from. */
  debsPath?: string;
  tarballPath?: string;
}

/** Which executor asks: it decides which folder `outputPath` moves, and whether the target's suite is fixed. */
export type SourceBuildKind = 'fetch' | 'deb' | 'tarball' | 'verify-deb' | 'verify-tarball';

/** Everything an executor of the family works from, resolved once, with one name and one default for each. */
export interface SourceBuild {
  /** `<project>:<target>`, for messages and container labels. */
  label: string;
  project: string;
  recipe: SourceRecipe;
  /** The recipe's path relative to the workspace, for messages. */
  recipeFile: string;
  version: RecipeVersion;
  /** The version's sources with the site's pins applied, and the site's mirrors: read here, so a bad sources.yaml
   * fails before any product is touched. */
  sources: PinnedSource[];
  /** The version's packaging tarball's sources (its `debian/`), with the site's pins; empty when the source has one. */
  packaging: PinnedSource[];
  /** The version's patches, read and digested here, so a missing one fails before any product is touched. */
  patches: RecipePatch[];
  mirrors: string[];
  /** Set when the recipe is optional and no source is pinned: fetch and deb then record the absence instead. */
  absence?: SourceAbsence;
  release: string;
  variants: BuildVariant[];
  variantNames: string[];
  /** The tarball components the variants keep, their sources with the site's pins. */
  components: TarballComponent[];
  /** The tarball's module layout is slurm-factory's Core/Compiler/MPI hierarchy, not flat. */
  hierarchy: boolean;
  suite: string;
  jobs: number;
  /** Owner of what the containers write (the caller on the host). */
  uid: number;
  gid: number;
  /** Absolute product folders: the version's (source.json), the suite's .debs and the suite's tarball. */
  releaseDir: string;
  debsDir: string;
  tarballDir: string;
  /** The tasks that make those products, named when one is missing. */
  debsProducer: string;
  tarballProducer: string;
}

const FIXED_SUITE: SourceBuildKind[] = ['deb', 'verify-deb'];

export function normalizeOptions(options: SourceBuildOptions, context: ExecutorContext, kind: SourceBuildKind): SourceBuild {
  const label = taskLabel(context);
  const configuration = context.configurationName;
  if (configuration && !context.target?.configurations?.[configuration]) {
    throw new PharosError(`${label} has no configuration '${configuration}'; pick the suite with deb-<suite> (or --suite for tarball)`, { step: label });
  }
  const absolute = workspacePath(options.recipe, context);
  const recipeFile = relative(context.root, absolute);
  const recipe = parseSourceRecipe(readFileSync(absolute, 'utf8'), recipeFile);
  const version = recipeVersion(recipe, options.release, recipeFile);
  const suite = options.suite ?? defaultSuite(recipe.deb.suites ?? []);
  const project = context.projectName as string;
  if (FIXED_SUITE.includes(kind)) assertTargetSuite(suite, context, recipe, recipeFile);
  if (kind === 'deb') assertRecipeSuite(suite, recipe, recipeFile, project);
  if (kind === 'tarball') assertTarballInputs(recipe, version, recipeFile);
  const variants = recipeVariants(recipe, [...(options.gpu ? ['gpu'] : []), ...(options.minimal ? ['minimal'] : [])], recipeFile);
  const root = projectRootOf(context);
  const release = version.version;
  const dir = (own: SourceBuildKind, override: string | undefined, fallback: string) =>
    workspacePath((kind === own ? options.outputPath : undefined) ?? override ?? fallback, context);
  const pins = configuredPins();
  const sources = withSitePins(version.sources, pins);
  const packaging = withSitePins(version.packaging, pins);
  const absence = sourceAbsence(recipe, release, sources, recipeFile, packaging);
  return {
    label,
    project,
    recipe,
    recipeFile,
    version,
    sources,
    packaging,
    patches: recipePatches(recipeFile, version, context.root),
    mirrors: configuredMirrors(),
    ...(absence ? { absence } : {}),
    release,
    variants,
    variantNames: variants.map((v) => v.name),
    components: tarballComponents(recipe, variants, suite).map((c) => ({ ...c, sources: withSitePins(c.sources, pins) })),
    hierarchy: options.hierarchy ?? false,
    suite,
    jobs: options.jobs ?? availableParallelism(),
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    releaseDir: dir('fetch', undefined, releaseDir(root, release)),
    debsDir: dir('deb', options.debsPath, debsDir(root, release, suite)),
    tarballDir: dir('tarball', options.tarballPath, tarballDir(root, release, suite)),
    debsProducer: `${project}:${debTarget(suite)}`,
    tarballProducer: `${project}:tarball`,
  };
}

/**
 * A target made for one suite (deb-<suite>, verify-deb-<suite>) refuses another one from the command line: it would
 * write, or read, another target's product under its own cache key.
 */
function assertTargetSuite(asked: string, context: ExecutorContext, recipe: SourceRecipe, recipeFile: string): void {
  const fixed = context.target?.options?.suite as string | undefined;
  if (!fixed || asked === fixed) return;
  const label = taskLabel(context);
  const target = context.targetName ?? '';
  const stem = target.endsWith(`-${fixed}`) ? target.slice(0, -fixed.length) : undefined;
  const targets = context.projectsConfigurations?.projects[context.projectName as string]?.targets ?? {};
  const built = stem
    ? Object.keys(targets)
        .filter((t) => t.startsWith(stem))
        .map((t) => t.slice(stem.length))
    : [fixed];
  if (stem && built.includes(asked)) {
    throw new PharosError(`${label} builds for ${fixed}, not --suite=${asked}`, { step: label, next: `npx nx run ${context.projectName}:${stem}${asked}` });
  }
  throw new PharosError(`${label} builds for ${fixed}, not --suite=${asked}: ${recipe.name} is built for ${built.join(', ')} only`, {
    file: recipeFile,
    next: recipe.deb.suites
      ? `add ${asked} to deb.suites once upstream supports its kernel and compilers`
      : `add containers/debian-${asked}/base-image.yaml with "suite: ${asked}"`,
  });
}

/** A deb target someone configured by hand, for a suite the recipe does not build for. */
function assertRecipeSuite(suite: string, recipe: SourceRecipe, recipeFile: string, project: string): void {
  const suites = recipe.deb.suites;
  if (!suites || suites.includes(suite)) return;
  throw new PharosError(`${recipe.name} is built for ${suites.join(', ')}, not ${suite}`, {
    file: recipeFile,
    next: `npx nx run ${project}:${debTarget(suites[0])}, or add ${suite} to deb.suites once upstream supports its kernel and compilers`,
  });
}

/**
 * The tarball build reads the source's own debian/control, unpatched, and installs from the suite alone: a version
 * whose packaging, patches or build dependencies come from elsewhere would be built from something else than its .debs.
 */
function assertTarballInputs(recipe: SourceRecipe, version: RecipeVersion, recipeFile: string): void {
  const elsewhere = [
    ...(version.packaging.length ? [`versions.${version.version}.packaging`] : []),
    ...(version.patches.length ? [`versions.${version.version}.patches`] : []),
    ...(recipe.deb.buildFrom?.length ? ['deb.buildFrom'] : []),
  ];
  if (!elsewhere.length) return;
  throw new PharosError(`the tarball build of ${recipe.name} ${version.version} does not support ${elsewhere.join(' or ')}: only the deb build uses them`, {
    file: recipeFile,
    next: `build the .debs (deb-<suite>), or remove tarball/module.lua.hbs from ${recipe.name}'s folder`,
  });
}

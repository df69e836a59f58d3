import { createNodesFromFiles, DependencyType, type CreateDependencies, type CreateNodesV2, type RawProjectGraphDependency } from '@nx/devkit';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { PharosError } from '../utils/errors';
import { parseBaseImageDefinition } from '../definitions/base-image';
import { checkArtifactSources, EMPTY_CONTAINER_DEFINITION, parseContainerDefinition, type ContainerDefinition } from '../definitions/container';
import { baseImages, normalizeImageRef, parseDockerfile } from '../definitions/dockerfile';
import { parseSourceRecipe } from '../definitions/source-recipe';
import { parseVmImageDefinition } from '../definitions/vm-image';
import { projectName } from './target-inputs';
import { imageProducers } from '../products/image-producers';
import { inferBaseImageProject } from './infer-base-image';
import { inferContainerProject, isApplicationContainer } from './infer-container';
import { inferDockerImageProject } from './infer-docker-image';
import { inferSourceBuildProject, TARBALL_TEMPLATE } from './infer-source-build';
import { inferVmImageProject } from './infer-vm-image';
import { inferOverlayProject, isOverlayScript, overlayTree, type OverlayDepEdge, type OverlayTree } from './infer-overlay';
import { inferDefImageProject, isOverlayDefinition } from './infer-def-image';
import { isOverlayAnswers } from '../definitions/overlay-answers';
import { parsePluginOptions, type PharosPluginOptions } from '../definitions/plugin-options';
import { overlapError, overlappingOutputs, withDeclaredOutputs } from './outputs-check';
import { workspaceFacts, type WorkspaceFacts } from './workspace-facts';

/**
 * The plugin's one entry point. A definition file in the tree is a project:
 *   <dir>/base-image.yaml  → a distribution base image (pulled, or bootstrapped from the Debian archive)
 *   <dir>/Dockerfile       → a Docker image
 *   containers/overlays/<name>/<version>.sh → an overlay (docs/overlays.md)
 *   containers/overlays/<name>/<version>.def → a SIF built from an Apptainer definition file (docs/overlays.md)
 * Adding such a folder adds the project; its targets come from here, refined by an optional project.json.
 */
export const createNodesV2: CreateNodesV2<PharosPluginOptions> = [
  // Every *.sh and *.def is matched (Nx takes one pattern per plugin); only those under containers/overlays/ are projects.
  // An overlay's <version>.answers is matched too, never a project: Nx hands over only the files it hashes (none that
  // .gitignore or .nxignore leave out), which is what an answers file must be to be in the overlay's key.
  '**/{Dockerfile,base-image.yaml,container.yaml,recipe.yaml,vm-image.yaml,*.sh,*.def,*.answers}',
  (matched, rawOptions, context) => {
    const options = reported(() => pluginOptions(rawOptions, context.workspaceRoot));
    const read = (file: string) => readFileSync(join(context.workspaceRoot, file), 'utf8');
    const files = matched.filter((f) => !/\.(sh|def|answers)$/.test(f));
    const scripts = matched.filter((f) => isOverlayScript(f) || isOverlayDefinition(f));
    // All definition files arrive together, so what other projects make is known before any project is inferred.
    const facts = workspaceFacts(files, read);
    const overlays = overlayTree(scripts, files, read, options.overlayBase, matched.filter(isOverlayAnswers));
    return createNodesFromFiles(
      (file, _options, ctx) =>
        reported(() => {
          const project = inferProject(file, ctx.workspaceRoot, facts, options, overlays);
          return project ? { projects: { [project.root]: withDeclaredOutputs(project) } } : {};
        }),
      [...files, ...scripts],
      options,
      context,
    );
  },
];

/** Nx prints only an error's message; ours carries file:line and the next step in format(). */
function reported<T>(work: () => T): T {
  try {
    return work();
  } catch (err) {
    throw err instanceof PharosError ? new Error(err.format()) : err;
  }
}

function pluginOptions(options: unknown, workspaceRoot: string): PharosPluginOptions {
  const nxJson = join(workspaceRoot, 'nx.json');
  return parsePluginOptions(options, existsSync(nxJson) ? readFileSync(nxJson, 'utf8') : undefined);
}

function baseProducersOf(dockerfile: string, workspaceRoot: string, producers: Map<string, string>, buildArgs: Record<string, string> = {}): string[] {
  const self = projectName(dirname(dockerfile));
  const refs = baseImages(parseDockerfile(readFileSync(join(workspaceRoot, dockerfile), 'utf8')), buildArgs);
  return [...new Set(refs.map((r) => producers.get(normalizeImageRef(r.ref))).filter((p): p is string => !!p && p !== self))];
}

function inferProject(file: string, workspaceRoot: string, facts: WorkspaceFacts, options: PharosPluginOptions, overlays: OverlayTree) {
  const full = join(workspaceRoot, file);
  if (isOverlayScript(file)) return inferOverlayProject(file, overlays);
  if (isOverlayDefinition(file)) return inferDefImageProject(file, overlays, facts.containers);
  switch (basename(file)) {
    case 'base-image.yaml':
      return inferBaseImageProject(file, parseBaseImageDefinition(readFileSync(full, 'utf8'), file));
    case 'vm-image.yaml':
      return inferVmImageProject(file, parseVmImageDefinition(readFileSync(full, 'utf8'), file), options.imagesWithout ?? [], facts.packages, facts.containers);
    case 'recipe.yaml':
      return inferSourceBuildProject(
        file,
        parseSourceRecipe(readFileSync(full, 'utf8'), file),
        existsSync(join(dirname(full), TARBALL_TEMPLATE)),
        facts.suites,
      );
    case 'container.yaml':
      // Read with its Dockerfile; matched here so a container.yaml without one is an error, not silence.
      if (!existsSync(join(dirname(full), 'Dockerfile'))) {
        throw new PharosError('container.yaml without a Dockerfile next to it', { file, next: 'add the Dockerfile, or remove container.yaml' });
      }
      return undefined;
    default: {
      if (!isApplicationContainer(file)) return inferDockerImageProject(file, baseProducersOf(file, workspaceRoot, facts.producers));
      const def = readContainerDefinition(workspaceRoot, join(dirname(file), 'container.yaml'));
      return inferContainerProject(file, def, baseProducersOf(file, workspaceRoot, facts.producers, def.buildArgs));
    }
  }
}

export function readContainerDefinition(workspaceRoot: string, file: string): ContainerDefinition {
  const full = join(workspaceRoot, file);
  return existsSync(full) ? parseContainerDefinition(readFileSync(full, 'utf8'), file) : structuredClone(EMPTY_CONTAINER_DEFINITION);
}

/**
 * `FROM <tag>` in a Dockerfile is an edge to the project that produces that tag; an artifact a container.yaml declares
 * is an edge to the project that makes it. Here the configuration is final (project.json merged), so this is also where
 * a graph whose targets write overlapping outputs is refused.
 */
export const createDependencies: CreateDependencies<PharosPluginOptions> = (_options, context) => {
  const overlap = overlapError(overlappingOutputs(context.projects));
  if (overlap) throw overlap;
  const producers = imageProducers(context.projects);
  const deps: RawProjectGraphDependency[] = [];
  // Keyed by project name; the root is in the configuration.
  for (const project of Object.values(context.projects)) {
    const overlay = (project.metadata as { pharos?: { overlay?: { deps: OverlayDepEdge[] } } } | undefined)?.pharos?.overlay;
    // An overlay's #DEP lines (a .def's From:), each with its file as the source, so `nx graph` shows where an edge comes from.
    for (const dep of overlay?.deps ?? []) {
      if (project.name) deps.push({ source: project.name, target: dep.project, type: DependencyType.static, sourceFile: dep.file });
    }
    const dockerfile = join(project.root, 'Dockerfile');
    const full = join(context.workspaceRoot, dockerfile);
    if (!existsSync(full) || !project.name) continue;
    for (const ref of baseImages(parseDockerfile(readFileSync(full, 'utf8')))) {
      const producer = producers.get(normalizeImageRef(ref.ref));
      if (producer && producer !== project.name) {
        deps.push({ source: project.name, target: producer, type: DependencyType.static, sourceFile: dockerfile });
      }
    }
    if (!isApplicationContainer(dockerfile)) continue;
    const definitionFile = join(project.root, 'container.yaml');
    const definitionPath = join(context.workspaceRoot, definitionFile);
    if (!existsSync(definitionPath)) continue;
    const definitionText = readFileSync(definitionPath, 'utf8');
    reported(() => checkArtifactSources(definitionText, definitionFile, context.projects));
    for (const artifact of parseContainerDefinition(definitionText, definitionFile).artifacts) {
      if (artifact.project !== project.name) {
        deps.push({ source: project.name, target: artifact.project, type: DependencyType.static, sourceFile: definitionFile });
      }
    }
  }
  return deps;
};

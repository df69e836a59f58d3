import {
  createNodesFromFiles,
  DependencyType,
  type CreateDependencies,
  type CreateNodesV2,
  type RawProjectGraphDependency,
} from '@nx/devkit';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { PharosError } from '../utils/errors';
import { parseBaseImageDefinition } from '../definitions/base-image';
import { EMPTY_CONTAINER_DEFINITION, parseContainerDefinition, type ContainerDefinition } from '../definitions/container';
import { baseImages, normalizeImageRef, parseDockerfile } from '../definitions/dockerfile';
import { parseSourceRecipe } from '../definitions/source-recipe';
import { parseVmImageDefinition } from '../definitions/vm-image';
import { dockerImageTag, projectName } from './target-inputs';
import { imageProducers } from '../products/image-producers';
import { inferBaseImageProject } from './infer-base-image';
import { inferContainerProject, isApplicationContainer } from './infer-container';
import { inferDockerImageProject } from './infer-docker-image';
import { inferSourceBuildProject, TARBALL_TEMPLATE } from './infer-source-build';
import { inferVmImageProject } from './infer-vm-image';
import { type PharosPluginOptions } from '../definitions/plugin-options';


/**
 * The plugin's one entry point. A definition file in the tree is a project:
 *   <dir>/base-image.yaml  → a distribution base image (pulled, or bootstrapped from the Debian archive)
 *   <dir>/Dockerfile       → a Docker image
 * Adding such a folder adds the project; its targets come from here, refined by an optional project.json.
 */
export const createNodesV2: CreateNodesV2<PharosPluginOptions> = [
  '**/{Dockerfile,base-image.yaml,container.yaml,recipe.yaml,vm-image.yaml}',
  (files, options, context) => {
    // All definition files arrive together, so which project makes which tag is known before any project is inferred.
    const producers = tagProducers(files, context.workspaceRoot);
    return createNodesFromFiles(
      (file, _options, ctx) => {
        try {
          const project = inferProject(file, ctx.workspaceRoot, producers, options ?? {});
          return project ? { projects: { [project.root]: project } } : {};
        } catch (err) {
          // Nx prints only the message; ours carries file:line and the next step in format().
          throw err instanceof PharosError ? new Error(err.format()) : err;
        }
      },
      files,
      options ?? {},
      context,
    );
  },
];

/** Image tag → the project that produces it. A definition that does not parse is skipped here and reported below. */
function tagProducers(files: readonly string[], workspaceRoot: string): Map<string, string> {
  const producers = new Map<string, string>();
  for (const file of files) {
    const name = projectName(dirname(file));
    if (basename(file) === 'Dockerfile') producers.set(dockerImageTag(name), name);
    if (basename(file) !== 'base-image.yaml') continue;
    try {
      producers.set(parseBaseImageDefinition(readFileSync(join(workspaceRoot, file), 'utf8'), file).tag, name);
    } catch {
      // reported when the file itself is inferred
    }
  }
  return producers;
}

function baseProducersOf(dockerfile: string, workspaceRoot: string, producers: Map<string, string>, buildArgs: Record<string, string> = {}): string[] {
  const self = projectName(dirname(dockerfile));
  const refs = baseImages(parseDockerfile(readFileSync(join(workspaceRoot, dockerfile), 'utf8')), buildArgs);
  return [...new Set(refs.map((r) => producers.get(normalizeImageRef(r.ref))).filter((p): p is string => !!p && p !== self))];
}

function inferProject(file: string, workspaceRoot: string, producers: Map<string, string>, options: PharosPluginOptions) {
  const full = join(workspaceRoot, file);
  switch (basename(file)) {
    case 'base-image.yaml':
      return inferBaseImageProject(file, parseBaseImageDefinition(readFileSync(full, 'utf8'), file));
    case 'vm-image.yaml':
      // For now the recipes of third-party/<project>; the recipe map computed once from all recipe.yaml files replaces it.
      return inferVmImageProject(file, parseVmImageDefinition(readFileSync(full, 'utf8'), file), options.imagesWithout ?? [], Object.fromEntries(parseVmImageDefinition(readFileSync(full, 'utf8'), file).packages.map((p) => `third-party/${p.project}`).filter((root) => existsSync(join(workspaceRoot, root, 'recipe.yaml'))).map((root) => [projectName(root), { root, release: parseSourceRecipe(readFileSync(join(workspaceRoot, root, 'recipe.yaml'), 'utf8'), `${root}/recipe.yaml`).defaultVersion }])));
    case 'recipe.yaml':
      return inferSourceBuildProject(file, parseSourceRecipe(readFileSync(full, 'utf8'), file), existsSync(join(dirname(full), TARBALL_TEMPLATE)), ['bookworm', 'trixie']);
    case 'container.yaml':
      // Read with its Dockerfile; matched here so a container.yaml without one is an error, not silence.
      if (!existsSync(join(dirname(full), 'Dockerfile'))) {
        throw new PharosError('container.yaml without a Dockerfile next to it', { file, next: 'add the Dockerfile, or remove container.yaml' });
      }
      return undefined;
    default: {
      if (!isApplicationContainer(file)) return inferDockerImageProject(file, baseProducersOf(file, workspaceRoot, producers));
      const def = readContainerDefinition(workspaceRoot, join(dirname(file), 'container.yaml'));
      return inferContainerProject(file, def, baseProducersOf(file, workspaceRoot, producers, def.buildArgs));
    }
  }
}

export function readContainerDefinition(workspaceRoot: string, file: string): ContainerDefinition {
  const full = join(workspaceRoot, file);
  return existsSync(full) ? parseContainerDefinition(readFileSync(full, 'utf8'), file) : structuredClone(EMPTY_CONTAINER_DEFINITION);
}

/**
 * `FROM <tag>` in a Dockerfile is an edge to the project that produces that tag; an artifact a container.yaml declares
 * is an edge to the project that makes it.
 */
export const createDependencies: CreateDependencies<PharosPluginOptions> = (_options, context) => {
  const producers = imageProducers(context.projects);
  const deps: RawProjectGraphDependency[] = [];
  // Keyed by project name; the root is in the configuration.
  for (const project of Object.values(context.projects)) {
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
    for (const artifact of readContainerDefinition(context.workspaceRoot, definitionFile).artifacts) {
      if (artifact.project !== project.name) {
        deps.push({ source: project.name, target: artifact.project, type: DependencyType.static, sourceFile: definitionFile });
      }
    }
  }
  return deps;
};

import {
  createNodesFromFiles,
  DependencyType,
  type CreateDependencies,
  type CreateNodesV2,
  type RawProjectGraphDependency,
} from '@nx/devkit';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseBaseImageDefinition } from './plugin/base-image-definition';
import { baseImages, normalizeImageRef, parseDockerfile } from './plugin/dockerfile';
import {
  imageProducers,
  inferBaseImageProject,
  inferDockerImageProject,
  type PharosPluginOptions,
} from './plugin/infer-projects';

export type { PharosPluginOptions } from './plugin/infer-projects';

/**
 * The plugin's one entry point. A definition file in the tree is a project:
 *   <dir>/base-image.yaml  → a distribution base image (pulled, or bootstrapped from the Debian archive)
 *   <dir>/Dockerfile       → a Docker image
 * Adding such a folder adds the project; its targets come from here, refined by an optional project.json.
 */
export const createNodesV2: CreateNodesV2<PharosPluginOptions> = [
  '**/{Dockerfile,base-image.yaml}',
  (files, options, context) =>
    createNodesFromFiles(
      (file, _options, ctx) => {
        const full = join(ctx.workspaceRoot, file);
        const project = basename(file) === 'Dockerfile'
          ? inferDockerImageProject(file)
          : inferBaseImageProject(file, parseBaseImageDefinition(readFileSync(full, 'utf8'), file));
        return { projects: { [project.root]: project } };
      },
      files,
      options ?? {},
      context,
    ),
];

/** `FROM <tag>` in a Dockerfile is an edge to the project that produces that tag. */
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
  }
  return deps;
};

import type { ProjectConfiguration } from '@nx/devkit';
import { definitionSummary, type ApptainerDefinition } from '../definitions/apptainer-definition';
import { OVERLAYS_ROOT, type OverlayPath } from '../definitions/overlay-path';
import { overlayTestFile } from '../definitions/overlay-test';
import { DEV_CONTAINER_PROJECT } from '../products/image';
import { overlayDir } from '../products/overlay';
import { asOutput, productDir } from '../products/paths';
import { sifFileNames, sifManifestPath, sifProductPaths } from '../products/sif';
import { PharosError } from '../utils/errors';
import { DEV_CONTAINER_IMAGE, failOn, type OverlayDepEdge, type OverlayTree } from './infer-overlay';
import { buildTarget, executorInputs, IMAGE_NPM_INPUTS, PLUGIN } from './target-inputs';

/**
 * `containers/overlays/<name>/<version>.def`, an Apptainer definition file, is the project `<name>-<version>`: a SIF
 * built by `apptainer build` on a container's SIF (`Bootstrap: localimage`, `From: dist/containers/<c>/<c>.sif`), a
 * real graph edge to `<c>:sif`. Anything else in `From:` would be a base the graph cannot build or key, so it is an
 * error naming the line. Tagged `overlay` with the build scripts beside it, so `--projects=tag:overlay` tests it too.
 */

export function isOverlayDefinition(file: string): boolean {
  return file.startsWith(`${OVERLAYS_ROOT}/`) && file.endsWith('.def');
}

export interface DefinitionBase {
  project: string;
  root: string;
  /** The `From:` line, the source of the graph edge. */
  line: number;
}

/**
 * The container project whose SIF `From:` names. `containers` maps each application container (the projects with a
 * `sif` target) to its root. `From:` is a path from the workspace root, where the build runs.
 */
export function definitionBase(def: ApptainerDefinition, containers: Record<string, string>): DefinitionBase {
  const bySif = new Map(Object.entries(containers).map(([project, root]) => [productDir(root, sifFileNames(project).sif), { project, root }]));
  const known = [...bySif.keys()].sort();
  const next = `write Bootstrap: localimage and From: <a container's SIF>, one of ${known.join(', ') || '(none: add containers/<name>/Dockerfile)'}`;
  const bootstrap = def.bootstrap;
  if (bootstrap.value.toLowerCase() !== 'localimage') {
    throw new PharosError(
      `Bootstrap: ${bootstrap.value}: a .def here is built on a Pharos SIF (Bootstrap: localimage); the build reaches no registry or archive`,
      {
        file: def.file,
        line: bootstrap.line,
        next,
      },
    );
  }
  const from = def.from;
  if (!from) throw new PharosError('Bootstrap: localimage names no image: From: is missing', { file: def.file, line: bootstrap.line, next });
  const base = bySif.get(from.value);
  if (base) return { ...base, line: from.line };
  const why = from.value.includes('://')
    ? 'is a URI, and the build reaches no registry'
    : "is not a container project's SIF, so Nx could neither build it first nor key the image on its digest";
  throw new PharosError(`From: ${from.value} ${why}`, { file: def.file, line: from.line, next });
}

export function inferDefImageProject(file: string, tree: OverlayTree, containers: Record<string, string>): ProjectConfiguration {
  const facts = tree.scripts.get(file);
  failOn(facts?.errors ?? []);
  const path = facts?.path as OverlayPath;
  const def = facts?.definition as ApptainerDefinition;
  const base = definitionBase(def, containers);
  const products = sifProductPaths(overlayDir(path.name), path.version);
  const options = { definition: file, base: { project: base.project, manifest: sifManifestPath(base.root, base.project) } };
  const edge: OverlayDepEdge = { project: base.project, file, line: base.line };
  return {
    // The file is the root, as for the build scripts beside it (infer-overlay.ts says why).
    root: file,
    name: path.projectName,
    projectType: 'application',
    tags: ['overlay'],
    // The base container is a static edge from the From: line (plugin.ts createDependencies), not an implicit one.
    implicitDependencies: [PLUGIN, DEV_CONTAINER_PROJECT],
    metadata: {
      description: definitionSummary(def),
      pharos: { overlay: { key: path.key, kind: 'def', deps: [edge] } },
    } as ProjectConfiguration['metadata'],
    targets: {
      sif: {
        executor: `${PLUGIN}:def-sif`,
        options,
        dependsOn: [{ projects: [base.project], target: 'sif' }, DEV_CONTAINER_IMAGE],
        inputs: [
          `{workspaceRoot}/${file}`,
          // What it is built on and with, by digest: the base SIF's manifest and the dev container's.
          { dependentTasksOutputFiles: '**/*.sif.json' },
          { dependentTasksOutputFiles: '**/image.json' },
          IMAGE_NPM_INPUTS,
          ...executorInputs('def-sif'),
        ],
        outputs: [products.sif, products.manifest].map(asOutput),
        cache: true,
      },
      build: { ...buildTarget(['sif']), inputs: [] },
      test: {
        executor: `${PLUGIN}:def-test`,
        options: { ...options, checks: overlayTestFile(file) },
        dependsOn: ['sif', DEV_CONTAINER_IMAGE],
        inputs: [
          `{workspaceRoot}/${overlayTestFile(file)}`,
          { dependentTasksOutputFiles: '**/*.sif.json', transitive: true },
          { dependentTasksOutputFiles: '**/image.json' },
          IMAGE_NPM_INPUTS,
          ...executorInputs('def-test'),
        ],
        cache: true,
      },
    },
  };
}

import type { ProjectConfiguration } from '@nx/devkit';
import { overlayAnswersFile } from '../definitions/overlay-answers';
import { overlayClosure } from '../definitions/overlay-graph';
import { OVERLAYS_ROOT, overlayProjectName } from '../definitions/overlay-path';
import { readOverlayScripts, type OverlayScripts, type ScriptFacts } from '../definitions/overlay-tree';
import { overlayTestFile } from '../definitions/overlay-test';
import { DEFAULT_OVERLAY_BASE } from '../definitions/plugin-options';
import { PharosError } from '../utils/errors';
import { DEV_CONTAINER_PROJECT } from '../products/image';
import { overlayDir, overlayManifestPath, overlayProductPaths } from '../products/overlay';
import { asOutput } from '../products/paths';
import { sifManifestPath } from '../products/sif';
import { buildTarget, executorInputs, IMAGE_NPM_INPUTS, PLUGIN } from './target-inputs';

/**
 * `containers/overlays/<name>/<version>.sh` is an overlay project, `<name>-<version>`. The scripts arrive together,
 * so the #DEP graph is resolved once for the tree (definitions/overlay-graph.ts) and each script's project gets its
 * dependencies' overlay tasks, the base SIF and the #DEP closure it mounts. A problem of one script (its header, its
 * path, one of its #DEP lines, a cycle it is in) fails that script's project, with the file and line.
 */

export function isOverlayScript(file: string): boolean {
  return file.startsWith(`${OVERLAYS_ROOT}/`) && file.endsWith('.sh');
}

/** The dev container runs Apptainer and mksquashfs for the overlay, .def and test targets. */
export const DEV_CONTAINER_IMAGE = { projects: [DEV_CONTAINER_PROJECT], target: 'image' };

/** A #DEP edge as the project graph takes it (createDependencies), in the project's metadata. */
export interface OverlayDepEdge {
  project: string;
  file: string;
  line: number;
}

/** Fails a project on its errors: one as it is (Nx prints its file and line), several as one message listing each. */
export function failOn(errors: readonly PharosError[]): void {
  if (errors.length === 1) throw errors[0];
  if (errors.length) throw new Error(errors.map((e) => e.format()).join('\n'));
}

export interface OverlayTree extends OverlayScripts {
  base: { project: string; root: string } | { error: PharosError };
  /** The `<version>.answers` files Nx hashes (lib/overlay/answers.ts). */
  answers: ReadonlySet<string>;
}

/**
 * Every script read and the #DEP graph resolved (definitions/overlay-tree.ts), and the base SIF found among the
 * container projects (`files` holds every definition file the plugin was handed, Dockerfiles included).
 */
export function overlayTree(
  scripts: readonly string[],
  files: readonly string[],
  read: (file: string) => string,
  baseOption?: string,
  answers: readonly string[] = [],
): OverlayTree {
  const { scripts: facts, graph } = readOverlayScripts(scripts, read);
  const project = baseOption ?? DEFAULT_OVERLAY_BASE;
  const root = `containers/${project}`;
  const base = files.includes(`${root}/Dockerfile`)
    ? { project, root }
    : {
        error: new PharosError(
          `the overlays are built on the SIF of the container project "${project}"${baseOption ? ' (the plugin option overlayBase)' : ' (the default of the plugin option overlayBase)'}, and there is no ${root}/Dockerfile`,
          {
            file: 'nx.json',
            next: `add ${root}/ (docs/containers.md), or set "overlayBase" in the @pharos/nx-plugin options of nx.json to a container under containers/`,
          },
        ),
      };
  return { scripts: facts, graph, base, answers: new Set(answers) };
}

export function inferOverlayProject(file: string, tree: OverlayTree): ProjectConfiguration {
  const facts = tree.scripts.get(file);
  failOn([...(facts?.errors ?? []), ...('error' in tree.base ? [tree.base.error] : [])]);
  const { path, script } = facts as Required<ScriptFacts>;
  const base = tree.base as { project: string; root: string };
  const edges = tree.graph.edges.filter((e) => e.source === path.key);
  const project = (key: string) => overlayProjectName(...(key.split('/') as [string, string]));
  const deps = overlayClosure(tree.graph, path.key).map((key) => ({
    overlay: key,
    project: project(key),
    manifest: overlayManifestPath(...(key.split('/') as [string, string])),
  }));
  const products = overlayProductPaths(overlayDir(path.name), path.version);
  const options = { script: file, base: { project: base.project, manifest: sifManifestPath(base.root, base.project) }, deps };
  const baseSif = { projects: [base.project], target: 'sif' };
  // The answers to #INTERACTIVE: prompts are in the key; the executor takes the file only when Nx hashes it.
  const answers = script.interactive.length ? overlayAnswersFile(path.name, path.version) : undefined;
  return {
    // The script itself is the root: several versions share a folder, and a root owns the files at or under it, so
    // `nx affected` sees an edit of this script as this project's.
    root: file,
    name: path.projectName,
    projectType: 'application',
    tags: ['overlay'],
    implicitDependencies: [PLUGIN, DEV_CONTAINER_PROJECT, base.project],
    metadata: {
      description: script.whatis,
      pharos: { overlay: { key: path.key, type: script.type, deps: edges.map((e) => ({ project: project(e.target), file: e.file, line: e.line })) } },
    } as ProjectConfiguration['metadata'],
    targets: {
      overlay: {
        executor: `${PLUGIN}:overlay`,
        options: { ...options, ...(answers && tree.answers.has(answers) ? { answers } : {}) },
        dependsOn: [baseSif, DEV_CONTAINER_IMAGE, ...edges.map((e) => ({ projects: [project(e.target)], target: 'overlay' }))],
        inputs: [
          `{workspaceRoot}/${file}`,
          ...(answers ? [`{workspaceRoot}/${answers}`] : []),
          // What it is built on, by digest: each #DEP overlay's manifest, the base SIF's and the dev container's.
          { dependentTasksOutputFiles: '**/*.sqf.json' },
          { dependentTasksOutputFiles: '**/*.sif.json' },
          { dependentTasksOutputFiles: '**/image.json' },
          IMAGE_NPM_INPUTS,
          ...executorInputs('overlay'),
        ],
        outputs: [products.sqf, products.env, products.manifest].map(asOutput),
        cache: true,
      },
      // No `{projectRoot}` inputs anywhere (the default's `{projectRoot}/**/*` included): Nx's native hasher maps files
      // to projects by their folders only, so it finds none for a root that is a file and refuses to hash the task.
      build: { ...buildTarget(['overlay']), inputs: [] },
      test: {
        executor: `${PLUGIN}:overlay-test`,
        options: { ...options, checks: overlayTestFile(file) },
        dependsOn: ['overlay', baseSif, DEV_CONTAINER_IMAGE],
        inputs: [
          `{workspaceRoot}/${overlayTestFile(file)}`,
          { dependentTasksOutputFiles: '**/*.sqf.json', transitive: true },
          { dependentTasksOutputFiles: '**/*.sif.json' },
          { dependentTasksOutputFiles: '**/image.json' },
          IMAGE_NPM_INPUTS,
          ...executorInputs('overlay-test'),
        ],
        cache: true,
      },
    },
  };
}

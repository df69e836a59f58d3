import type { ProjectConfiguration } from '@nx/devkit';
import { dirname, posix } from 'node:path';
import { withoutProjects, type VmImageDefinition } from '../definitions/vm-image';
import { PharosError } from '../utils/errors';
import { debTarget } from '../products/debs';
import { asOutput, debsDir } from '../products/paths';
import { baseDiskDir, vmImageDir, vmImageOutputs } from '../products/vm-image';
import { buildTarget, DEBIAN_MIRROR_INPUT, executorInputs, PLUGIN, projectName } from './target-inputs';
import type { PackageProject } from './workspace-facts';

/** Packer's and QEMU's versions, printed by the plugin: both shape a VM image. */
export const VM_TOOL_VERSIONS = { runtime: 'node packages/nx-pharos/bin/pharos.cjs tool-versions packer qemu' } as const;

/**
 * `packer/<name>/vm-image.yaml`: a QEMU VM image built by Packer. `base-disk` (the first image of a chain) makes its
 * disk from the Debian archive; `image` builds the template from that disk or from the `from` project's image;
 * `validate` and `fmt` check the template; `build` and `test` group them.
 */
export function inferVmImageProject(
  definitionFile: string,
  fullDef: VmImageDefinition,
  imagesWithout: string[],
  packages: Record<string, PackageProject>,
  containerRoots: Record<string, string> = {},
): ProjectConfiguration {
  // A site without some sources (BeeGFS) leaves their packages out by saying so; the image records it.
  const without = imagesWithout.filter((p) => fullDef.packages.some((pkg) => pkg.project === p));
  const def = withoutProjects(fullDef, without);
  const root = dirname(definitionFile);
  const name = projectName(root);
  const options = { definition: definitionFile };
  // Shared files (a template or scripts of another folder) are named one by one: `{projectRoot}/**` misses them.
  const inWorkspace = (rel: string) => `{workspaceRoot}/${posix.normalize(posix.join(root, rel))}`;
  const templateInputs = [inWorkspace(def.template), inWorkspace(`${def.seed}/*.hbs`)];
  const referenced = [...templateInputs, ...def.provision.map(inWorkspace), ...def.files.map((f) => inWorkspace(f.template))];
  const base = def.baseDisk ? 'base-disk' : { projects: [def.from as string], target: 'image' };
  const packageProjects = [...new Set(def.packages.map((p) => p.project))];
  // The folders of the .debs go into the image's options, so the recipe's release is part of its cache key.
  const debs = packageProjects.map((project) => {
    const source = packages[project];
    if (!source)
      throw new PharosError(`"packages" names ${project}, which is not a project with a recipe.yaml`, {
        file: definitionFile,
        next: 'name a project under third-party/ whose recipe builds for this suite',
      });
    return { project, dir: debsDir(source.root, source.release, def.suite) };
  });
  const isComputeNode = !!def.cluster?.nodes.includes(name) && def.cluster.controller !== name;
  const isController = def.cluster?.controller === name;
  // The containers a compute node's verify runs from BeeGFS: their SIF is an input, and their checks are.
  const containers = (isComputeNode ? (def.cluster?.containers ?? []) : []).map((project) => {
    const root = containerRoots[project];
    if (root === undefined)
      throw new PharosError(`"cluster.containers" names ${project}, which is not an application container project`, {
        file: definitionFile,
        next: `name a folder under containers/ (one with a Dockerfile): ${Object.keys(containerRoots).sort().join(', ') || 'there is none'}`,
      });
    return { project, root };
  });
  return {
    root,
    name,
    projectType: 'application',
    tags: ['packer', `suite:${def.suite}`],
    // A compute node's verify boots its controller's image too; `nx affected` sees only project edges.
    implicitDependencies: [
      PLUGIN,
      ...(def.from ? [def.from] : []),
      ...packageProjects,
      ...(isComputeNode ? [def.cluster?.controller as string] : []),
      ...containers.map((c) => c.project),
    ],
    targets: {
      ...(def.baseDisk
        ? {
            'base-disk': {
              executor: `${PLUGIN}:vm-base-disk`,
              options: { ...options, outputPath: baseDiskDir('{projectRoot}') },
              inputs: [`{projectRoot}/${def.baseDisk.script}`, '{projectRoot}/vm-image.yaml', DEBIAN_MIRROR_INPUT, ...executorInputs('vm-base-disk')],
              outputs: [asOutput(baseDiskDir('{projectRoot}'))],
              cache: true,
            },
          }
        : {}),
      validate: {
        executor: `${PLUGIN}:packer-validate`,
        options,
        inputs: [...templateInputs, '{projectRoot}/vm-image.yaml', VM_TOOL_VERSIONS, ...executorInputs('packer-validate')],
        cache: true,
      },
      fmt: { executor: `${PLUGIN}:packer-fmt`, options, cache: false },
      image: {
        executor: `${PLUGIN}:packer-image`,
        options: {
          ...options,
          outputPath: vmImageDir('{projectRoot}'),
          // Not its containers: they are the verify's, and must not rebuild the image.
          ...(def.cluster ? { cluster: { controller: def.cluster.controller, nodes: def.cluster.nodes } } : {}),
          ...(without.length ? { without } : {}),
          ...(debs.length ? { debs } : {}),
        },
        // The .debs of the image's suite, whatever the package projects' `deb` defaults to.
        dependsOn: ['validate', base, ...packageProjects.map((p) => ({ projects: [p], target: debTarget(def.suite) }))],
        inputs: [
          // The project's files, the shared files it names, its base disk's digest and the digests of its .debs.
          '{projectRoot}/**/*',
          ...referenced,
          { dependentTasksOutputFiles: '**/base.json' },
          { dependentTasksOutputFiles: '**/vm-image.json' },
          { dependentTasksOutputFiles: '**/debs.json' },
          VM_TOOL_VERSIONS,
          ...executorInputs('packer-image'),
        ],
        outputs: vmImageOutputs(name),
        cache: true,
      },
      ...(isComputeNode
        ? {
            verify: {
              executor: `${PLUGIN}:vm-cluster-verify`,
              options: { controller: def.cluster?.controller, nodes: [name], ...(containers.length ? { containers: containers.map((c) => c.project) } : {}) },
              dependsOn: [
                'image',
                { projects: [def.cluster?.controller as string], target: 'image' },
                ...(containers.length ? [{ projects: containers.map((c) => c.project), target: 'sif' }] : []),
              ],
              inputs: [
                { dependentTasksOutputFiles: '**/vm-image.json' },
                ...(containers.length ? [{ dependentTasksOutputFiles: '**/*.sif.json' }] : []),
                ...containers.map((c) => `{workspaceRoot}/${c.root}/container.yaml`),
                ...executorInputs('vm-cluster-verify'),
              ],
              cache: true,
            },
          }
        : {}),
      build: buildTarget(['image']),
      // A compute node's check is the booted cluster; the controller's is that of its nodes.
      test: {
        executor: 'nx:noop',
        dependsOn: isComputeNode
          ? ['validate', 'verify']
          : isController
            ? ['validate', { projects: def.cluster?.nodes as string[], target: 'verify' }]
            : ['validate', 'image'],
        cache: true,
      },
    },
  };
}

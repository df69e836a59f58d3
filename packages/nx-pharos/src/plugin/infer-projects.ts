import type { ProjectConfiguration, TargetConfiguration } from '@nx/devkit';

/** One entry of a target's `inputs` (Nx does not export the name). */
type InputDefinition = Exclude<NonNullable<TargetConfiguration['inputs']>[number], string>;
import { basename, dirname, posix } from 'node:path';
import type { BaseImageDefinition } from './base-image-definition';
import type { ContainerDefinition } from './container-definition';
import type { SourceRecipe } from './source-recipe';
import { withoutProjects, type VmImageDefinition } from './vm-image-definition';

/**
 * Pure inference: a definition file in the tree becomes a project with `build` and `test` and the finer steps those
 * depend on. Everything here is data in, data out, so it is unit-tested without Nx or Docker.
 */

/** The plugin's options in nx.json (`plugins: [{ plugin: "@pharos/nx-plugin", options: {…} }]`). */
export interface PharosPluginOptions {
  /**
   * Package projects the VM images are built without, for a site that cannot get their sources (e.g. ["beegfs"]).
   * Explicit on purpose: without it, a missing package is an error naming what to supply.
   */
  imagesWithout?: string[];
}

export const PLUGIN = '@pharos/nx-plugin';

/** Files of the plugin that shape an executor's product; changing them must rebuild what it made. */
const PLUGIN_SRC = '{workspaceRoot}/packages/nx-pharos/src';

export function executorSourceInputs(executor: string, tools: string[]): string[] {
  return [
    `${PLUGIN_SRC}/executors/${executor}/executor.ts`,
    `${PLUGIN_SRC}/executors/${executor}/schema.json`,
    ...tools.map((t) => `${PLUGIN_SRC}/tools/${t}.ts`),
  ];
}

export function imageOutputs(): string[] {
  return ['{workspaceRoot}/dist/{projectRoot}/image.tar', '{workspaceRoot}/dist/{projectRoot}/image.json'];
}

/**
 * The image targets of the projects whose images a Dockerfile builds FROM. Named explicitly rather than as `^image`:
 * a container also depends on the dev container (its SIF is made there), and `^image` would put the dev container's
 * manifest into the key of every Docker image built beside it.
 */
export function baseImageTasks(producers: string[]): Array<{ projects: string[]; target: string }> {
  return producers.map((p) => ({ projects: [p], target: 'image' }));
}

/** The manifests of the images a target builds on, or runs in: their IDs are the honest part of the cache key. */
export const UPSTREAM_IMAGE_MANIFESTS = { dependentTasksOutputFiles: '**/image.json', transitive: true } as const;

/**
 * The npm packages that shape image products. Without this Nx would hash every external dependency, and a test-runner
 * upgrade would rebuild a gigabyte of images.
 */
export const IMAGE_NPM_INPUTS: InputDefinition = { externalDependencies: ['dockerode'] };
export const DEFINITION_NPM_INPUTS: InputDefinition = { externalDependencies: ['dockerode', 'yaml'] };

export const DEBIAN_MIRROR_INPUT = { runtime: 'node packages/nx-pharos/bin/pharos.cjs debian-mirror' } as const;

function buildTarget(dependsOn: string[]): TargetConfiguration {
  return { executor: 'nx:noop', dependsOn, cache: true };
}

export function projectName(projectRoot: string): string {
  return basename(projectRoot);
}

export function dockerImageTag(name: string): string {
  return `pharos/${name}:latest`;
}

export function inferBaseImageProject(definitionFile: string, def: BaseImageDefinition): ProjectConfiguration {
  const root = dirname(definitionFile);
  return {
    root,
    name: projectName(root),
    projectType: 'application',
    tags: ['base-image', `suite:${def.suite}`],
    // The plugin's executors shape this project's products (they are in its cache keys); `nx affected` only sees
    // project edges, so say it.
    implicitDependencies: [PLUGIN],
    metadata: { pharos: { imageTags: [def.tag] } } as ProjectConfiguration['metadata'],
    targets: {
      image: {
        executor: `${PLUGIN}:base-image`,
        options: { definition: definitionFile, outputPath: 'dist/{projectRoot}' },
        inputs: [
          '{projectRoot}/base-image.yaml',
          DEBIAN_MIRROR_INPUT,
          { env: 'PHAROS_BASE_IMAGE_SOURCE' },
          DEFINITION_NPM_INPUTS,
          ...executorSourceInputs('base-image', ['debootstrap', 'image-manifest']),
        ],
        outputs: imageOutputs(),
        cache: true,
      },
      build: buildTarget(['image']),
      test: {
        executor: `${PLUGIN}:image-test`,
        options: {
          manifest: 'dist/{projectRoot}/image.json',
          checks: [{ name: 'os-release names the suite', command: '. /etc/os-release && echo "$VERSION_CODENAME"', expectOutput: def.suite }],
        },
        dependsOn: ['image'],
        inputs: [UPSTREAM_IMAGE_MANIFESTS, IMAGE_NPM_INPUTS, ...executorSourceInputs('image-test', ['image-manifest']), `${PLUGIN_SRC}/plugin/image-check.ts`],
        cache: true,
      },
    },
  };
}

/** `baseProducers`: the projects that produce the Dockerfile's FROM images (see `baseImageTasks`). */
export function inferDockerImageProject(dockerfile: string, baseProducers: string[] = []): ProjectConfiguration {
  const root = dirname(dockerfile);
  const name = projectName(root);
  return {
    root,
    name,
    projectType: 'application',
    tags: ['docker-image'],
    implicitDependencies: [PLUGIN],
    metadata: { pharos: { imageTags: [dockerImageTag(name)] } } as ProjectConfiguration['metadata'],
    targets: {
      image: {
        executor: `${PLUGIN}:docker-image`,
        options: { dockerfile, context: root, tag: dockerImageTag(name), outputPath: 'dist/{projectRoot}' },
        dependsOn: baseImageTasks(baseProducers),
        inputs: ['{projectRoot}/**/*', UPSTREAM_IMAGE_MANIFESTS, IMAGE_NPM_INPUTS, ...executorSourceInputs('docker-image', ['image-manifest'])],
        outputs: imageOutputs(),
        cache: true,
      },
      build: buildTarget(['image']),
      test: {
        executor: `${PLUGIN}:image-test`,
        options: { manifest: 'dist/{projectRoot}/image.json', checks: [] },
        dependsOn: ['image'],
        inputs: [UPSTREAM_IMAGE_MANIFESTS, IMAGE_NPM_INPUTS, ...executorSourceInputs('image-test', ['image-manifest']), `${PLUGIN_SRC}/plugin/image-check.ts`],
        cache: true,
      },
    },
  };
}

/** The dev container runs Apptainer for the SIF and test targets, so its image is an input of both. */
export const DEV_CONTAINER_PROJECT = 'dev-container';
const DEV_CONTAINER_IMAGE = { projects: [DEV_CONTAINER_PROJECT], target: 'image' };

/** `containers/<name>/Dockerfile` is an application container: an image, its SIF, and tests in both runtimes. */
export function isApplicationContainer(dockerfile: string): boolean {
  return basename(dirname(dirname(dockerfile))) === 'containers';
}

export function sifOutputs(name: string): string[] {
  return ['sif', 'sif.json', 'sif.pub.pem'].map((ext) => `{workspaceRoot}/dist/{projectRoot}/${name}.${ext}`);
}

export function inferContainerProject(dockerfile: string, def: ContainerDefinition, baseProducers: string[] = []): ProjectConfiguration {
  const root = dirname(dockerfile);
  const name = projectName(root);
  const definitionFile = `${root}/container.yaml`;
  return {
    root,
    name,
    projectType: 'application',
    tags: ['container'],
    // The dev container's Apptainer makes and tests the SIF, so a new toolchain re-tests every container.
    implicitDependencies: [PLUGIN, DEV_CONTAINER_PROJECT],
    metadata: { pharos: { imageTags: [dockerImageTag(name)] } } as ProjectConfiguration['metadata'],
    targets: {
      image: {
        executor: `${PLUGIN}:docker-image`,
        options: {
          dockerfile,
          context: root,
          tag: dockerImageTag(name),
          outputPath: 'dist/{projectRoot}',
          ...(Object.keys(def.buildArgs).length ? { buildArgs: def.buildArgs } : {}),
          ...(def.artifacts.length ? { artifacts: def.artifacts } : {}),
        },
        dependsOn: [...baseImageTasks(baseProducers), ...def.artifacts.map((a) => ({ projects: [a.project], target: a.target }))],
        inputs: [
          // container.yaml's build sections reach the key through these options; its test section must not.
          '{projectRoot}/**/*',
          '!{projectRoot}/container.yaml',
          UPSTREAM_IMAGE_MANIFESTS,
          ...def.artifacts.flatMap((a) => a.files.map((f) => ({ dependentTasksOutputFiles: f }))),
          IMAGE_NPM_INPUTS,
          ...executorSourceInputs('docker-image', ['image-manifest']),
          `${PLUGIN_SRC}/executors/docker-image/build-context.ts`,
        ],
        outputs: imageOutputs(),
        cache: true,
      },
      sif: {
        executor: `${PLUGIN}:sif`,
        options: {
          manifest: 'dist/{projectRoot}/image.json',
          outputPath: 'dist/{projectRoot}',
          ...(def.sif.compression ? { compression: def.sif.compression } : {}),
          ...(def.sif.compressionLevel ? { compressionLevel: def.sif.compressionLevel } : {}),
          ...(def.sif.sign ? { sign: true, signRequiredBy: `${definitionFile} sif.sign` } : {}),
        },
        dependsOn: ['image', DEV_CONTAINER_IMAGE],
        inputs: [
          { dependentTasksOutputFiles: '**/image.json' },
          // Which key signs shapes the product; the passphrase does not.
          { env: 'PHAROS_SIF_SIGNING_KEY_FILE' },
          { env: 'PHAROS_SIF_SIGNING_KEY' },
          IMAGE_NPM_INPUTS,
          ...executorSourceInputs('sif', ['apptainer', 'sif-manifest', 'image-manifest', 'dev-container']),
          `${PLUGIN_SRC}/executors/sif/signing-key.ts`,
          `${PLUGIN_SRC}/utils/signing-material.ts`,
        ],
        outputs: sifOutputs(name),
        cache: true,
      },
      build: buildTarget(['image', 'sif']),
      test: {
        executor: `${PLUGIN}:image-test`,
        options: { manifest: 'dist/{projectRoot}/image.json', definition: definitionFile, sif: `dist/{projectRoot}/${name}.sif.json` },
        dependsOn: ['image', 'sif', DEV_CONTAINER_IMAGE],
        inputs: [
          '{projectRoot}/container.yaml',
          { dependentTasksOutputFiles: '**/image.json' },
          { dependentTasksOutputFiles: '**/*.sif.json' },
          IMAGE_NPM_INPUTS,
          ...executorSourceInputs('image-test', ['apptainer', 'sif-manifest', 'image-manifest', 'dev-container']),
          `${PLUGIN_SRC}/plugin/container-definition.ts`,
          `${PLUGIN_SRC}/plugin/image-check.ts`,
        ],
        cache: true,
      },
    },
  };
}

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
export function inferSourceBuildProject(recipeFile: string, recipe: SourceRecipe, withTarball: boolean): ProjectConfiguration {
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
  const sourceBuildInputs = [`${PLUGIN_SRC}/utils/source-build.ts`, `${PLUGIN_SRC}/utils/build-log.ts`, `${PLUGIN_SRC}/utils/shell.ts`, `${PLUGIN_SRC}/plugin/source-recipe.ts`];
  const verifyExecutor = VERIFY_EXECUTORS[recipe.name];
  const debTarget: TargetConfiguration = {
    executor: `${PLUGIN}:deb`,
    // Not forwarded: fetch takes none of deb's other options; deb fetches another --release itself, the same way.
    dependsOn: ['fetch', ...suiteImages],
    inputs: [
      recipeSources,
      suiteImageInputs,
      ...executorSourceInputs('deb', ['source-fetch', 'dpkg', 'suite-image', 'image-manifest']),
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
      ...executorSourceInputs(verifyExecutor, ['suite-image', 'image-manifest', 'gpg']),
      `${PLUGIN_SRC}/executors/${verifyExecutor}/*.sh`,
      `${PLUGIN_SRC}/utils/verify-products.ts`,
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
                ...executorSourceInputs('tarball', ['source-fetch', 'relocatable', 'suite-image', 'image-manifest', 'gpg']),
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

/** Packer's and QEMU's versions, printed by the plugin: both shape a VM image. */
export const VM_TOOL_VERSIONS = { runtime: 'node packages/nx-pharos/bin/pharos.cjs tool-versions packer qemu' } as const;

/**
 * `packer/<name>/vm-image.yaml`: a QEMU VM image built by Packer. `base-disk` (the first image of a chain) makes its
 * disk from the Debian archive; `image` builds the template from that disk or from the `from` project's image;
 * `validate` and `fmt` check the template; `build` and `test` group them.
 */
export function inferVmImageProject(definitionFile: string, fullDef: VmImageDefinition, imagesWithout: string[] = []): ProjectConfiguration {
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
  const isComputeNode = !!def.cluster?.nodes.includes(name) && def.cluster.controller !== name;
  const isController = def.cluster?.controller === name;
  return {
    root,
    name,
    projectType: 'application',
    tags: ['packer', `suite:${def.suite}`],
    implicitDependencies: [PLUGIN, ...(def.from ? [def.from] : []), ...packageProjects],
    targets: {
      ...(def.baseDisk
        ? {
            'base-disk': {
              executor: `${PLUGIN}:vm-base-disk`,
              options: { ...options, outputPath: 'dist/{projectRoot}/base' },
              inputs: [`{projectRoot}/${def.baseDisk.script}`, '{projectRoot}/vm-image.yaml', DEBIAN_MIRROR_INPUT, ...executorSourceInputs('vm-base-disk', ['debian-mirror'])],
              outputs: ['{workspaceRoot}/dist/{projectRoot}/base'],
              cache: true,
            },
          }
        : {}),
      validate: {
        executor: `${PLUGIN}:packer-validate`,
        options,
        inputs: [...templateInputs, '{projectRoot}/vm-image.yaml', VM_TOOL_VERSIONS, ...executorSourceInputs('packer-validate', ['packer', 'ssh-key']), `${PLUGIN_SRC}/executors/packer-image/stage.ts`],
        cache: true,
      },
      fmt: { executor: `${PLUGIN}:packer-fmt`, options, cache: false },
      image: {
        executor: `${PLUGIN}:packer-image`,
        options: { ...options, outputPath: 'dist/{projectRoot}', ...(def.cluster ? { cluster: def.cluster } : {}), ...(without.length ? { without } : {}) },
        // The .debs of the image's suite, whatever the package projects' `deb` defaults to.
        dependsOn: ['validate', base, ...packageProjects.map((p) => ({ projects: [p], target: `deb-${def.suite}` }))],
        inputs: [
          // The project's files, the shared files it names, its base disk's digest and the digests of its .debs.
          '{projectRoot}/**/*',
          ...referenced,
          { dependentTasksOutputFiles: '**/base.json' },
          { dependentTasksOutputFiles: '**/vm-image.json' },
          { dependentTasksOutputFiles: '**/debs.json' },
          VM_TOOL_VERSIONS,
          ...executorSourceInputs('packer-image', ['packer', 'qemu', 'ssh-key']),
          `${PLUGIN_SRC}/executors/packer-image/stage.ts`,
          `${PLUGIN_SRC}/plugin/vm-image-definition.ts`,
        ],
        outputs: ['qcow2', 'qcow2.sha256'].map((ext) => `{workspaceRoot}/dist/{projectRoot}/${name}.${ext}`)
          .concat(['{workspaceRoot}/dist/{projectRoot}/packer-manifest.json', '{workspaceRoot}/dist/{projectRoot}/vm-image.json']),
        cache: true,
      },
      ...(isComputeNode
        ? {
            verify: {
              executor: `${PLUGIN}:vm-cluster-verify`,
              options: { controller: def.cluster?.controller, nodes: [name] },
              dependsOn: ['image', { projects: [def.cluster?.controller as string], target: 'image' }],
              inputs: [
                { dependentTasksOutputFiles: '**/vm-image.json' },
                ...executorSourceInputs('vm-cluster-verify', ['qemu', 'ssh', 'ssh-key']),
                `${PLUGIN_SRC}/executors/vm-cluster-verify/cluster-seed.ts`,
              ],
              cache: true,
            },
          }
        : {}),
      build: buildTarget(['image']),
      // A compute node's check is the booted cluster; the controller's is that of its nodes.
      test: {
        executor: 'nx:noop',
        dependsOn: isComputeNode ? ['validate', 'verify'] : isController ? ['validate', { projects: def.cluster?.nodes as string[], target: 'verify' }] : ['validate', 'image'],
        cache: true,
      },
    },
  };
}

/** Which project produces each image tag, from the metadata inference wrote. */
export function imageProducers(projects: Record<string, Pick<ProjectConfiguration, 'name' | 'metadata'>>): Map<string, string> {
  const producers = new Map<string, string>();
  for (const [root, p] of Object.entries(projects)) {
    const tags = (p.metadata as { pharos?: { imageTags?: string[] } } | undefined)?.pharos?.imageTags ?? [];
    for (const t of tags) producers.set(t, p.name ?? root);
  }
  return producers;
}

import type { ExecutorContext } from '@nx/devkit';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseVmImageDefinition, withoutProjects, type VmImageDefinition } from '../../definitions/vm-image';
import { BASE_DISK_MANIFEST, baseDiskDir, VM_IMAGE_MANIFEST, vmImageDir, type DiskProduct } from '../../products/vm-image';
import { sifManifestPath } from '../../products/sif';
import { PharosError } from '../../utils/errors';
import { projectRootOf, taskLabel, workspacePath } from '../../utils/executor';

/** Minutes for a whole `packer build` (QEMU is killed after it). */
export const DEFAULT_BUILD_TIMEOUT_MINUTES = 120;
/**
 * For all provisioning scripts together. hpc-compute's DKMS build of the BeeGFS client takes 11 minutes under TCG on
 * an idle 2-core machine, and ran past 25 on one that was also compiling (the old 30-minute limit stopped it).
 */
export const DEFAULT_PROVISION_TIMEOUT_MINUTES = 75;
/** Minutes Packer waits for SSH: a first boot with cloud-init takes 1-3 minutes under TCG. */
export const DEFAULT_SSH_TIMEOUT_MINUTES = { kvm: 5, tcg: 20 } as const;
/** Minutes per VM of a verify cluster, to SSH with cloud-init done. */
export const DEFAULT_BOOT_TIMEOUT_MINUTES = 10;

/** A package project's .debs for the image's suite: the folder its `deb-<suite>` target writes (set by the plugin). */
export interface DebsSource {
  project: string;
  dir: string;
}

/** The options of every image-building executor of the family (each schema allows its own subset). */
export interface VmImageOptions {
  definition: string;
  /** The Slurm cluster the image joins (rendered into its files); defaults from vm-image.yaml. */
  cluster?: { controller: string; nodes: string[] };
  /** Package projects left out, as the plugin option imagesWithout asked (with the scripts that need them). */
  without?: string[];
  /** The .debs of `packages`, one folder per package project. */
  debs?: DebsSource[];
  outputPath?: string;
  timeoutMinutes?: number;
  sshTimeoutMinutes?: number;
  provisionTimeoutMinutes?: number;
}

export interface NormalizedVmImageOptions {
  name: string;
  label: string;
  /** Absolute. */
  projectDir: string;
  /** Workspace-relative, for messages. */
  definitionFile: string;
  /** The definition without the `without` projects. */
  def: VmImageDefinition;
  without: string[];
  cluster?: { controller: string; nodes: string[] };
  debs: DebsSource[];
  /** Absolute: the image's folder, or the base disk's for `product: 'base-disk'`. */
  outputDir: string;
  /** The disk the image starts from: its own base disk, or the image of the project named in `from`. */
  base: DiskProduct;
  timeoutMinutes: number;
  sshTimeoutMinutes: (accelerator: string) => number;
  provisionTimeoutMinutes: number;
}

export function normalizeVmImageOptions(options: VmImageOptions, context: ExecutorContext, product: 'image' | 'base-disk' = 'image'): NormalizedVmImageOptions {
  const name = context.projectName as string;
  const root = projectRootOf(context);
  const file = workspacePath(options.definition, context);
  const definitionFile = relative(context.root, file);
  const without = options.without ?? [];
  const def = withoutProjects(parseVmImageDefinition(readFileSync(file, 'utf8'), definitionFile), without);
  const defaultOutput = product === 'base-disk' ? baseDiskDir(root) : vmImageDir(root);
  return {
    name,
    label: taskLabel(context),
    projectDir: join(context.root, root),
    definitionFile,
    def,
    without,
    cluster: options.cluster ?? def.cluster,
    debs: options.debs ?? [],
    outputDir: workspacePath(options.outputPath ?? defaultOutput, context),
    base: baseDiskOf(def, root, context),
    timeoutMinutes: options.timeoutMinutes ?? DEFAULT_BUILD_TIMEOUT_MINUTES,
    sshTimeoutMinutes: (accelerator) =>
      options.sshTimeoutMinutes ?? (accelerator === 'kvm' ? DEFAULT_SSH_TIMEOUT_MINUTES.kvm : DEFAULT_SSH_TIMEOUT_MINUTES.tcg),
    provisionTimeoutMinutes: options.provisionTimeoutMinutes ?? DEFAULT_PROVISION_TIMEOUT_MINUTES,
  };
}

function baseDiskOf(def: VmImageDefinition, root: string, context: ExecutorContext): DiskProduct {
  if (def.baseDisk) return { manifest: join(context.root, baseDiskDir(root), BASE_DISK_MANIFEST), producer: `${context.projectName}:base-disk` };
  const from = context.projectsConfigurations?.projects[def.from as string];
  if (!from)
    throw new PharosError(`"from" names ${def.from}, which is not a project`, { step: taskLabel(context), next: 'name an image project under packer/' });
  return { manifest: join(context.root, vmImageDir(from.root), VM_IMAGE_MANIFEST), producer: `${def.from}:image` };
}

export interface VmClusterOptions {
  /** The image project of the controller (slurmctld), and those of the compute nodes (slurmd). */
  controller: string;
  nodes: string[];
  /** Application container projects whose SIF is deployed into BeeGFS and run through Slurm on the compute node. */
  containers?: string[];
  bootTimeoutMinutes?: number;
}

/** A container the cluster runs: its SIF product and the container.yaml whose checks it runs. */
export interface ClusterContainer {
  project: string;
  sifManifest: string;
  definition: string;
}

export interface NormalizedVmClusterOptions {
  label: string;
  /** The controller first, then the compute nodes. */
  names: string[];
  /** Each node's image, in the order of `names`. */
  images: DiskProduct[];
  /** The compute node whose jobs are checked. */
  compute: string;
  containers: ClusterContainer[];
  bootTimeoutMinutes: number;
}

export function normalizeVmClusterOptions(options: VmClusterOptions, context: ExecutorContext): NormalizedVmClusterOptions {
  const label = taskLabel(context);
  const names = [options.controller, ...options.nodes];
  const images = names.map((project) => {
    const root = context.projectsConfigurations?.projects[project]?.root;
    if (root === undefined) throw new PharosError(`${project} is not a project`, { step: label });
    return { manifest: join(context.root, vmImageDir(root), VM_IMAGE_MANIFEST), producer: `${project}:image` };
  });
  const containers = (options.containers ?? []).map((project) => {
    const root = context.projectsConfigurations?.projects[project]?.root;
    if (root === undefined) throw new PharosError(`${project} (in "containers") is not a project`, { step: label });
    return { project, sifManifest: join(context.root, sifManifestPath(root, project)), definition: join(context.root, root, 'container.yaml') };
  });
  return { label, names, images, compute: options.nodes[0], containers, bootTimeoutMinutes: options.bootTimeoutMinutes ?? DEFAULT_BOOT_TIMEOUT_MINUTES };
}

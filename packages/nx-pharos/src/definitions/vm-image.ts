import { DEBIAN_NAME, parseYamlFile, RELATIVE_PATH, SUITE_NAME, type Shape } from './validate';

/**
 * `packer/<name>/vm-image.yaml`: a QEMU VM image built by Packer. The first image of a chain makes its base disk from
 * the Debian archive (`baseDisk`); the others start `from` another image project's product. Pure: text in, data out.
 */
export interface VmImageDefinition {
  suite: string;
  /** How the first disk is made: a script of the project, run as root on the host (no loop devices, no mounts). */
  baseDisk?: { script: string; size: string };
  /** The image project whose qcow2 this one starts from. */
  from?: string;
  /** Packer HCL2 template, relative to the project. */
  template: string;
  /** Folder with the cloud-init NoCloud templates user-data.hbs and meta-data.hbs. */
  seed: string;
  /** Provisioning scripts, run by Packer in order as root. */
  provision: string[];
  /** Scripts that only make sense with a package project's .debs (dropped with it by `withoutProjects`). */
  provisionRequires: Record<string, string>;
  /** Guest resources for the build. */
  cpus: number;
  memory: number;
  /** .debs built by other projects' `deb` targets (for this image's suite), uploaded to the guest for the scripts. */
  packages: Array<{ project: string; names: string[] }>;
  /** Handlebars templates rendered with the cluster values into the upload folder. */
  files: Array<{ template: string; name: string }>;
  /**
   * The Slurm cluster the image belongs to; defaults of the image target's options. `containers` are application
   * container projects whose SIF a compute node's verify deploys into BeeGFS and runs through Slurm, with their own
   * container.yaml checks: the images exist to run them.
   */
  cluster?: { controller: string; nodes: string[]; containers?: string[] };
}

/** Where the guest finds the uploaded .debs (`debs/`) and rendered files. */
export const GUEST_UPLOAD_DIR = '/tmp/pharos-upload';

const HOSTNAME: Shape = { kind: 'string', pattern: /^[a-z][a-z0-9-]*$/, expect: 'be a host name such as hpc-compute' };
const COUNT: Shape = { kind: 'number', integer: true, min: 1, expect: 'be a positive integer' };

const VM_IMAGE_YAML: Shape = {
  kind: 'map',
  required: ['suite', 'template'],
  fields: {
    suite: SUITE_NAME,
    baseDisk: {
      kind: 'map',
      required: ['script'],
      fields: { script: RELATIVE_PATH, size: { kind: 'string', pattern: /^\d+M$/, expect: 'be in MiB, such as 4096M' } },
    },
    from: { kind: 'string', pattern: /^[a-z0-9][a-z0-9-]*$/, expect: 'name an image project, such as cloud-base' },
    template: RELATIVE_PATH,
    seed: RELATIVE_PATH,
    provision: {
      kind: 'list',
      of: {
        kind: 'scalarOrMap',
        scalar: RELATIVE_PATH,
        map: {
          kind: 'map',
          required: ['script', 'requires'],
          fields: { script: RELATIVE_PATH, requires: { kind: 'string', expect: 'name a package project' } },
        },
      },
    },
    cpus: COUNT,
    memory: COUNT,
    packages: {
      kind: 'list',
      of: { kind: 'map', required: ['project', 'names'], fields: { project: { kind: 'string' }, names: { kind: 'list', of: DEBIAN_NAME, nonEmpty: true } } },
    },
    files: {
      kind: 'list',
      of: {
        kind: 'map',
        required: ['template', 'name'],
        fields: { template: RELATIVE_PATH, name: { kind: 'string', pattern: /^[A-Za-z0-9._-]+$/, expect: 'be a file name' } },
      },
    },
    cluster: {
      kind: 'map',
      required: ['controller', 'nodes'],
      fields: {
        controller: HOSTNAME,
        nodes: { kind: 'list', of: HOSTNAME, nonEmpty: true },
        containers: { kind: 'list', of: { kind: 'string', pattern: /^[a-z0-9][a-z0-9._-]*$/, expect: 'be a container project name such as openmpi' } },
      },
    },
  },
};

type RawVmImage = Omit<VmImageDefinition, 'provision' | 'provisionRequires' | 'seed' | 'cpus' | 'memory' | 'packages' | 'files' | 'baseDisk'> &
  Partial<Pick<VmImageDefinition, 'seed' | 'cpus' | 'memory' | 'packages' | 'files'>> & {
    baseDisk?: { script: string; size?: string };
    provision?: Array<string | { script: string; requires: string }>;
  };

export function parseVmImageDefinition(text: string, file: string): VmImageDefinition {
  const { data, fail } = parseYamlFile<RawVmImage>(text, file, VM_IMAGE_YAML);
  if ((data.baseDisk === undefined) === (data.from === undefined)) {
    fail(data.from === undefined ? '' : 'from', 'an image needs exactly one of "baseDisk" (made from the Debian archive) and "from" (another image project)');
  }
  const provisionRequires: Record<string, string> = {};
  const provision = (data.provision ?? []).map((p) => {
    if (typeof p === 'string') return p;
    provisionRequires[p.script] = p.requires;
    return p.script;
  });
  return {
    suite: data.suite,
    ...(data.baseDisk ? { baseDisk: { script: data.baseDisk.script, size: data.baseDisk.size ?? '4096M' } } : {}),
    ...(data.from ? { from: data.from } : {}),
    template: data.template,
    seed: data.seed ?? 'seed',
    provision,
    provisionRequires,
    cpus: data.cpus ?? 2,
    memory: data.memory ?? 1536,
    packages: data.packages ?? [],
    files: data.files ?? [],
    ...(data.cluster ? { cluster: data.cluster } : {}),
  };
}

/**
 * The definition without some package projects, as a site without their sources asks explicitly (the plugin option
 * imagesWithout in nx.json): their .debs and the scripts that require them are dropped, and the image says so.
 */
export function withoutProjects(def: VmImageDefinition, without: string[]): VmImageDefinition {
  if (!without.length) return def;
  return {
    ...def,
    packages: def.packages.filter((p) => !without.includes(p.project)),
    provision: def.provision.filter((s) => !without.includes(def.provisionRequires[s] ?? '')),
  };
}

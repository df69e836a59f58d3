import { parse } from 'yaml';
import { PharosError } from '../utils/errors';

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
  /** The Slurm cluster the image belongs to; defaults of the image target's options. */
  cluster?: { controller: string; nodes: string[] };
}

/** Where the guest finds the uploaded .debs (`debs/`) and rendered files. */
export const GUEST_UPLOAD_DIR = '/tmp/pharos-upload';

const KNOWN_KEYS = ['suite', 'baseDisk', 'from', 'template', 'seed', 'provision', 'cpus', 'memory', 'packages', 'files', 'cluster'];
const NAME = /^[a-z0-9][a-z0-9.+-]*$/;
const RELATIVE = /^(?!\/)[A-Za-z0-9._/-]+$/;

export function parseVmImageDefinition(text: string, file: string): VmImageDefinition {
  let data: Record<string, unknown>;
  try {
    data = (parse(text) ?? {}) as Record<string, unknown>;
  } catch (err) {
    throw new PharosError(`invalid YAML: ${(err as Error).message.split('\n')[0]}`, { file });
  }
  if (typeof data !== 'object' || Array.isArray(data)) throw new PharosError('expected a mapping', { file });
  for (const key of Object.keys(data)) {
    if (!KNOWN_KEYS.includes(key)) throw new PharosError(`unknown key "${key}" (known: ${KNOWN_KEYS.join(', ')})`, { file, next: `remove or rename "${key}"` });
  }
  const path = (key: string, value: unknown): string => {
    if (typeof value !== 'string' || !RELATIVE.test(value)) throw new PharosError(`"${key}" must be a path relative to the project`, { file });
    return value;
  };
  if (typeof data.suite !== 'string' || !/^[a-z][a-z0-9-]*$/.test(data.suite)) throw new PharosError('"suite" must be a Debian suite name such as bookworm', { file });
  if ((data.baseDisk === undefined) === (data.from === undefined)) {
    throw new PharosError('an image needs exactly one of "baseDisk" (made from the Debian archive) and "from" (another image project)', { file });
  }
  let baseDisk: VmImageDefinition['baseDisk'];
  if (data.baseDisk !== undefined) {
    const b = data.baseDisk as Record<string, unknown>;
    if (typeof b !== 'object' || b === null) throw new PharosError('"baseDisk" must be a mapping with "script"', { file });
    const size = String(b.size ?? '4096M');
    if (!/^\d+M$/.test(size)) throw new PharosError('"baseDisk.size" must be in MiB, such as 4096M', { file });
    baseDisk = { script: path('baseDisk.script', b.script), size };
  }
  if (data.from !== undefined && (typeof data.from !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(data.from))) {
    throw new PharosError('"from" must name an image project, such as cloud-base', { file });
  }
  const provision = data.provision ?? [];
  if (!Array.isArray(provision)) throw new PharosError('"provision" must be a list of scripts', { file });
  const provisionRequires: Record<string, string> = {};
  const scripts = provision.map((p: unknown, i: number) => {
    if (typeof p === 'object' && p !== null && !Array.isArray(p)) {
      const entry = p as Record<string, unknown>;
      const script = path(`provision[${i}].script`, entry.script);
      if (typeof entry.requires !== 'string') throw new PharosError(`"provision[${i}].requires" must name a package project`, { file });
      provisionRequires[script] = entry.requires;
      return script;
    }
    return path(`provision[${i}]`, p);
  });
  const count = (key: string, fallback: number): number => {
    const v = data[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new PharosError(`"${key}" must be a positive integer`, { file });
    return v;
  };
  const packages = (data.packages ?? []) as Array<Record<string, unknown>>;
  if (!Array.isArray(packages) || packages.some((p) => typeof p?.project !== 'string' || !Array.isArray(p.names) || !p.names.length || p.names.some((n) => typeof n !== 'string' || !NAME.test(n)))) {
    throw new PharosError('"packages" must be a list of { project, names: [Debian package names] }', { file });
  }
  const files = (data.files ?? []) as Array<Record<string, unknown>>;
  if (!Array.isArray(files) || files.some((f) => typeof f?.name !== 'string' || !/^[A-Za-z0-9._-]+$/.test(f.name as string))) {
    throw new PharosError('"files" must be a list of { template, name }', { file });
  }
  let cluster: VmImageDefinition['cluster'];
  if (data.cluster !== undefined) {
    const c = data.cluster as Record<string, unknown>;
    if (typeof c?.controller !== 'string' || !Array.isArray(c.nodes) || !c.nodes.length || [c.controller, ...c.nodes].some((n) => typeof n !== 'string' || !/^[a-z][a-z0-9-]*$/.test(n))) {
      throw new PharosError('"cluster" must be { controller: <hostname>, nodes: [<hostname>, …] }', { file });
    }
    cluster = { controller: c.controller, nodes: c.nodes as string[] };
  }
  return {
    suite: data.suite,
    ...(baseDisk ? { baseDisk } : {}),
    ...(data.from ? { from: data.from as string } : {}),
    template: path('template', data.template),
    seed: path('seed', data.seed ?? 'seed'),
    provision: scripts,
    provisionRequires,
    cpus: count('cpus', 2),
    memory: count('memory', 1536),
    packages: packages.map((p) => ({ project: p.project as string, names: p.names as string[] })),
    files: files.map((f, i) => ({ template: path(`files[${i}].template`, f.template), name: f.name as string })),
    ...(cluster ? { cluster } : {}),
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

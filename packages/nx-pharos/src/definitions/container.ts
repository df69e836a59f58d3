import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { PharosError } from '../utils/errors';
import type { ImageCheck } from './image-check';

/**
 * `containers/<name>/container.yaml`: everything about an application container that its Dockerfile cannot say.
 * Every section is optional. The `test` section shapes only the `test` target (its checks are read when the test
 * runs), so editing a check re-runs that test and nothing else; the other sections shape the image and the SIF.
 */

export const SQUASHFS_COMPRESSIONS = ['gzip', 'lz4', 'lzo', 'xz', 'zstd'] as const;
export type SquashfsCompression = (typeof SQUASHFS_COMPRESSIONS)[number];
export const RUNTIMES = ['docker', 'apptainer'] as const;
export type Runtime = (typeof RUNTIMES)[number];

/** A file another project's target produces, copied into the build context before `docker build`. */
export interface ContainerArtifact {
  project: string;
  target: string;
  /** Workspace-relative paths; the last segment may hold `*` or `?`. Also the Nx input that hashes them. */
  files: string[];
  /** Folder in the build context the files land in, flat. */
  into: string;
}

export interface SifSettings {
  compression?: SquashfsCompression;
  compressionLevel?: number;
  sign?: boolean;
}

export interface ContainerCheck extends ImageCheck {
  runtimes?: Runtime[];
}

export interface ContainerDefinition {
  buildArgs: Record<string, string>;
  artifacts: ContainerArtifact[];
  sif: SifSettings;
  test: { runtimes: Runtime[]; checks: ContainerCheck[] };
}

export const EMPTY_CONTAINER_DEFINITION: ContainerDefinition = {
  buildArgs: {},
  artifacts: [],
  sif: {},
  test: { runtimes: [...RUNTIMES], checks: [] },
};

/** A tiny schema language: enough to name the exact key and line of a mistake. */
type Shape =
  | { kind: 'string' }
  | { kind: 'number'; integer?: boolean; min?: number; max?: number }
  | { kind: 'boolean' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'list'; of: Shape; orSingle?: boolean }
  | { kind: 'map'; fields: Record<string, Shape>; required?: string[] }
  | { kind: 'dict'; of: Shape };

const CHECK: Shape = {
  kind: 'map',
  required: ['command'],
  fields: {
    name: { kind: 'string' },
    command: { kind: 'string' },
    expectOutput: { kind: 'string' },
    expectOutputContains: { kind: 'list', of: { kind: 'string' }, orSingle: true },
    expectExitCode: { kind: 'number', integer: true, min: 0, max: 255 },
    runtimes: { kind: 'list', of: { kind: 'enum', values: RUNTIMES } },
  },
};

const CONTAINER_YAML: Shape = {
  kind: 'map',
  fields: {
    buildArgs: { kind: 'dict', of: { kind: 'string' } },
    artifacts: {
      kind: 'list',
      of: {
        kind: 'map',
        required: ['project', 'files'],
        fields: {
          project: { kind: 'string' },
          target: { kind: 'string' },
          files: { kind: 'list', of: { kind: 'string' }, orSingle: true },
          into: { kind: 'string' },
        },
      },
    },
    sif: {
      kind: 'map',
      fields: {
        compression: { kind: 'enum', values: SQUASHFS_COMPRESSIONS },
        compressionLevel: { kind: 'number', integer: true, min: 1, max: 22 },
        sign: { kind: 'boolean' },
      },
    },
    test: {
      kind: 'map',
      fields: {
        runtimes: { kind: 'list', of: { kind: 'enum', values: RUNTIMES } },
        checks: { kind: 'list', of: CHECK },
      },
    },
  },
};

class Validator {
  constructor(private readonly file: string, private readonly lines: LineCounter) {}

  private fail(node: Node | null | undefined, message: string, next?: string): never {
    const offset = node?.range?.[0];
    const line = offset === undefined ? undefined : this.lines.linePos(offset).line;
    throw new PharosError(message, { file: this.file, line, next });
  }

  value(node: Node | null | undefined, shape: Shape, path: string): unknown {
    switch (shape.kind) {
      case 'string':
      case 'number':
      case 'boolean': {
        if (!isScalar(node) || typeof node.value !== shape.kind) this.fail(node, `"${path}" must be a ${shape.kind}`);
        const v = node.value as string | number | boolean;
        if (shape.kind === 'number') {
          const n = v as number;
          if ((shape.integer && !Number.isInteger(n)) || (shape.min !== undefined && n < shape.min) || (shape.max !== undefined && n > shape.max)) {
            this.fail(node, `"${path}" must be ${shape.integer ? 'an integer' : 'a number'} from ${shape.min} to ${shape.max}, got ${n}`);
          }
        }
        return v;
      }
      case 'enum':
        if (!isScalar(node) || typeof node.value !== 'string' || !shape.values.includes(node.value)) {
          this.fail(node, `"${path}" must be one of ${shape.values.join(', ')}, got ${JSON.stringify(isScalar(node) ? node.value : node?.toJSON())}`);
        }
        return node.value;
      case 'list':
        if (shape.orSingle && isScalar(node)) return [this.value(node, shape.of, path)];
        if (!isSeq(node)) this.fail(node, `"${path}" must be a list`);
        return node.items.map((item, i) => this.value(item as Node, shape.of, `${path}[${i}]`));
      case 'dict': {
        if (!isMap(node)) this.fail(node, `"${path}" must be a mapping`);
        const out: Record<string, unknown> = {};
        for (const pair of node.items) out[String((pair.key as Node & { value?: unknown })?.toJSON?.() ?? pair.key)] = this.value(pair.value as Node, shape.of, `${path}.${String(pair.key)}`);
        return out;
      }
      case 'map': {
        if (!isMap(node)) this.fail(node, `${path ? `"${path}"` : 'the file'} must be a mapping`);
        const out: Record<string, unknown> = {};
        for (const pair of node.items) {
          const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
          const where = path ? `${path}.${key}` : key;
          const field = shape.fields[key];
          if (!field) {
            this.fail(pair.key as Node, `unknown key "${where}" (known here: ${Object.keys(shape.fields).join(', ')})`, `remove or rename "${key}"`);
          }
          out[key] = this.value(pair.value as Node, field, where);
        }
        for (const key of shape.required ?? []) {
          if (!(key in out)) this.fail(node, `${path ? `"${path}"` : 'the file'} lacks "${key}"`);
        }
        return out;
      }
    }
  }
}

export function parseContainerDefinition(text: string, file: string): ContainerDefinition {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length) {
    const [first] = doc.errors;
    throw new PharosError(`invalid YAML: ${first.message.split('\n')[0]}`, { file, line: first.linePos?.[0]?.line });
  }
  if (doc.contents === null) return structuredClone(EMPTY_CONTAINER_DEFINITION);
  const raw = new Validator(file, lines).value(doc.contents as Node, CONTAINER_YAML, '') as {
    buildArgs?: Record<string, string>;
    artifacts?: Array<{ project: string; target?: string; files: string[]; into?: string }>;
    sif?: SifSettings;
    test?: { runtimes?: Runtime[]; checks?: Array<ContainerCheck & { expectOutputContains?: string[] }> };
  };
  return {
    buildArgs: raw.buildArgs ?? {},
    artifacts: (raw.artifacts ?? []).map((a) => ({
      project: a.project,
      target: a.target ?? 'build',
      files: a.files,
      into: a.into ?? `artifacts/${a.project}`,
    })),
    sif: raw.sif ?? {},
    test: { runtimes: raw.test?.runtimes ?? [...RUNTIMES], checks: raw.test?.checks ?? [] },
  };
}

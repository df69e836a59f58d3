import type { ImageCheck } from './image-check';
import { parseYamlFile, type Shape } from './validate';

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
  /** How long the check may run in each runtime before its container is stopped (`90s`, `10m`); DEFAULT_CHECK_TIMEOUT. */
  timeout?: string;
}

/** A check that has not finished after this long hangs: its container is stopped and removed, and the test fails. */
export const DEFAULT_CHECK_TIMEOUT = '10m';

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
    timeout: { kind: 'duration' },
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

/** What the graph knows of a project, for checking the artifacts a container.yaml names. */
export interface KnownProject {
  targets?: Record<string, unknown>;
}

/**
 * Refuses an artifact of a project or target that does not exist: Nx would drop the dependency without a word, and
 * the build would then fail later, on a pattern that matched no file, or take a stale file from an old run.
 */
export function checkArtifactSources(text: string, file: string, projects: Record<string, KnownProject>): void {
  const parsed = parseYamlFile<{ artifacts?: Array<{ project: string; target?: string }> }>(text, file, CONTAINER_YAML);
  (parsed.data.artifacts ?? []).forEach((a, i) => {
    const at = `artifacts[${i}]`;
    const project = projects[a.project];
    if (!project) {
      parsed.fail(`${at}.project`, `"${at}.project" names no project: "${a.project}"`, `name a project of this workspace (npx nx show projects lists them)`);
    }
    const target = a.target ?? 'build';
    if (!project.targets?.[target]) {
      const known = Object.keys(project.targets ?? {}).sort();
      parsed.fail(
        `${at}.${a.target ? 'target' : 'project'}`,
        `"${at}.target": project ${a.project} has no target "${target}"${a.target ? '' : ' (the default)'}`,
        `name one of its targets: ${known.join(', ') || '(it has none)'}`,
      );
    }
  });
}

export function parseContainerDefinition(text: string, file: string): ContainerDefinition {
  const raw = parseYamlFile<{
    buildArgs?: Record<string, string>;
    artifacts?: Array<{ project: string; target?: string; files: string[]; into?: string }>;
    sif?: SifSettings;
    test?: { runtimes?: Runtime[]; checks?: ContainerCheck[] };
  }>(text, file, CONTAINER_YAML).data;
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

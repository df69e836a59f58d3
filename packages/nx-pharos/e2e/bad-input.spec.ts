import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyWorkspace, nx, removeDir, type NxRun } from './harness';

/**
 * The bad-input corpus: a typo in every file the tree holds, in nx.json's plugin options, in the sources config and on
 * the command line, each run through the real Nx CLI by the smallest command that surfaces it. Every case must fail
 * with a non-zero exit and the exact message (file:line, what is wrong, what to do next), and must leave dist/ and
 * the source cache as they were. No case reaches a container: the
 * graph (`nx show projects`) or an executor's checks before any work stop each one, so the file takes about as long
 * as its Nx start-ups.
 *
 * Adding a case is one row of CASES.
 */

/** The sources config (PHAROS_SOURCES_CONFIG), outside the workspace like a site's; in `says`, stands for its path. */
const SOURCES_CONFIG = '<sources config>';

interface BadInput {
  /** What is wrong. */
  name: string;
  /** The file the bad input goes in: workspace-relative, or SOURCES_CONFIG. None for a bad command line. */
  file?: string;
  /** Makes the bad text from the good one ('' when the file does not exist). */
  edit?: (good: string) => string;
  /** The Nx command; the project graph by default, which is where every definition file is read. */
  run?: string[];
  env?: Record<string, string>;
  /**
   * Lines the output must hold, exactly: the `pharos:` line and its `next:` line. `line(text)` is the line of the bad
   * file where `text` starts, so a case does not break when the good file grows.
   */
  says: (line: (text: string) => number) => string[];
}

/** An edit that fails loudly once the good text no longer holds what it replaces, rather than testing nothing. */
const swap =
  (from: string, to: string) =>
  (good: string): string => {
    if (!good.includes(from)) throw new Error(`the good file no longer holds ${JSON.stringify(from)}`);
    return good.replace(from, to);
  };
const append = (more: string) => (good: string) => `${good.trimEnd()}\n${more}\n`;

const GRAPH = ['show', 'projects'];
/** An executor alone, never its dependencies (which build images), and never a cache hit instead of the run. */
const task = (target: string, ...options: string[]) => ['run', target, ...options, '--exclude-task-dependencies', '--skip-nx-cache'];

const BASE_IMAGE = 'containers/debian-trixie/base-image.yaml';
const CONTAINER = 'containers/python-science/container.yaml';
const DOCKERFILE = 'containers/base-tools/Dockerfile';
const RECIPE = 'third-party/slurm/recipe.yaml';
const VM_IMAGE = 'packer/hpc-compute/vm-image.yaml';
const FIRST_VM_IMAGE = 'packer/cloud-base/vm-image.yaml';
/** The recipe's pin of slurm 24.11.5's source. */
const PIN = 'e1a5547edd212c38b5e3230a284133f777b32746551f094aaa81cc4af375e332';
const OTHER_DIGEST = `f${PIN.slice(1)}`;
const withPluginOptions = (options: string) =>
  swap('"plugins": ["@pharos/nx-plugin"]', `"plugins": [{ "plugin": "@pharos/nx-plugin", "options": ${options} }]`);
const unknownKey = (file: string, line: number, path: string, known: string) => [
  `pharos: ${file}:${line}: unknown key "${path}" (known here: ${known})`,
  `next: remove or rename "${path.split('.').pop()}"`,
];
const CHECK_KEYS = 'name, command, expectOutput, expectOutputContains, expectExitCode, runtimes, timeout';
const DOCKERFILE_NEXT = 'next: fix the instruction on that line';

const CASES: BadInput[] = [
  // base-image.yaml
  {
    name: 'base-image.yaml: a tab as indentation',
    file: BASE_IMAGE,
    edit: append('include:\n\t- curl'),
    says: (line) => [`pharos: ${BASE_IMAGE}:${line('\t- curl')}: invalid YAML: Tabs are not allowed as indentation`],
  },
  {
    name: 'base-image.yaml: an unknown key',
    file: BASE_IMAGE,
    edit: append('tags: debian:trixie'),
    says: (line) => unknownKey(BASE_IMAGE, line('tags:'), 'tags', 'distribution, suite, variant, tag, include'),
  },
  {
    name: 'base-image.yaml: a suite that is a list',
    file: BASE_IMAGE,
    edit: swap('suite: trixie', 'suite: [trixie]'),
    says: (line) => [`pharos: ${BASE_IMAGE}:${line('suite:')}: "suite" must be a Debian suite name such as bookworm or trixie`],
  },
  {
    name: 'base-image.yaml: a tag that is a number',
    file: BASE_IMAGE,
    edit: append('tag: 13'),
    says: (line) => [`pharos: ${BASE_IMAGE}:${line('tag: 13')}: "tag" must be a string, got 13`],
  },
  {
    name: 'base-image.yaml: an unsupported distribution',
    file: BASE_IMAGE,
    edit: append('distribution: ubuntu'),
    says: (line) => [`pharos: ${BASE_IMAGE}:${line('distribution:')}: unsupported distribution "ubuntu" (supported: debian)`],
  },

  // container.yaml (read with its Dockerfile, test section included)
  {
    name: 'container.yaml: a quote left open',
    file: CONTAINER,
    edit: swap('expectOutput: "10.0"', 'expectOutput: "10.0'),
    says: (line) => [`pharos: ${CONTAINER}:${line('expectOutput: "10.0')}: invalid YAML: Missing closing "quote`],
  },
  {
    name: 'container.yaml: an unknown key in a check',
    file: CONTAINER,
    edit: swap('expectOutput: "[2.0, 3.0]"', 'expectOuput: "[2.0, 3.0]"'),
    says: (line) => unknownKey(CONTAINER, line('expectOuput:'), 'test.checks[1].expectOuput', CHECK_KEYS),
  },
  {
    name: 'container.yaml: a check without a command',
    file: CONTAINER,
    edit: append('    - name: no command\n      expectOutput: "1"'),
    says: (line) => [`pharos: ${CONTAINER}:${line('name: no command')}: "test.checks[3]" lacks "command"`],
  },
  {
    name: 'container.yaml: an unknown SIF compression',
    file: CONTAINER,
    edit: append('sif:\n  compression: bzip2'),
    says: (line) => [`pharos: ${CONTAINER}:${line('compression:')}: "sif.compression" must be one of gzip, lz4, lzo, xz, zstd, got "bzip2"`],
  },
  {
    name: 'container.yaml: a check timeout that is not a duration',
    file: CONTAINER,
    edit: append('    - command: "true"\n      timeout: 10 minutes'),
    says: (line) => [`pharos: ${CONTAINER}:${line('timeout:')}: "test.checks[3].timeout" must be a duration such as 90s, 10m or 1h30m, got "10 minutes"`],
  },
  {
    name: 'container.yaml: an expected exit code out of range',
    file: CONTAINER,
    edit: append('    - command: "false"\n      expectExitCode: 256'),
    says: (line) => [`pharos: ${CONTAINER}:${line('expectExitCode:')}: "test.checks[3].expectExitCode" must be an integer from 0 to 255, got 256`],
  },
  {
    name: 'container.yaml: an unknown runtime',
    file: CONTAINER,
    edit: swap('test:\n', 'test:\n  runtimes: [podman]\n'),
    says: (line) => [`pharos: ${CONTAINER}:${line('podman')}: "test.runtimes[0]" must be one of docker, apptainer, got "podman"`],
  },
  {
    name: 'container.yaml: an artifact of a project that does not exist',
    file: CONTAINER,
    edit: append('artifacts:\n  - project: slurn\n    files: [dist/x]'),
    says: (line) => [
      // Checked where the graph's edges are made, so Nx puts its own words before ours on the line.
      `The "@pharos/nx-plugin" plugin threw an error while creating dependencies: pharos: ${CONTAINER}:${line('project: slurn')}: "artifacts[0].project" names no project: "slurn"`,
      'next: name a project of this workspace (npx nx show projects lists them)',
    ],
  },
  {
    name: 'container.yaml: an artifact of a target the project does not have',
    file: CONTAINER,
    edit: append('artifacts:\n  - project: slurm\n    target: debz\n    files: [dist/x]'),
    says: (line) => [
      `The "@pharos/nx-plugin" plugin threw an error while creating dependencies: pharos: ${CONTAINER}:${line('target: debz')}: "artifacts[0].target": project slurm has no target "debz"`,
      'next: name one of its targets: build, deb, deb-bookworm, deb-trixie, fetch, tarball, test, verify, verify-deb, verify-deb-bookworm, verify-deb-trixie, verify-tarball',
    ],
  },
  {
    name: 'container.yaml: without a Dockerfile',
    file: 'containers/debian-trixie/container.yaml',
    edit: () => 'sif:\n  compression: zstd\n',
    says: () => [
      'pharos: containers/debian-trixie/container.yaml: container.yaml without a Dockerfile next to it',
      'next: add the Dockerfile, or remove container.yaml',
    ],
  },

  // Dockerfile (checked by the image executor before it asks the engine for anything)
  {
    name: 'Dockerfile: an unknown instruction',
    file: DOCKERFILE,
    edit: append('COPPY x /y'),
    run: task('base-tools:image'),
    says: (line) => [`pharos: ${DOCKERFILE}:${line('COPPY')}: Dockerfile syntax error: unknown instruction: COPPY`, DOCKERFILE_NEXT],
  },
  {
    name: 'Dockerfile: an instruction before FROM',
    file: DOCKERFILE,
    edit: (good) => `RUN true\n${good}`,
    run: task('base-tools:image'),
    says: () => [`pharos: ${DOCKERFILE}:1: Dockerfile syntax error: the first instruction must be FROM (or ARG), found RUN`, DOCKERFILE_NEXT],
  },

  // recipe.yaml
  {
    name: 'recipe.yaml: a key given twice',
    file: RECIPE,
    edit: swap('name: slurm\n', 'name: slurm\nname: slurm-wlm\n'),
    says: (line) => [`pharos: ${RECIPE}:${line('name: slurm-wlm')}: invalid YAML: Map keys must be unique`],
  },
  {
    name: 'recipe.yaml: an unknown key',
    file: RECIPE,
    edit: swap('defaultVersion:', 'defaultVersoin:'),
    says: (line) => unknownKey(RECIPE, line('defaultVersoin'), 'defaultVersoin', 'name, optional, defaultVersion, versions, variants, tarball, deb, verify'),
  },
  {
    name: 'recipe.yaml: a sha256 one digit short',
    file: RECIPE,
    edit: swap(PIN, PIN.slice(1)),
    says: (line) => [
      `pharos: ${RECIPE}:${line(PIN.slice(1))}: "versions.24.11.5.sources[0].sha256" must be 64 lower-case hex digits, or "unpinned", got "${PIN.slice(1)}"`,
    ],
  },
  {
    name: 'recipe.yaml: an unknown deb.build',
    file: RECIPE,
    edit: append('deb:\n  build: debuild'),
    says: (line) => [`pharos: ${RECIPE}:${line('build: debuild')}: "deb.build" must be one of dpkg-buildpackage, make-package-deb, got "debuild"`],
  },
  {
    name: 'recipe.yaml: a make variable for a dpkg-buildpackage build',
    file: RECIPE,
    edit: append('deb:\n  versionVariable: SLURM_VERSION'),
    says: (line) => [`pharos: ${RECIPE}:${line('versionVariable:')}: "deb.versionVariable" is for make-package-deb builds`],
  },
  {
    name: 'recipe.yaml: optional without its why',
    file: RECIPE,
    edit: append('optional: {}'),
    says: (line) => [`pharos: ${RECIPE}:${line('optional:')}: "optional" lacks "why"`],
  },
  {
    name: 'recipe.yaml: a tool requirement without its minimum',
    file: RECIPE,
    edit: swap('    configureFlags: [--with-pmix]\n', '    configureFlags: [--with-pmix]\n    requires:\n      - { command: cargo, for: mgmtd }\n'),
    says: (line) => [`pharos: ${RECIPE}:${line('{ command: cargo')}: "versions.24.11.5.requires[0]" lacks "minimum"`],
  },
  {
    name: 'recipe.yaml: an unknown key in a variant',
    file: RECIPE,
    edit: swap('configureFlags: [--with-nvml]', 'configureFlag: [--with-nvml]'),
    says: (line) =>
      unknownKey(RECIPE, line('configureFlag:'), 'variants.gpu.configureFlag', 'configureFlags, buildPackages, aptComponents, withoutComponents, note'),
  },
  {
    name: 'recipe.yaml: a defaultVersion that is not one of the versions',
    file: RECIPE,
    edit: swap('defaultVersion: 24.11.5', 'defaultVersion: 24.11.6'),
    says: (line) => [`pharos: ${RECIPE}:${line('defaultVersion:')}: defaultVersion 24.11.6 is not one of the versions (known: 24.11.5, 26.05.5)`],
  },
  {
    name: 'recipe.yaml: a url source without its url',
    file: RECIPE,
    edit: swap('      - kind: url\n        url: https://download.schedmd.com/slurm/slurm-24.11.5.tar.bz2\n', '      - kind: url\n'),
    says: (line) => [`pharos: ${RECIPE}:${line('kind: url\n        sha256: unpinned')}: "versions.24.11.5.sources[2]" is a url source and lacks "url"`],
  },

  // vm-image.yaml
  {
    name: 'vm-image.yaml: an unknown nested key',
    file: VM_IMAGE,
    edit: swap('  nodes: [hpc-compute]', '  nodse: [hpc-compute]'),
    says: (line) => unknownKey(VM_IMAGE, line('nodse'), 'cluster.nodse', 'controller, nodes, containers'),
  },
  {
    name: 'vm-image.yaml: both from and baseDisk',
    file: VM_IMAGE,
    edit: append('baseDisk:\n  script: base-disk.sh'),
    says: (line) => [
      `pharos: ${VM_IMAGE}:${line('from:')}: an image needs exactly one of "baseDisk" (made from the Debian archive) and "from" (another image project)`,
    ],
  },
  {
    name: 'vm-image.yaml: neither from nor baseDisk',
    file: VM_IMAGE,
    edit: swap('from: cloud-base\n', ''),
    says: (line) => [
      `pharos: ${VM_IMAGE}:${line('suite:')}: an image needs exactly one of "baseDisk" (made from the Debian archive) and "from" (another image project)`,
    ],
  },
  {
    name: 'vm-image.yaml: an absolute template path',
    file: FIRST_VM_IMAGE,
    edit: swap('template: cloud-base.pkr.hcl', 'template: /srv/cloud-base.pkr.hcl'),
    says: (line) => [`pharos: ${FIRST_VM_IMAGE}:${line('template:')}: "template" must be a path relative to the project, got "/srv/cloud-base.pkr.hcl"`],
  },
  {
    name: 'vm-image.yaml: a base disk size not in MiB',
    file: FIRST_VM_IMAGE,
    edit: swap('size: 4096M', 'size: 4G'),
    says: (line) => [`pharos: ${FIRST_VM_IMAGE}:${line('size:')}: "baseDisk.size" must be in MiB, such as 4096M, got "4G"`],
  },
  {
    name: 'vm-image.yaml: a provision entry without requires',
    file: VM_IMAGE,
    edit: swap('{ script: ../hpc/scripts/beegfs-client.sh, requires: beegfs }', '{ script: ../hpc/scripts/beegfs-client.sh }'),
    says: (line) => [`pharos: ${VM_IMAGE}:${line('{ script: ../hpc/scripts/beegfs-client.sh }')}: "provision[4]" lacks "requires"`],
  },
  {
    name: 'vm-image.yaml: packages of a project without a recipe',
    file: VM_IMAGE,
    edit: swap('  - project: beegfs\n', '  - project: beegfs-client\n'),
    says: () => [
      `pharos: ${VM_IMAGE}: "packages" names beegfs-client, which is not a project with a recipe.yaml`,
      'next: name a project under third-party/ whose recipe builds for this suite',
    ],
  },

  // the sources config (read by fetch before it looks at the cache)
  {
    name: 'sources.yaml: a key indented wrongly',
    file: SOURCES_CONFIG,
    edit: () => 'mirrors:\n  - file:///srv/mirror\n pins: {}\n',
    run: task('slurm:fetch'),
    says: () => [`pharos: ${SOURCES_CONFIG}:3: invalid YAML: All mapping items must start at the same column`],
  },
  {
    name: 'sources.yaml: a pin that is not a sha256',
    file: SOURCES_CONFIG,
    edit: () => `pins:\n  beegfs-7.4.7.tar.gz: ${PIN.toUpperCase()}\n`,
    run: task('slurm:fetch'),
    says: () => [`pharos: ${SOURCES_CONFIG}:2: "pins.beegfs-7.4.7.tar.gz" must be a sha256 digest (64 lower-case hex digits), got "${PIN.toUpperCase()}"`],
  },
  {
    name: 'sources.yaml: an unknown key',
    file: SOURCES_CONFIG,
    edit: () => 'mirror: file:///srv/mirror\n',
    run: task('slurm:fetch'),
    says: () => unknownKey(SOURCES_CONFIG, 1, 'mirror', 'mirrors, pins'),
  },
  {
    name: 'sources.yaml: a pin that contradicts the recipe',
    file: SOURCES_CONFIG,
    edit: () => `pins:\n  slurm-wlm_24.11.5.orig.tar.gz: ${OTHER_DIGEST}\n`,
    run: task('slurm:fetch'),
    says: () => [
      `pharos: ${SOURCES_CONFIG}: the sources config pins slurm-wlm_24.11.5.orig.tar.gz to ${OTHER_DIGEST}, but the recipe pins ${PIN}`,
      "next: remove the pin of slurm-wlm_24.11.5.orig.tar.gz: the recipe's digest is the one that is checked",
    ],
  },

  // nx.json
  {
    name: 'nx.json: an unknown plugin option',
    file: 'nx.json',
    edit: withPluginOptions('{ "imagesWithot": ["beegfs"] }'),
    says: (line) => unknownKey('nx.json', line('imagesWithot'), 'imagesWithot', 'imagesWithout, overlayBase, engine, slurmNode, partition'),
  },
  {
    name: 'nx.json: a plugin option of the wrong type',
    file: 'nx.json',
    edit: withPluginOptions('{ "imagesWithout": "beegfs" }'),
    says: (line) => [`pharos: nx.json:${line('imagesWithout')}: "imagesWithout" must be a list, got "beegfs"`],
  },

  // the command line and the environment
  {
    name: 'command line: another suite for a deb target of one suite',
    run: task('slurm:deb-bookworm', '--suite=trixie'),
    says: () => ['pharos: slurm:deb-bookworm: slurm:deb-bookworm builds for bookworm, not --suite=trixie', 'next: npx nx run slurm:deb-trixie'],
  },
  {
    name: 'command line: a suite the recipe does not build for',
    run: task('beegfs:deb-bookworm', '--suite=trixie'),
    says: () => [
      'pharos: third-party/beegfs/recipe.yaml: beegfs:deb-bookworm builds for bookworm, not --suite=trixie: beegfs is built for bookworm only',
      'next: add trixie to deb.suites once upstream supports its kernel and compilers',
    ],
  },
  {
    name: 'command line: an unknown version',
    run: task('slurm:fetch', '--release=9.9'),
    says: () => [
      `pharos: ${RECIPE}: unknown slurm version 9.9 (known: 24.11.5, 26.05.5)`,
      `next: pick a known version, or add 9.9 with its pinned sources to ${RECIPE}`,
    ],
  },
  {
    name: 'command line: an unknown executor option',
    run: task('slurm:fetch', '--releas=24.11.5'),
    // Nx's own schema check, before the executor starts.
    says: () => ["NX   'releas' is not found in schema"],
  },
  {
    name: 'environment: an unknown base image source',
    run: task('debian-trixie:image'),
    env: { PHAROS_BASE_IMAGE_SOURCE: 'docker' },
    says: () => ['pharos: choose source: PHAROS_BASE_IMAGE_SOURCE="docker" is not one of auto, pull, debootstrap'],
  },
];

/** Every file and folder under `dir` with its size and modification time: what a case must leave as it was. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel))) {
      const path = join(rel, name);
      const st = statSync(join(dir, path));
      out[path] = st.isDirectory() ? 'dir' : `${st.size} bytes, mtime ${st.mtimeMs}`;
      if (st.isDirectory()) walk(path);
    }
  };
  if (existsSync(dir)) walk('');
  return out;
}

/** The output's lines, trimmed, without the `- <file>: ` Nx puts before a plugin's error. */
const outputLines = (output: string) => output.split('\n').map((l) => l.trim().replace(/^- (\S+: )?(?=pharos: )/, ''));

/** The 1-based line where `text` starts in `content`. */
function lineIn(content: string, text: string): number {
  const at = content.indexOf(text);
  if (at < 0) throw new Error(`the bad file does not hold ${JSON.stringify(text)}`);
  return content.slice(0, at).split('\n').length;
}

/** Products and a cached source of earlier runs, which no bad input may touch (written again where a defect removed one). */
function seedEarlierRuns(ws: string, cache: string): void {
  const files = {
    [join(ws, 'dist/third-party/slurm/24.11.5/source.json')]: '{"schema":1,"name":"slurm","version":"24.11.5"}\n',
    [join(ws, 'dist/third-party/slurm/24.11.5/bookworm/debs.json')]: '{"schema":1}\n',
    [join(ws, 'dist/containers/base-tools/image.json')]: '{"id":"sha256:0"}\n',
    [join(ws, 'dist/containers/base-tools/image.tar')]: 'an image archive\n',
    [join(cache, 'sources/slurm-wlm_24.11.5.orig.tar.gz')]: 'a cached source\n',
  };
  for (const [file, text] of Object.entries(files)) {
    if (existsSync(file)) continue;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
}

describe('bad input', () => {
  let ws: string;
  let cache: string;
  let sourcesConfig: string;
  let env: Record<string, string>;
  beforeAll(() => {
    ws = copyWorkspace();
    cache = mkdtempSync(join(tmpdir(), 'pharos-cache-'));
    sourcesConfig = join(mkdtempSync(join(tmpdir(), 'pharos-config-')), 'sources.yaml');
    writeFileSync(sourcesConfig, 'mirrors: []\n');
    env = { PHAROS_CACHE_DIR: cache, PHAROS_SOURCES_CONFIG: sourcesConfig, PHAROS_SOURCE_MIRRORS: '' };
  });
  afterAll(() => {
    removeDir(ws);
    removeDir(cache);
    removeDir(dirname(sourcesConfig));
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const path = c.file === SOURCES_CONFIG ? sourcesConfig : c.file ? join(ws, c.file) : undefined;
    const good = path && existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    const bad = path && c.edit ? c.edit(good ?? '') : '';
    seedEarlierRuns(ws, cache);
    const dist = snapshot(join(ws, 'dist'));
    const sources = snapshot(cache);
    let run: NxRun;
    try {
      if (path) writeFileSync(path, bad);
      run = await nx(c.run ?? GRAPH, ws, { ...env, ...c.env });
    } finally {
      if (path && good !== undefined) writeFileSync(path, good);
      else if (path) rmSync(path);
    }
    expect(run.exitCode, run.output).not.toBe(0);
    const says = c.says((text) => lineIn(bad, text)).map((l) => l.replace(SOURCES_CONFIG, sourcesConfig));
    expect(says.length).toBeGreaterThan(0);
    const lines = outputLines(run.output);
    for (const line of says) expect(lines, run.output).toContain(line);
    expect(snapshot(join(ws, 'dist')), 'dist/').toEqual(dist);
    expect(snapshot(cache), 'the source cache').toEqual(sources);
  });
});

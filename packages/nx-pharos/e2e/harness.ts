import type { ExecutorContext, ProjectConfiguration } from '@nx/devkit';
import Docker from 'dockerode';
import { execa, execaSync } from 'execa';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { expect, vi } from 'vitest';
import { runContainerCaptured } from '../src/tools/docker';
import { ensureImage } from '../src/tools/image-store';
import { imageDir, imageManifestPath, readImageManifest, type ImageManifest } from '../src/products/image';

/** Test harness for the real-tool tests: real Docker engine, real Nx CLI, real workspace files copied to a temp dir. */

export const WORKSPACE = resolve(__dirname, '../../..');
export const NX_BIN = join(WORKSPACE, 'node_modules/.bin/nx');
export const docker = new Docker();

export function nxEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...(process.env as Record<string, string>),
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
    NX_TUI: 'false',
    NX_SKIP_NX_CACHE: '',
    FORCE_COLOR: '0',
    ...extra,
  };
}

export interface NxRun {
  exitCode: number;
  output: string;
  /** task id → 'ran' | 'cache' */
  tasks: Map<string, 'ran' | 'cache'>;
}

/** Reads which tasks ran and which came from the cache, from Nx's static output. */
export function parseNxTasks(output: string): Map<string, 'ran' | 'cache'> {
  const tasks = new Map<string, 'ran' | 'cache'>();
  for (const line of output.split('\n')) {
    const m = /^> nx run (\S+?)(?::(\S+))?(?:\s+(.*))?$/.exec(line.trim());
    if (!m) continue;
    const id = m[2] ? `${m[1]}:${m[2]}` : m[1];
    tasks.set(id.replace(/\s.*$/, ''), /\[(local cache|existing outputs match the cache|remote cache)/.test(m[3] ?? '') ? 'cache' : 'ran');
  }
  return tasks;
}

export async function nx(args: string[], cwd = WORKSPACE, env: Record<string, string> = {}): Promise<NxRun> {
  const r = await execa(NX_BIN, [...args, '--output-style=static'], { cwd, env: nxEnv(env), all: true, reject: false, stdin: 'ignore' });
  return { exitCode: r.exitCode ?? 1, output: r.all ?? '', tasks: parseNxTasks(r.all ?? '') };
}

/** Starts nx in its own process group, streaming task output as it comes (static output waits for the task's end). */
export function startNx(args: string[], cwd: string, env: Record<string, string> = {}) {
  return execa(NX_BIN, [...args, '--output-style=stream'], { cwd, env: nxEnv(env), all: true, reject: false, detached: true, stdin: 'ignore' });
}

/**
 * A copy of the workspace in a temp dir with the real workspace's Nx cache, so the base images and the dev container
 * come back as cache hits (their files restored) instead of being rebuilt, and edits do not touch the real tree.
 * Nx only trusts cache entries its workspace database recorded, so the copy gets the database and a hard-linked copy
 * of the cache (instant, and new entries stay in the copy) rather than a shared cache directory.
 */
export function copyWorkspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-ws-'));
  const files = execaSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: WORKSPACE })
    .stdout.split('\n')
    .filter((f) => f && existsSync(join(WORKSPACE, f)));
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    cpSync(join(WORKSPACE, f), join(dir, f));
  }
  linkNodeModules(dir);
  mkdirSync(join(dir, '.nx/workspace-data'), { recursive: true });
  for (const f of readdirSync(join(WORKSPACE, '.nx/workspace-data')).filter((n) => n.endsWith('.db'))) {
    cpSync(join(WORKSPACE, '.nx/workspace-data', f), join(dir, '.nx/workspace-data', f));
  }
  execaSync('cp', ['-al', join(WORKSPACE, '.nx/cache'), join(dir, '.nx/cache')]);
  return dir;
}

/**
 * The copy's node_modules: every package is a link into the real workspace's, except the plugin itself, which is the
 * copy's own source. A link to the whole folder would make Nx load the real tree's plugin (node_modules/@pharos is a
 * relative link), so a test run from a worktree, or after an edit to the copy, would test other code than it copied.
 */
function linkNodeModules(dir: string): void {
  const real = realpathSync(join(WORKSPACE, 'node_modules'));
  const ours = join(dir, 'node_modules');
  mkdirSync(join(ours, '@pharos'), { recursive: true });
  for (const entry of readdirSync(real).filter((e) => e !== '@pharos')) symlinkSync(join(real, entry), join(ours, entry));
  symlinkSync(join(dir, 'packages/nx-pharos'), join(ours, '@pharos/nx-plugin'));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A minimal ExecutorContext for calling an executor directly in a temp workspace. */
export function executorContext(root: string, projectName: string, targetName: string, projects: Record<string, ProjectConfiguration>): ExecutorContext {
  return {
    root,
    cwd: root,
    projectName,
    targetName,
    isVerbose: false,
    projectsConfigurations: { version: 2, projects },
    nxJsonConfiguration: {},
    projectGraph: { nodes: {}, dependencies: {} },
  } as ExecutorContext;
}

/** Captures what an executor writes to stderr and stdout while it runs. */
export async function captureOutput<T>(fn: () => Promise<T>): Promise<{ result: T; stderr: string; stdout: string }> {
  let stderr = '';
  let stdout = '';
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true));
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += chunk.toString()), true));
  try {
    return { result: await fn(), stderr, stdout };
  } finally {
    e.mockRestore();
    o.mockRestore();
  }
}

export interface InterruptedRun {
  exitCode: number;
  output: string;
  /** Containers that exist now and did not before the run. */
  leftContainers: string[];
}

/**
 * Ctrl-C in the middle of a run, as a terminal sends it: starts nx in its own process group, waits until `marker`
 * shows in its output (plus `settleMs`), sends SIGINT to the whole group, and reports what is left behind.
 */
export async function interruptNx(args: string[], cwd: string, marker: RegExp, env: Record<string, string> = {}, settleMs = 0): Promise<InterruptedRun> {
  const before = await containerIds();
  const child = startNx(args, cwd, env);
  let output = '';
  child.all?.on('data', (d: Buffer) => (output += d.toString()));
  try {
    const deadline = Date.now() + 120_000;
    while (!marker.test(output) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    if (!marker.test(output)) throw new Error(`nx ${args.join(' ')} never printed ${marker}:\n${output.slice(-3000)}`);
    if (settleMs) await new Promise((r) => setTimeout(r, settleMs));
    try {
      process.kill(-(child.pid as number), 'SIGINT');
    } catch (err) {
      // The run ended before the signal came (a trial's random moment can fall after the end): nothing to interrupt.
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
    const result = await child;
    // Cleanup runs as the process exits; give the daemon a moment to finish removing containers.
    await new Promise((r) => setTimeout(r, 2000));
    return { exitCode: result.exitCode ?? 1, output, leftContainers: [...(await containerIds())].filter((id) => !before.has(id)) };
  } finally {
    if (child.exitCode === null) process.kill(-(child.pid as number), 'SIGKILL');
    await child.catch(() => undefined);
  }
}

export async function containerIds(): Promise<Set<string>> {
  return new Set((await docker.listContainers({ all: true })).map((c) => c.Id));
}

export function filesIn(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

export const sha256sum = async (file: string) => (await execa('sha256sum', [file])).stdout.split(/\s+/)[0];

/** The image ID `docker save` wrote into the archive: its manifest.json names the config blob, which is the ID. */
export async function archivedImageId(archive: string): Promise<string> {
  const manifest = JSON.parse((await execa('tar', ['-xOf', archive, 'manifest.json'])).stdout) as Array<{ Config: string }>;
  expect(manifest).toHaveLength(1);
  const hex = /(?:^|\/)([0-9a-f]{64})(?:\.json)?$/.exec(manifest[0].Config)?.[1];
  expect(hex, `manifest.json of ${archive}: ${JSON.stringify(manifest)}`).toBeDefined();
  return `sha256:${hex}`;
}

/** A workspace's image product agrees with itself and the daemon: image.tar holds the image image.json names, with its digest. */
export async function consistentImageProduct(workspace: string, projectRoot: string): Promise<ImageManifest> {
  const manifest = JSON.parse(readFileSync(join(workspace, imageManifestPath(projectRoot)), 'utf8')) as ImageManifest;
  const archive = join(workspace, imageDir(projectRoot), manifest.archive);
  expect(await archivedImageId(archive)).toBe(manifest.id);
  expect(await sha256sum(archive)).toBe(manifest.archiveSha256);
  expect(statSync(archive).size).toBe(manifest.archiveBytes);
  expect((await docker.getImage(manifest.id).inspect()).Id).toBe(manifest.id);
  return manifest;
}

/** The real workspace's product for a project, as built by the global setup. */
export function realProduct(projectRoot: string): string {
  return join(WORKSPACE, 'dist', projectRoot);
}

/**
 * A throwaway Ed25519 OpenPGP key with a passphrase, made the way a site would make one, with GnuPG from the suite's
 * archive in a clean trixie container: writes secret.asc, public.asc and passphrase into `dir`.
 */
export async function makeTestGpgKey(dir: string, passphrase: string): Promise<void> {
  const manifestFile = join(realProduct('containers/debian-trixie'), 'image.json');
  const manifest = readImageManifest(manifestFile, WORKSPACE);
  await ensureImage(docker, manifestFile, manifest);
  writeFileSync(join(dir, 'passphrase'), `${passphrase}\n`, { mode: 0o600 });
  const made = await runContainerCaptured(docker, {
    image: manifest.id,
    cmd: [
      'sh',
      '-c',
      `set -e
apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends gnupg >/dev/null 2>&1
export GNUPGHOME=$(mktemp -d)
gpg --batch --pinentry-mode loopback --passphrase-file /keys/passphrase --quick-gen-key 'Pharos Test <test@pharos.invalid>' ed25519 sign never 2>/dev/null
gpg --batch --pinentry-mode loopback --passphrase-file /keys/passphrase --armor --export-secret-keys > /keys/secret.asc
gpg --batch --armor --export > /keys/public.asc
chown ${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0} /keys/*`,
    ],
    binds: [`${dir}:/keys`],
  });
  if (made.exitCode !== 0) throw new Error(`could not make a test GPG key: ${made.stderr}`);
}

import type { ResultPromise } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { onInterrupt } from '../utils/cleanup';
import { qemuInProcessGroup } from './qemu';
import { PharosError } from '../utils/errors';
import { commandOutput } from '../utils/command-output';

/**
 * The one module that owns how Packer is called. Templates are plain HCL2 that Debian's Packer 1.6.6 and current
 * Packer both read; the only version-dependent part, the `packer { required_plugins … }` block (which 1.6.6 rejects
 * and current Packer needs for the qemu builder), is generated into its own file from the detected version.
 */

export const PACKER_ENV = { CHECKPOINT_DISABLE: '1' } as const;
/** The first release with `required_plugins` and `packer init`; before it, the qemu builder is built in. */
const PLUGINS_SINCE = [1, 7, 0];

export function parsePackerVersion(output: string): string | undefined {
  return /(\d+\.\d+\.\d+)/.exec(output)?.[1];
}

function atLeast(version: string, floor: number[]): boolean {
  const parts = version.split('.').map(Number);
  for (let i = 0; i < floor.length; i++) {
    if ((parts[i] ?? 0) !== floor[i]) return (parts[i] ?? 0) > floor[i];
  }
  return true;
}

/** Whether this Packer needs the qemu plugin declared and installed (`packer init`). */
export function needsQemuPlugin(version: string): boolean {
  return atLeast(version, PLUGINS_SINCE);
}

/** The generated `packer {}` file for a version: empty for 1.6.x, `required_plugins` for the rest. */
export function packerSettingsFile(version: string): string {
  if (!needsQemuPlugin(version)) return '# Packer 1.6: the qemu builder is built in; no packer block (it would reject required_plugins).\n';
  return `# Generated for Packer ${version}: the qemu builder is a plugin.
packer {
  required_plugins {
    qemu = {
      version = ">= 1.1.0"
      source  = "github.com/hashicorp/qemu"
    }
  }
}
`;
}

export async function packerVersion(): Promise<string> {
  const r = await commandOutput('packer', ['version'], PACKER_ENV);
  const version = r.exitCode === 0 ? parsePackerVersion(r.stdout) : undefined;
  if (!version) {
    throw new PharosError(`packer is not usable: ${(r.stderr || r.stdout || String(r.exitCode)).trim().split('\n')[0]}`, {
      step: 'packer version',
      next: "run `npm run setup` (it installs Debian's packer), or put Packer on PATH",
    });
  }
  return version;
}

export interface HclProblem {
  message: string;
  file?: string;
  line?: number;
  detail?: string;
}

/** Packer's diagnostics (`Error: <summary>` … `on <file> line <n>` … detail) as data. */
export function parsePackerErrors(output: string): HclProblem[] {
  const problems: HclProblem[] = [];
  const blocks = output.split(/^Error: /m).slice(1);
  for (const block of blocks) {
    const lines = block.split('\n');
    const where = /^\s*on (.+?) line (\d+)/m.exec(block);
    const rest = lines.slice(1).filter((l) => l.trim() && !/^\s*on .+ line \d+/.test(l) && !/^\s*\d+:/.test(l) && !l.includes('(source code not available)'));
    problems.push({
      message: lines[0].trim(),
      ...(where ? { file: where[1], line: Number(where[2]) } : {}),
      ...(rest.length ? { detail: rest.map((l) => l.trim()).join(' ') } : {}),
    });
  }
  return problems;
}

/** `-var name=value` arguments; lists and objects as HCL (JSON is valid HCL). */
export function packerVarArgs(vars: Record<string, string | number | boolean | string[]>): string[] {
  return Object.entries(vars).flatMap(([k, v]) => ['-var', `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`]);
}

/** `packer validate` of a staged template directory; a problem becomes an error naming the template file and line. */
export async function packerValidate(dir: string, vars: Record<string, string | number | boolean | string[]>, shownFile: (f: string) => string): Promise<void> {
  const { execa } = await import('execa');
  const r = await execa('packer', ['validate', ...packerVarArgs(vars), '.'], {
    cwd: dir,
    reject: false,
    env: { ...PACKER_ENV, PACKER_CACHE_DIR: join(dir, 'packer_cache') },
    all: true,
  });
  if (r.exitCode === 0) return;
  const [first, ...others] = parsePackerErrors(r.all ?? '');
  const joined = first ? `${first.message.replace(/:$/, '')}${first.detail ? `: ${first.detail}` : ''}` : `packer validate failed: ${(r.all ?? '').trim()}`;
  throw new PharosError(joined, {
    file: first?.file ? shownFile(first.file) : undefined,
    line: first?.line,
    step: 'packer validate',
    tail: others.map((p) => `${p.file ? `${shownFile(p.file)}:${p.line}: ` : ''}${p.message}`),
    next: 'fix the template, then run the target again',
  });
}

/** `packer fmt` of one template file (`check`: `-check -diff`, writing nothing). It never touches build outputs. */
export async function packerFmt(template: string, check: boolean): Promise<{ ok: boolean; output: string }> {
  const { execa } = await import('execa');
  const r = await execa('packer', ['fmt', ...(check ? ['-check', '-diff'] : []), template], {
    cwd: dirname(template),
    reject: false,
    env: PACKER_ENV,
    all: true,
  });
  return { ok: r.exitCode === 0, output: r.all ?? '' };
}

export interface PackerBuild {
  dir: string;
  vars: Record<string, string | number | boolean | string[]>;
  /** Wall-clock limit for the whole build; Packer's own SIGINT handling can hang on a stuck provisioner. */
  timeoutMs: number;
  onOutput: (chunk: string) => void;
}

/**
 * `packer build -force` in its own process group; on Ctrl-C or timeout the whole group (Packer and its QEMU) is
 * killed. Resolves with the exit code and the whole output.
 */
export interface PackerBuildResult {
  exitCode: number;
  output: string;
  timedOut: boolean;
  /** Set when QEMU ended before Packer stopped the VM: what Packer was doing then (see packerPhase). */
  qemuLost?: string;
}

/** How often the build looks whether its QEMU still runs. */
const QEMU_WATCH_MS = 2000;

export async function packerBuild(build: PackerBuild): Promise<PackerBuildResult> {
  // Packer 1.6 leaves its cd_files staging (packer_to_cdrom*) in TMPDIR, so it gets a folder of its own, removed
  // below. Not inside the build's folder: Packer puts its plugins' Unix sockets in TMPDIR, and under a deep workspace
  // their path passed the 108-byte limit (`bind: invalid argument`). packer_cache/ goes to the build's folder.
  const tmp = mkdtempSync(join(tmpdir(), 'packer-'));
  const { execa } = await import('execa');
  const child: ResultPromise = execa('packer', ['build', '-force', '-color=false', '-timestamp-ui', ...packerVarArgs(build.vars), '.'], {
    cwd: build.dir,
    reject: false,
    env: { ...PACKER_ENV, PACKER_NO_COLOR: '1', TMPDIR: tmp, PACKER_CACHE_DIR: join(build.dir, 'packer_cache') },
    all: true,
    detached: true,
    stdin: 'ignore',
  });
  let output = '';
  child.all?.on('data', (d: Buffer) => {
    output += d.toString();
    build.onOutput(d.toString());
  });
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid as number), signal);
    } catch {
      // already gone
    }
  };
  let timedOut = false;
  let stopping = false;
  const stop = () => {
    stopping = true;
    killGroup('SIGINT');
    setTimeout(() => killGroup('SIGKILL'), 20_000).unref();
  };
  const timer = setTimeout(() => {
    timedOut = true;
    stop();
  }, build.timeoutMs);
  // A QEMU killed from outside (the OOM killer, a person) leaves Packer waiting for SSH until its timeout, then
  // blaming the guest. So the build watches its QEMU and stops Packer when the VM ends before Packer halts it.
  let qemuSeen = false;
  let qemuLost: string | undefined;
  const watch = setInterval(() => {
    if (stopping) return;
    if (qemuInProcessGroup(child.pid as number)) qemuSeen = true;
    else if (qemuSeen && !packerStoppingVm(output)) {
      qemuLost = packerPhase(output);
      stop();
    }
  }, QEMU_WATCH_MS);
  const release = onInterrupt(async () => {
    stopping = true;
    killGroup('SIGINT');
    await Promise.race([child, new Promise((r) => setTimeout(r, 15_000))]);
    killGroup('SIGKILL');
  });
  try {
    const result = await child;
    return { exitCode: qemuLost ? (result.exitCode ?? 1) || 1 : (result.exitCode ?? 1), output, timedOut, ...(qemuLost ? { qemuLost } : {}) };
  } finally {
    clearTimeout(timer);
    clearInterval(watch);
    // QEMU must never outlive the build: kill what is left of the group and wait until it is gone.
    killGroup('SIGKILL');
    await release();
    await groupGone(child.pid as number, 15_000);
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Waits until no process of the group `pgid` is left (a killed QEMU takes a moment to release its memory). */
async function groupGone(pgid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Packer has begun to stop the VM itself: halting it at the end, or cleaning up after an error it reports. From here
 * on, QEMU ending is Packer's doing, not a loss.
 */
export function packerStoppingVm(output: string): boolean {
  return /Gracefully halting virtual machine|Halting the virtual machine|Converting hard drive|Script exited with non-zero exit status|Provisioning step had errors|==> [\w.-]+: Error|Build '[^']+' (errored|finished)/.test(
    output,
  );
}

/** What Packer was doing last, from its last `==> <build>: <step>` line, for messages: "Waiting for SSH to become available". */
export function packerPhase(output: string): string {
  const steps = [...output.matchAll(/==> [\w.-]+: (.+?)\.*\s*$/gm)].map((m) => m[1].trim());
  return steps.at(-1) ?? 'the start of the build';
}

export type BuildFailure =
  | { kind: 'provisioner'; script: string; exitCode: number }
  | { kind: 'provision-timeout'; script: string }
  | { kind: 'ssh-timeout' }
  | { kind: 'ssh-auth' }
  | { kind: 'other' };

/** The script Packer was running at `index` of its output, or a placeholder. */
function scriptBefore(output: string, index: number): string {
  const scripts = [...output.slice(0, index).matchAll(/Provisioning with shell script: (\S+)/g)];
  return scripts.length ? scripts[scripts.length - 1][1] : 'a provisioning script';
}

/** What stopped a `packer build`, from its output: a provisioning script's exit code, or the SSH wait. */
export function diagnosePackerBuild(output: string): BuildFailure {
  const failed = /Script exited with non-zero exit status: (\d+)/.exec(output);
  if (failed) return { kind: 'provisioner', script: scriptBefore(output, failed.index), exitCode: Number(failed[1]) };
  const cancelled = /Cancelling provisioner after a timeout/.exec(output);
  if (cancelled) return { kind: 'provision-timeout', script: scriptBefore(output, cancelled.index) };
  if (/Timeout waiting for SSH/i.test(output)) return { kind: 'ssh-timeout' };
  if (/authentication error when trying to connect via SSH|ssh: unable to authenticate/.test(output)) return { kind: 'ssh-auth' };
  return { kind: 'other' };
}

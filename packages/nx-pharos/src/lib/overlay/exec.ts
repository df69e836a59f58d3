import { OVERLAY_NAME, OVERLAY_VERSION, overlayProjectName } from '../../definitions/overlay-path';
import type { OverlayManifest } from '../../products/overlay';
import type { SifManifest } from '../../products/sif';
import { PharosError } from '../../utils/errors';
import { shellQuote } from '../../utils/shell';

/**
 * `pharos exec`, the pure part: its arguments, which overlays it mounts in which order, and whether they fit together
 * and on the base SIF. exec-cli.ts reads the products and runs the command.
 */

export const EXEC_STEP = 'pharos exec';

export const EXEC_HELP = `usage: tools/pharos exec -o <name/version> [-o <name/version>…] [options] [--] [command [args…]]

Runs a command (or, from a terminal, an interactive shell) on the base SIF with the overlays mounted, each with its
#DEP overlays under it (dependencies first), their .env files applied and their bin/ folders on PATH, exactly as the
overlays' test targets use them: apptainer exec --cleanenv --contain --no-home, in the dev container. The current
folder (inside the workspace; else the workspace root) is bound at its own path and is the working directory.
Each .sqf is checked against its manifest first, and held under a shared flock until the command ends, so an update
of a mounted overlay refuses meanwhile. The command's exit code is passed through.

options:
  -o, --overlay <name/version>  an overlay built under dist/containers/overlays (repeatable)
  --base <container project>    run on this project's SIF instead of the one the overlays were built on (a warning
                                when they differ: an overlay's binaries link against its base's libraries)
  --network                     give the command the network (default: none)
  -h, --help                    this text

example: tools/pharos exec -o samtools/1.16.1 -- samtools --version`;

export interface ExecArgs {
  help: boolean;
  /** `name/version`, as given. */
  overlays: string[];
  base?: string;
  network: boolean;
  /** argv; none means an interactive shell. */
  command: string[];
}

function usageError(message: string): PharosError {
  return new PharosError(message, { step: EXEC_STEP, next: 'see tools/pharos exec --help; put the command after --' });
}

function overlayArg(value: string | undefined, option: string): string {
  const [name, version, ...rest] = (value ?? '').split('/');
  if (value === undefined || rest.length || !OVERLAY_NAME.test(name ?? '') || !OVERLAY_VERSION.test(version ?? '')) {
    throw usageError(`${option} takes an overlay as name/version (e.g. samtools/1.16.1), got ${value === undefined ? 'nothing' : `"${value}"`}`);
  }
  return value;
}

export function parseExecArgs(argv: string[]): ExecArgs {
  const out: ExecArgs = { help: false, overlays: [], network: false, command: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [option, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    if (a === '--') {
      out.command = argv.slice(i + 1);
      break;
    }
    if (a === '-h' || a === '--help') out.help = true;
    else if (option === '-o' || option === '--overlay') out.overlays.push(overlayArg(value(), option));
    else if (option === '--base') {
      const base = value();
      if (!base || base.startsWith('-')) throw usageError('--base takes a container project (e.g. overlay-build-base)');
      out.base = base;
    } else if (a === '--network') out.network = true;
    else if (a.startsWith('-')) throw usageError(`unknown option ${a}`);
    else {
      out.command = argv.slice(i);
      break;
    }
  }
  if (!out.help && !out.overlays.length) throw usageError('name at least one overlay with -o <name/version>');
  return out;
}

/**
 * The overlays to mount for the requested ones, in mount order: each requested overlay after the overlays its
 * manifest says it was built on (its #DEP closure, already dependencies first), each overlay once, where it first
 * comes. Any overlay's own dependencies are in its closure, so the first place of each is after all of them.
 */
export function mountOrder(requested: readonly string[], depsOf: (overlay: string) => readonly string[]): string[] {
  const order: string[] = [];
  for (const overlay of requested) {
    for (const o of [...depsOf(overlay), overlay]) if (!order.includes(o)) order.push(o);
  }
  return order;
}

const short = (sha256: string) => `${sha256.slice(0, 12)}…`;
const rebuild = (overlays: readonly string[]) =>
  `npx nx run-many -t overlay --projects=${overlays.map((o) => overlayProjectName(...(o.split('/') as [string, string]))).join(',')}`;

/**
 * Refuses overlays that do not fit together: built on different base SIFs, or built on another build of a dependency
 * than the one installed now. Returns the base they were all built on.
 */
export function assertOverlaysAgree(mounted: ReadonlyArray<{ overlay: string; manifest: OverlayManifest }>): OverlayManifest['base'] {
  const bases = new Map<string, string[]>();
  for (const m of mounted) bases.set(m.manifest.base.sha256, [...(bases.get(m.manifest.base.sha256) ?? []), m.overlay]);
  if (bases.size > 1) {
    const described = [...bases].map(([sha, overlays]) => {
      const base = mounted.find((m) => m.manifest.base.sha256 === sha)?.manifest.base as OverlayManifest['base'];
      return `${overlays.join(', ')} on ${base.project}'s ${base.sif} (sha256 ${short(sha)})`;
    });
    throw new PharosError(`the overlays were built on different base SIFs: ${described.join('; ')}`, {
      step: EXEC_STEP,
      next: `rebuild them on the tree's one base: ${rebuild(mounted.map((m) => m.overlay))}`,
    });
  }
  const installed = new Map(mounted.map((m) => [m.overlay, m.manifest.sha256]));
  for (const m of mounted) {
    for (const dep of m.manifest.deps) {
      const now = installed.get(dep.overlay);
      if (now !== undefined && now !== dep.sha256) {
        throw new PharosError(`${m.overlay} was built on ${dep.overlay} sha256 ${short(dep.sha256)}, and the ${dep.overlay} built now is ${short(now)}`, {
          step: EXEC_STEP,
          next: `rebuild it on the current one: ${rebuild([m.overlay])}`,
        });
      }
    }
  }
  return mounted[0].manifest.base;
}

/**
 * Whether the SIF to run on is the one the overlays were built on. A changed SIF of their own base is refused (they
 * may no longer load on it); another project's SIF, asked for with --base, is the caller's choice: a warning.
 */
export function checkBase(
  built: OverlayManifest['base'],
  sif: { project: string; manifest: SifManifest },
  overlays: readonly string[],
  chosen?: string,
): string | undefined {
  if (sif.manifest.sha256 === built.sha256) return undefined;
  const differs = `the overlays were built on ${built.project}'s ${built.sif} (sha256 ${short(built.sha256)})`;
  if (chosen && chosen !== built.project) {
    return `pharos: warning: ${differs}, and run on ${sif.project}'s ${sif.manifest.sif}: their binaries may not load on its libraries`;
  }
  throw new PharosError(`${differs}, which is now sha256 ${short(sif.manifest.sha256)}`, {
    step: EXEC_STEP,
    next: `rebuild them on it: ${rebuild(overlays)}`,
  });
}

/** An interactive shell inside the SIF: bash when the base has it. */
const SHELL = 'command -v bash >/dev/null 2>&1 && exec bash -i; exec sh -i';

/** The command for `sh -c` (overlay-env.sh): the words quoted as given, or a shell when there are none and a terminal. */
export function execShellCommand(command: readonly string[], terminal: boolean): string {
  if (command.length) return `exec ${command.map(shellQuote).join(' ')}`;
  if (!terminal) throw usageError('no command was given, and a shell needs a terminal (stdin is not one)');
  return SHELL;
}

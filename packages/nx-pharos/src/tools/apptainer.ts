import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SquashfsCompression } from '../definitions/container';
import { DevContainerRunner, type DevCommand, type DevCommandResult } from './dev-container';

/**
 * The one module that owns how Apptainer is called. On a workstation Apptainer lives only in the dev container (the
 * Debian package would upgrade the host's libc), so every call is a short-lived dev container with the workspace at
 * its own path. Building needs no privilege at all; `exec` needs /dev/fuse and an unconfined seccomp profile (user
 * namespaces and squashfuse), never --privileged. Inside a Slurm job the node's own Apptainer runs the same argv
 * (tools/apptainer-host.ts); tools/apptainer-runner.ts picks which.
 */

/** zstd at level 1 builds about as fast as lz4 and stays within ~10% of gzip's size; see docs/containers.md. */
export const DEFAULT_COMPRESSION: SquashfsCompression = 'zstd';
export const DEFAULT_COMPRESSION_LEVEL: Partial<Record<SquashfsCompression, number>> = { zstd: 1 };
/** The levels mksquashfs accepts, for the compressors that take one. */
const LEVELS: Partial<Record<SquashfsCompression, [number, number]>> = { gzip: [1, 9], lzo: [1, 9], zstd: [1, 22] };

export function mksquashfsArgs(compression: SquashfsCompression = DEFAULT_COMPRESSION, level?: number): string {
  const chosen = level ?? (compression === DEFAULT_COMPRESSION ? DEFAULT_COMPRESSION_LEVEL[compression] : undefined);
  if (chosen === undefined) return `-comp ${compression}`;
  const range = LEVELS[compression];
  if (!range) throw new Error(`squashfs compression ${compression} takes no level (only ${Object.keys(LEVELS).join(', ')} do)`);
  if (chosen < range[0] || chosen > range[1]) throw new Error(`${compression} compression level must be ${range[0]}-${range[1]}, got ${chosen}`);
  return `-comp ${compression} -Xcompression-level ${chosen}`;
}

/**
 * mksquashfs's arguments that leave out what the image holds under /dev (an empty folder stays): a debootstrapped base
 * has device nodes there, which no runtime uses (Docker and Apptainer each mount their own /dev) and which a `.def`
 * build on the SIF, unpacking it in a user namespace, cannot create (unsquashfs fails, exit 2).
 */
export const WITHOUT_DEVICE_NODES = '-wildcards -e dev/*';

/** `apptainer build` from a `docker save` archive: no daemon, no registry, no privilege. */
export function buildFromArchiveArgv(dest: string, archive: string, mksquashfs: string): string[] {
  return ['apptainer', 'build', '--force', '--mksquashfs-args', `${mksquashfs} ${WITHOUT_DEVICE_NODES}`, dest, `docker-archive:${archive}`];
}

/**
 * A command in the SIF the way a user runs it on a cluster (`apptainer exec`), minus the caller's environment:
 * --cleanenv keeps the dev container's variables out, so a check sees what the image defines.
 */
export function execArgv(sif: string, argv: string[]): string[] {
  return ['apptainer', 'exec', '--cleanenv', sif, ...argv];
}

/** A bind of a host path at a path in the container (`--bind host:container[:ro]`). */
export interface ApptainerBind {
  host: string;
  container: string;
  readOnly?: boolean;
}

export interface OverlayExec {
  sif: string;
  /** SquashFS overlays, mounted read-only in this order (later ones on top). */
  overlays: string[];
  binds?: ApptainerBind[];
  /** Set in the container; values must not hold a comma (`--env` splits on it). */
  env?: Record<string, string>;
  /** Directories put in front of the image's PATH (Apptainer's PREPEND_PATH), first one first. */
  prependPath?: string[];
  /** A writable tmpfs over the image, as condatainer builds: install() may write outside its prefix, and it is lost. */
  writableTmpfs?: boolean;
  /** The working directory inside (`--pwd`); it must exist there, e.g. as a bind. */
  pwd?: string;
  argv: string[];
}

/** `--bind` and `--overlay` split on `:` and `,`; a path holding one would mount something else. */
function plainPath(path: string, what: string): string {
  if (/[:,]/.test(path)) throw new Error(`${what} ${path} holds ":" or ",", which Apptainer's --bind and --overlay cannot take`);
  return path;
}

/**
 * `apptainer exec` of a command on the base SIF with overlays over it, the way an overlay is built and used: a clean
 * environment, no home, and none of the host's paths but the binds given (`--contain`, not `--containall`: its PID
 * namespace needs a /proc mount that Docker's masked /proc refuses).
 */
export function overlayExecArgv(spec: OverlayExec): string[] {
  const env = { ...(spec.env ?? {}), ...(spec.prependPath?.length ? { PREPEND_PATH: spec.prependPath.join(':') } : {}) };
  for (const [key, value] of Object.entries(env)) if (value.includes(',')) throw new Error(`the value of ${key} holds ",", which apptainer --env splits on`);
  return [
    'apptainer',
    'exec',
    '--cleanenv',
    '--contain',
    '--no-home',
    ...(spec.writableTmpfs ? ['--writable-tmpfs'] : []),
    ...spec.overlays.flatMap((o) => ['--overlay', `${plainPath(o, 'the overlay')}:ro`]),
    ...(spec.binds ?? []).flatMap((b) => ['--bind', `${plainPath(b.host, 'the path')}:${plainPath(b.container, 'the path')}${b.readOnly ? ':ro' : ''}`]),
    ...Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
    ...(spec.pwd ? ['--pwd', spec.pwd] : []),
    spec.sif,
    ...spec.argv,
  ];
}

export const inspectJsonArgv = (sif: string) => ['apptainer', 'inspect', '--json', sif];
export const inspectEnvironmentArgv = (sif: string) => ['apptainer', 'inspect', '--environment', sif];
export const inspectRunscriptArgv = (sif: string) => ['apptainer', 'inspect', '--runscript', sif];
export const sifListArgv = (sif: string) => ['apptainer', 'sif', 'list', sif];
export const verifyWithKeyArgv = (sif: string, publicKey: string) => ['apptainer', 'verify', '--key', publicKey, sif];

/**
 * Signs with a PEM key (apptainer-sign.sh). Only file paths reach argv: an encrypted key is decrypted with its
 * passphrase *file* into a private temporary directory inside the container, which dies with it. The public half is
 * written next to the SIF so the test target (and users) can verify without the private key. The script's text goes
 * in as `sh -c`, so the dev container needs no view of the plugin's own folder.
 */
const SIGN_SCRIPT = join(__dirname, 'apptainer-sign.sh');

export function signArgv(sif: string, keyFile: string, passphraseFile: string | undefined, publicKeyOut: string): string[] {
  return ['sh', '-c', readFileSync(SIGN_SCRIPT, 'utf8'), 'pharos-sign', keyFile, passphraseFile ?? '', sif, publicKeyOut];
}

/** Labels in `apptainer inspect --json`. */
export function parseInspectLabels(json: string): Record<string, string> {
  const data = JSON.parse(json) as { data?: { attributes?: { labels?: Record<string, string> } } };
  return data.data?.attributes?.labels ?? {};
}

/** Object types in `apptainer sif list`, e.g. `FS (Squashfs/*System/amd64)`, `Signature (SHA-256)`. */
export function parseSifObjectTypes(listing: string): string[] {
  return listing
    .split('\n')
    .filter((l) => /^\d+\s+\|/.test(l))
    .map((l) => l.split('|').at(-1)!.trim());
}

export type ApptainerResult = DevCommandResult;
export type ApptainerCall = DevCommand;

/** What an executor needs of Apptainer, wherever it runs (the dev container through Docker, or this host). */
export interface ApptainerRunner {
  run(call: ApptainerCall): Promise<ApptainerResult>;
  version(): Promise<string>;
}

/** Runs Apptainer commands in one dev container image, as the calling user, with the workspace at its own path. */
export class Apptainer extends DevContainerRunner implements ApptainerRunner {
  async version(): Promise<string> {
    const r = await this.run({ argv: ['apptainer', 'version'] });
    return r.stdout.trim();
  }
}

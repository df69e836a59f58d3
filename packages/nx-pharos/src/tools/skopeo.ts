import { execa } from 'execa';
import { isLoopback } from '../utils/address';
import { onInterrupt } from '../utils/cleanup';
import { PharosError } from '../utils/errors';

/**
 * The one module that owns how Pharos calls skopeo (Debian's, 1.9.3 in bookworm), its only registry client: it pushes
 * an OCI layout or a docker-archive to a registry and copies a manifest, by digest, into an OCI layout. No credential is ever on argv:
 * skopeo reads them from the Docker config.json-format file REGISTRY_AUTH_FILE names. Each call is tried once
 * (`--retry-times 0`): a failure is reported, and the next run tries again. What skopeo prints when it fails is
 * read by classifySkopeoFailure, whose patterns were measured against docker-registry 2.8.2.
 */

export { isLoopback };

/** How to reach one registry. */
export interface RegistryAccess {
  /** `host:port` (or `host`). */
  address: string;
  /** The Docker config.json-format credentials file; none: skopeo's own defaults. */
  authFile?: string;
  /** Plain HTTP (or unverified TLS) allowed for a registry that is not on loopback. */
  insecure?: boolean;
}

/** Plain HTTP is allowed for loopback, which no one else can listen on, and for a registry configured insecure. */
function tlsVerify(access: RegistryAccess): boolean {
  return !(access.insecure || isLoopback(access.address));
}

/** `skopeo copy`, once and quietly; TLS left unverified only on the side that is the registry, where allowed. */
function copyArgv(side: 'src' | 'dest', access: RegistryAccess, from: string, to: string): string[] {
  return ['copy', '--quiet', '--retry-times', '0', `--${side}-tls-verify=${tlsVerify(access)}`, from, to];
}

export function pushArgv(layout: string, refName: string, access: RegistryAccess, repository: string, tag: string): string[] {
  return copyArgv('dest', access, `oci:${layout}:${refName}`, `docker://${access.address}/${repository}:${tag}`);
}

export function pullArgv(access: RegistryAccess, repository: string, digest: string, layout: string, refName: string): string[] {
  return copyArgv('src', access, `docker://${access.address}/${repository}@${digest}`, `oci:${layout}:${refName}`);
}

/** A docker-archive (`docker save`'s format) pushed as an image; the pushed manifest's digest is written to `digestFile`. */
export function pushArchiveArgv(archive: string, access: RegistryAccess, repository: string, tag: string, digestFile: string): string[] {
  const [copy, ...rest] = copyArgv('dest', access, `docker-archive:${archive}`, `docker://${access.address}/${repository}:${tag}`);
  return [copy, '--digestfile', digestFile, ...rest];
}

/** Puts the manifest `digest` under another tag of its repository, byte for byte (nothing is sent but the manifest). */
export function retagArgv(access: RegistryAccess, repository: string, digest: string, tag: string): string[] {
  const verify = tlsVerify(access);
  const image = `docker://${access.address}/${repository}`;
  return [
    'copy',
    '--quiet',
    '--retry-times',
    '0',
    '--preserve-digests',
    `--src-tls-verify=${verify}`,
    `--dest-tls-verify=${verify}`,
    `${image}@${digest}`,
    `${image}:${tag}`,
  ];
}

export function inspectRawArgv(access: RegistryAccess, repository: string, tag: string): string[] {
  return ['inspect', '--raw', '--retry-times', '0', `--tls-verify=${tlsVerify(access)}`, `docker://${access.address}/${repository}:${tag}`];
}

/** skopeo's environment: the caller's, with REGISTRY_AUTH_FILE set to the credentials file when there is one. */
export function skopeoEnv(access: RegistryAccess, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return access.authFile ? { ...env, REGISTRY_AUTH_FILE: access.authFile } : env;
}

export type SkopeoFailureKind =
  /** The bytes did not hash to the digest asked for: the registry's copy is damaged or altered. */
  | 'tampered'
  /** The connection ended during the transfer (the registry stopped, the network dropped). */
  | 'interrupted'
  /** Nothing answered before any transfer began. */
  | 'unreachable'
  /** The registry did not accept the credentials (401). */
  | 'unauthorized'
  /** The registry accepts the credentials but refuses the write (403, or 405 from a read-only registry). */
  | 'read-only'
  /** The registry does not have the manifest. */
  | 'missing'
  /** skopeo is not installed. */
  | 'absent'
  | 'other';

export interface SkopeoFailure {
  kind: SkopeoFailureKind;
  /** skopeo's own message (the `msg` of its fatal log line), for the error's last output. */
  detail: string;
}

/** The `msg="…"` of skopeo's `level=fatal` line, unescaped; else its last line. */
function fatalMessage(stderr: string): string {
  const lines = stderr.trim().split('\n');
  const fatal = [...lines].reverse().find((l) => l.includes('level=fatal')) ?? lines.at(-1) ?? '';
  const m = /msg="((?:[^"\\]|\\.)*)"/.exec(fatal);
  if (!m) return fatal.trim();
  return m[1].replace(/\\n/g, '\n').replace(/\\t/g, '  ').replace(/\\(.)/g, '$1').trim();
}

/** What went wrong, from what skopeo printed. */
export function classifySkopeoFailure(stderr: string): SkopeoFailure {
  const detail = fatalMessage(stderr);
  const kind = ((): SkopeoFailureKind => {
    if (/Digest did not match/i.test(detail)) return 'tampered';
    if (/manifest unknown|MANIFEST_UNKNOWN|name unknown/i.test(detail)) return 'missing';
    if (/unauthorized|authentication required|StatusCode: 401|\b401\b/i.test(detail)) return 'unauthorized';
    if (/denied|StatusCode: 40[35]|Method not allowed|\b40[35]\b/i.test(detail)) return 'read-only';
    const network = /connection refused|unexpected EOF|connection reset|broken pipe|no route to host|i\/o timeout|\bEOF\b/i;
    // skopeo's first request is its ping of /v2/: refused there, nothing answers at all.
    if (network.test(detail)) return /pinging container registry/.test(detail) && /connection refused|no route/i.test(detail) ? 'unreachable' : 'interrupted';
    return 'other';
  })();
  return { kind, detail };
}

export interface SkopeoRun {
  ok: boolean;
  stdout: string;
  failure?: SkopeoFailure;
}

/**
 * Runs `skopeo <argv>` against `access`; stopped with the task on Ctrl-C. A failure is returned, classified, for the
 * caller to name in its own terms (which blob, which next step).
 */
export async function runSkopeo(argv: string[], access: RegistryAccess, env: NodeJS.ProcessEnv = process.env): Promise<SkopeoRun> {
  const child = execa('skopeo', argv, {
    env: skopeoEnv(access, env),
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    encoding: 'buffer',
    stripFinalNewline: false,
  });
  const stop = onInterrupt(() => void child.kill('SIGTERM'));
  try {
    const result = await child;
    const stdout = Buffer.from(result.stdout).toString('utf8');
    const stderr = Buffer.from(result.stderr ?? '').toString('utf8');
    if ((result as { code?: string }).code === 'ENOENT') return { ok: false, stdout, failure: { kind: 'absent', detail: 'skopeo: command not found' } };
    if (result.exitCode === 0) return { ok: true, stdout };
    return { ok: false, stdout, failure: classifySkopeoFailure(stderr || String((result as { message?: string }).message ?? '')) };
  } finally {
    await stop();
  }
}

/** What a registry error says of a blob: the registry, the digest, and what to do. */
export interface FailureContext {
  registry: string;
  /** `sha256:<hex>` of the blob. */
  blob: string;
  /** What is moved, for the message; default `blob <blob>`. */
  subject?: string;
  /** The credentials file in use, named (never read out) in a refusal. */
  authFile?: string;
  /** The environment variable that turns pushing on, named when a push is refused. */
  pushVariable: string;
  /** The variable that names the credentials file. */
  authVariable: string;
  /** The command that rebuilds the product here instead, for a failed fetch. */
  rebuild?: string;
}

/** The PharosError for a failed push or pull of a blob. */
export function skopeoError(op: 'push' | 'pull', failure: SkopeoFailure, ctx: FailureContext): PharosError {
  const what = `${op === 'push' ? 'pushing' : 'fetching'} ${ctx.subject ?? `blob ${ctx.blob}`} ${op === 'push' ? 'to' : 'from'} the team store ${ctx.registry}`;
  const tail = failure.detail ? failure.detail.split('\n') : undefined;
  const creds = ctx.authFile ? `the credentials in ${ctx.authFile} (${ctx.authVariable})` : `no credentials (${ctx.authVariable} names no file)`;
  const step = 'team store';
  const meanwhile = ctx.rebuild ? `; meanwhile, rebuild it here: ${ctx.rebuild}` : '';
  switch (failure.kind) {
    case 'tampered':
      return new PharosError(
        `${what}: its bytes do not match the digest (Digest did not match); the registry's copy is damaged or was altered, and nothing was kept`,
        {
          step,
          tail,
          next: `tell whoever runs ${ctx.registry} that its copy of ${ctx.blob} is damaged (it must be removed there and pushed again)${meanwhile}`,
        },
      );
    case 'interrupted':
      return new PharosError(`${what}: the connection ended before the whole blob arrived (the registry stopped or the network dropped); nothing was kept`, {
        step,
        tail,
        next: `check that the registry at ${ctx.registry} is running, then run the same command again${meanwhile}`,
      });
    case 'unreachable':
      return new PharosError(`${what}: nothing answers at ${ctx.registry}`, {
        step,
        tail,
        next: `start it (npm run setup starts the loopback one), or point PHAROS_REGISTRY at the team's registry`,
      });
    case 'unauthorized':
      return new PharosError(`${what}: the registry refused ${creds} (401 unauthorized)`, {
        step,
        tail,
        next:
          op === 'push'
            ? `only CI publishes: unset ${ctx.pushVariable} on this machine; CI points ${ctx.authVariable} at the read-write credentials`
            : `point ${ctx.authVariable} at a credentials file this registry accepts (setup writes ~/.config/pharos/registry/auth.json for the loopback one)`,
      });
    case 'read-only':
      return new PharosError(`${what}: the registry refused the write (denied, or read-only) with ${creds}`, {
        step,
        tail,
        next: `only CI publishes: unset ${ctx.pushVariable} on this machine; CI points PHAROS_REGISTRY at the registry's read-write address and ${ctx.authVariable} at its read-write credentials`,
      });
    case 'absent':
      return new PharosError(`${what}: skopeo is not installed`, { step, next: 'install it (apt-get install skopeo; npm run setup does)' });
    default:
      return new PharosError(`${what} failed`, { step, tail, next: `read skopeo's message above; run the same command again once ${ctx.registry} is fixed` });
  }
}

import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { RegistryAccess } from '../../tools/skopeo';
import { PharosError } from '../../utils/errors';

/**
 * Where the team store is and how this machine may use it, from the environment (docs/store.md#the-team-store). None
 * of it is a cache input: it decides where bytes come from, never what they are (every blob is checked by its digest).
 */

export const REGISTRY_ENV = 'PHAROS_REGISTRY';
export const REGISTRY_AUTH_FILE_ENV = 'PHAROS_REGISTRY_AUTH_FILE';
export const REGISTRY_PUSH_ENV = 'PHAROS_REGISTRY_PUSH';
export const REGISTRY_INSECURE_ENV = 'PHAROS_REGISTRY_INSECURE';

/** The loopback registry host setup starts: a read-only door (the default for everyone) and a read-write one (CI). */
export const LOOPBACK_READ_PORT = 7421;
export const LOOPBACK_WRITE_PORT = 7422;
export const DEFAULT_REGISTRY = `127.0.0.1:${LOOPBACK_READ_PORT}`;

/** Where setup keeps the loopback registry's credentials: the read-only file (the default) and the read-write one. */
export function registryConfigDir(home = homedir()): string {
  return join(home, '.config', 'pharos', 'registry');
}
export const READ_AUTH_FILE = 'auth.json';
export const WRITE_AUTH_FILE = 'auth-write.json';

export interface TeamStoreSettings {
  access: RegistryAccess;
  /** PHAROS_REGISTRY_PUSH=1: this machine publishes every blob it stores (CI). */
  push: boolean;
}

const STEP = 'team store settings';

/** A host, a host:port, or [v6]:port; no scheme, no path. */
const ADDRESS = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The team store this environment names; undefined when PHAROS_REGISTRY is `off`. The credentials file is
 * PHAROS_REGISTRY_AUTH_FILE, else setup's read-only one when it exists, else none (skopeo's own defaults: its
 * auth.json, the Docker credential store). A file named explicitly must exist, and no file may be readable by others.
 */
export function teamStoreSettings(env: NodeJS.ProcessEnv = process.env, home = homedir()): TeamStoreSettings | undefined {
  const set = env[REGISTRY_ENV]?.trim();
  if (set?.toLowerCase() === 'off') return undefined;
  const address = (set || DEFAULT_REGISTRY).replace(/\/+$/, '');
  if (!ADDRESS.test(address)) {
    throw new PharosError(`${REGISTRY_ENV} is "${set}", which is not a registry address`, {
      step: STEP,
      next: `set it to host:port (e.g. ${DEFAULT_REGISTRY}, no http:// and no path), to off for no team store, or unset it for the loopback one`,
    });
  }
  const named = env[REGISTRY_AUTH_FILE_ENV]?.trim();
  const authFile = named || join(registryConfigDir(home), READ_AUTH_FILE);
  const usable = checkAuthFile(authFile, Boolean(named));
  return {
    access: { address, ...(usable ? { authFile } : {}), insecure: env[REGISTRY_INSECURE_ENV] === '1' },
    push: env[REGISTRY_PUSH_ENV] === '1',
  };
}

/** Whether `file` is a credentials file to use: missing is fine unless it was named; readable by others never is. */
function checkAuthFile(file: string, named: boolean): boolean {
  if (named && !isAbsolute(file)) {
    throw new PharosError(`${REGISTRY_AUTH_FILE_ENV} is "${file}", which is not an absolute path`, { step: STEP, next: `set it to an absolute path` });
  }
  let mode: number;
  try {
    const st = statSync(file);
    if (!st.isFile())
      throw new PharosError(`${file} (${REGISTRY_AUTH_FILE_ENV}) is not a file`, {
        step: STEP,
        next: `point ${REGISTRY_AUTH_FILE_ENV} at a Docker config.json-format file`,
      });
    mode = st.mode & 0o777;
  } catch (err) {
    if (err instanceof PharosError) throw err;
    if (!named) return false;
    throw new PharosError(
      `cannot read the registry credentials file ${file} (${REGISTRY_AUTH_FILE_ENV}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      {
        step: STEP,
        next: `point ${REGISTRY_AUTH_FILE_ENV} at an existing file, or unset it (npm run setup writes ${join(registryConfigDir(), READ_AUTH_FILE)})`,
      },
    );
  }
  if (mode & 0o077) {
    throw new PharosError(`the registry credentials file ${file} may be read by others (mode ${mode.toString(8).padStart(4, '0')})`, {
      step: STEP,
      next: `chmod 600 ${file}`,
    });
  }
  return true;
}

/**
 * The team store variables this side sets, for a job on another node: a site's sbatch may not pass the environment on
 * (SBATCH_EXPORT=NONE), and a CI job's tasks must publish from the node as they would here. Names and paths only.
 */
export function teamStoreEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const names = [REGISTRY_ENV, REGISTRY_AUTH_FILE_ENV, REGISTRY_PUSH_ENV, REGISTRY_INSECURE_ENV];
  return Object.fromEntries(names.filter((n) => env[n]?.trim()).map((n) => [n, (env[n] as string).trim()]));
}

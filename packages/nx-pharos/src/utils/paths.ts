import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/**
 * Caches that are not products live outside the repo and outside dist/: downloaded sources and .debs are reused
 * across workspaces and never hashed. Products live under dist/, where Nx caches and restores them.
 */
export function pharosCacheDir(...parts: string[]): string {
  const base = process.env.PHAROS_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'pharos');
  return join(base, ...parts);
}

/**
 * The workspace a command run in `dir` is about: the nearest folder at or above it with an `nx.json`, as Nx finds it,
 * so `pharos` works from any folder of the repository; `dir` itself when there is none.
 */
export function workspaceRootFrom(dir: string): string {
  for (let at = resolve(dir); ; at = dirname(at)) {
    if (existsSync(join(at, 'nx.json'))) return at;
    if (dirname(at) === at) return resolve(dir);
  }
}

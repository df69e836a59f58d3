import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Caches that are not products live outside the repo and outside dist/: downloaded sources and .debs are reused
 * across workspaces and never hashed. Products live under dist/, where Nx caches and restores them.
 */
export function pharosCacheDir(...parts: string[]): string {
  const base = process.env.PHAROS_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'pharos');
  return join(base, ...parts);
}

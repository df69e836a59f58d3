import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { onInterrupt } from './cleanup';
import { ownerTag } from './leftovers';

/**
 * A sibling temporary path: same directory, so the final rename is atomic on one filesystem. Its name holds its owner,
 * so the next run removes it if this one is killed (utils/leftovers.ts).
 */
export function temporarySibling(dest: string): string {
  return join(dirname(dest), `.${basename(dest)}.tmp-${ownerTag()}-${randomBytes(3).toString('hex')}`);
}

/**
 * Produces `dest` through a temporary file and renames it into place only when `produce` succeeds, so a failed or
 * interrupted step never leaves a partial product where Nx (or a consumer) would take it for a real one.
 */
export async function writeAtomically<T>(dest: string, produce: (tmpPath: string) => Promise<T>): Promise<T> {
  await mkdir(dirname(dest), { recursive: true });
  const tmp = temporarySibling(dest);
  const removeTmp = onInterrupt(() => rm(tmp, { force: true, recursive: true }));
  try {
    const result = await produce(tmp);
    await rename(tmp, dest);
    return result;
  } finally {
    await removeTmp();
  }
}

/** Removes a target's previous products first, so a failed rebuild cannot leave a stale product behind. */
export async function removeProducts(paths: string[]): Promise<void> {
  await Promise.all(paths.map((p) => rm(p, { force: true, recursive: true })));
}

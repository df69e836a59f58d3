import { randomBytes } from 'node:crypto';
import { existsSync, renameSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { onInterrupt } from './cleanup';
import { ownedName, ownerTag } from './leftovers';

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

/**
 * The next version of a product of several files, written beside the current one and put in its place only once all
 * of it is complete, so a failed or cancelled build leaves the current product exactly as it was.
 */
export interface NextProduct {
  /** Where to write the new `dest`: `<dest>.new-p<pid>@<node>-<random>`, so the next run removes what a killed one left. */
  path(dest: string): string;
  /**
   * Renames each new file over its `dest`, in the order given (the manifest last). Synchronous, so no Ctrl-C cleanup
   * can run between two renames; refuses before the first when a new file is missing.
   */
  publish(): void;
  /** Removes the new files that are left (all of them after a failure, none after publish()); also runs on Ctrl-C. */
  discard(): Promise<void>;
}

export async function nextProduct(dests: string[]): Promise<NextProduct> {
  const paths = new Map(dests.map((d) => [d, ownedName(`${d}.new`)]));
  for (const dir of new Set(dests.map((d) => dirname(d)))) await mkdir(dir, { recursive: true });
  const discard = onInterrupt(() => removeProducts([...paths.values()]));
  return {
    path(dest) {
      const path = paths.get(dest);
      if (!path) throw new Error(`${dest} is not a file of this product (${dests.join(', ')})`);
      return path;
    },
    publish() {
      const missing = dests.filter((d) => !existsSync(paths.get(d) as string));
      if (missing.length) throw new Error(`the new product is incomplete: nothing was written for ${missing.join(', ')}`);
      for (const d of dests) renameSync(paths.get(d) as string, d);
    },
    discard,
  };
}

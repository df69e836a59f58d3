import { appendFileSync, statSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Edits an input file of an Nx workspace so that the next Nx run is sure to see the edit.
 *
 * Without the Nx daemon (in CI, and in every spec here), Nx 22 keeps each file's hash under its mtime in whole seconds
 * (`.nx/workspace-data/nx_files.nxt`). A file written twice in one second, with an Nx run between the writes, keeps the
 * first write's hash, and the task is a cache hit on the old content. A person is never that fast; a spec is. So this
 * waits, when it has to, for the clock to pass the second of the file's last write.
 */
export async function editInput(path: string, text: string, how: 'write' | 'append' = 'write'): Promise<void> {
  const lastWrite = (() => {
    try {
      return Math.floor(statSync(path).mtimeMs / 1000);
    } catch {
      return undefined; // a new file has no stale hash
    }
  })();
  while (lastWrite !== undefined && Math.floor(Date.now() / 1000) <= lastWrite) await sleep(1000 - (Date.now() % 1000) + 5);
  if (how === 'append') appendFileSync(path, text);
  else writeFileSync(path, text);
}

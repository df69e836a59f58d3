import type { PostTasksExecution, PreTasksExecution } from '@nx/devkit';
import { relative } from 'node:path';
import { anchorPath, storeDir } from '../products/store';
import { ensureAnchor } from '../products/store-files';
import { NX_RUN_ENV, releaseNxRunLocks } from '../utils/nx-run-locks';

/**
 * Nx's task-run hooks. Before the tasks: every task learns the run's id, to hand its product locks to the run, and
 * the workspace's store anchor points at this machine's store, so the product links a cache hit restores lead
 * somewhere even before a task of ours reads them. After them, when Nx has stored every task's outputs in its cache:
 * the run's locks end (see utils/nx-run-locks.ts).
 */
export const preTasksExecution: PreTasksExecution = (_options, context) => {
  process.env[NX_RUN_ENV] = context.id;
  try {
    ensureAnchor(anchorPath(context.workspaceRoot), storeDir());
  } catch (err) {
    // Not fatal here: every task that stores or reads a product makes the anchor itself, and says what is wrong.
    process.stderr.write(`pharos: warning: ${(err as Error).message}\n`);
  }
};

export const postTasksExecution: PostTasksExecution = (_options, context) => {
  try {
    releaseNxRunLocks(context.workspaceRoot, context.id);
  } catch (err) {
    // Never fail a run that has finished: a lock left here is reclaimed as stale once this run has ended.
    const shown = relative(process.cwd(), context.workspaceRoot) || '.';
    process.stderr.write(`pharos: warning: could not remove the product locks of this run in ${shown}: ${(err as Error).message}\n`);
  }
};

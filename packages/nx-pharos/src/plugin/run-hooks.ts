import type { PostTasksExecution, PreTasksExecution } from '@nx/devkit';
import { relative } from 'node:path';
import { NX_RUN_ENV, releaseNxRunLocks } from '../utils/nx-run-locks';

/**
 * Nx's task-run hooks. Before the tasks: every task learns the run's id, to hand its product locks to the run. After
 * them, when Nx has stored every task's outputs in its cache: the run's locks end (see utils/nx-run-locks.ts).
 */
export const preTasksExecution: PreTasksExecution = (_options, context) => {
  process.env[NX_RUN_ENV] = context.id;
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

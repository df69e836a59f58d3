import { workspaceRoot, type ExecutorContext } from '@nx/devkit';
import { isAbsolute, join, relative } from 'node:path';
import { interruptCleanup, unwindsBeforeExit } from './cleanup';
import { formatError } from './errors';
import { markOwner, reapLeftovers } from './leftovers';
import { handLocksToNxRun } from './nx-run-locks';
import { acquireLock, LOCK_NO_WAIT_ENV, lockPathOf, type HeldLock } from './product-lock';

/**
 * The options of every executor that writes a product: `noWait`, or `wait: false` (what Nx makes of `--no-wait`).
 * Nx keys a task on its command-line options, so PHAROS_LOCK_NO_WAIT=1 says the same without changing the key.
 */
export interface ProductLockOptions {
  noWait?: boolean;
  wait?: boolean;
}

/** What an executor body holds until its run ends, however it ends. */
export interface ExecutorRun {
  /**
   * Takes the lock on the product the task writes (`product`: its folder or main file) for the rest of the run, so
   * removing the old product, building and publishing the new one are one run's work; call it before removing anything.
   */
  lockProduct(context: ExecutorContext, product: string, options: ProductLockOptions): Promise<void>;
}

/**
 * Runs an executor body and turns any failure into one readable message and `success: false`. Locks the body took are
 * released afterwards (and on Ctrl-C, by the lock itself); after a success, under Nx, they pass to the Nx run until it
 * has stored the outputs in its cache (see nx-run-locks.ts).
 */
export async function runExecutor(body: (run: ExecutorRun) => Promise<void>): Promise<{ success: boolean }> {
  if (process.env.NX_TASK_TARGET_PROJECT) takeOverWorkspace(process.env.NX_WORKSPACE_ROOT || workspaceRoot);
  const held: HeldLock[] = [];
  let task: { step: string; root: string } | undefined;
  const run: ExecutorRun = {
    async lockProduct(context, product, options) {
      const path = lockPathOf(product);
      const step = taskLabel(context);
      task = { step, root: context.root };
      const noWait = options.noWait || options.wait === false || process.env[LOCK_NO_WAIT_ENV] === '1';
      held.push(await acquireLock(path, { type: `nx-task ${step}`, noWait, shown: relative(context.root, path), step }));
    },
  };
  let success = false;
  try {
    await unwindsBeforeExit(body(run));
    success = true;
  } catch (err) {
    process.stderr.write(`\n${formatError(err)}\n`);
  } finally {
    // A failed task leaves nothing for Nx to cache, so its locks end with it.
    if (success && task) {
      try {
        handLocksToNxRun(held, task.step, task.root);
      } catch (err) {
        process.stderr.write(`pharos: warning: ${task.step}: could not hand its product locks to the Nx run (${(err as Error).message}); they end now\n`);
      }
    }
    for (const lock of held.reverse()) await lock.release();
  }
  // Interrupted: the process ends when the interrupt's cleanup has (exit code 130 or 143), not when Nx sees a failure.
  await interruptCleanup();
  return { success };
}

/**
 * Under Nx: marks every process this task starts as its own, and first removes what killed runs of the workspace
 * left behind (their processes, scratch trees, half-written products), one line each.
 */
function takeOverWorkspace(root: string): void {
  markOwner(root);
  try {
    for (const line of reapLeftovers(root)) process.stderr.write(`${line}\n`);
  } catch (err) {
    process.stderr.write(`pharos: warning: could not look for what killed runs left behind: ${(err as Error).message}\n`);
  }
}

export function projectRootOf(context: ExecutorContext): string {
  const name = context.projectName;
  const root = name ? context.projectsConfigurations?.projects[name]?.root : undefined;
  if (root === undefined) throw new Error(`project ${name ?? '(none)'} has no root in the workspace`);
  return root;
}

/** Resolves a workspace-relative option value, expanding the tokens Nx uses in target configuration. */
export function workspacePath(value: string, context: ExecutorContext): string {
  const expanded = value.replace(/\{projectRoot\}/g, projectRootOf(context)).replace(/\{workspaceRoot\}\/?/g, '');
  return isAbsolute(expanded) ? expanded : join(context.root, expanded);
}

export function taskLabel(context: ExecutorContext): string {
  return `${context.projectName}:${context.targetName}`;
}

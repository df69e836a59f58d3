import type { ExecutorContext } from '@nx/devkit';
import { isAbsolute, join } from 'node:path';
import { formatError } from './errors';

/** Runs an executor body and turns any failure into one readable message and `success: false`. */
export async function runExecutor(body: () => Promise<void>): Promise<{ success: boolean }> {
  try {
    await body();
    return { success: true };
  } catch (err) {
    process.stderr.write(`\n${formatError(err)}\n`);
    return { success: false };
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

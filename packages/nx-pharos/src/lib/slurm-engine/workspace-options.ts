import type { ExecutorContext } from '@nx/devkit';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePluginOptions, PHAROS_PLUGIN, type PharosPluginOptions } from '../../definitions/plugin-options';

/**
 * The plugin options an executor needs to run its target as a Slurm job. Nx hands the plugin its options, not the
 * executors; an executor finds them in the nx.json its context carries, validated as the plugin validates them.
 */

export type WorkspaceSlurmOptions = Pick<PharosPluginOptions, 'engine' | 'slurmNode' | 'partition'>;

/** Which Node.js a compute node runs the target's executor with; over the plugin option slurmNode. */
export const NODE_BIN_ENV = 'PHAROS_SLURM_NODE_BIN';

/**
 * The options of the nx.json entry naming this plugin; none when the workspace names it without options (as this
 * repository does: `"plugins": ["@pharos/nx-plugin"]`) or by a path.
 */
export function workspaceSlurmOptions(context: Pick<ExecutorContext, 'root' | 'nxJsonConfiguration'>): WorkspaceSlurmOptions {
  const entry = (context.nxJsonConfiguration?.plugins ?? []).find((p) => typeof p === 'object' && p.plugin === PHAROS_PLUGIN);
  const options = typeof entry === 'object' ? entry.options : undefined;
  if (options === undefined) return {};
  const nxJson = join(context.root, 'nx.json');
  const { engine, slurmNode, partition } = parsePluginOptions(options, existsSync(nxJson) ? readFileSync(nxJson, 'utf8') : undefined);
  return { ...(engine ? { engine } : {}), ...(slurmNode ? { slurmNode } : {}), ...(partition ? { partition } : {}) };
}

/** The nearer the setting, the more it weighs: the environment (one shell, one CI job), then nx.json, then `node`. */
export function nodeBinary(workspace: WorkspaceSlurmOptions, env: NodeJS.ProcessEnv): string {
  return env[NODE_BIN_ENV]?.trim() || workspace.slurmNode || 'node';
}

/** The Nx plugin's entry point: Nx loads `createNodesV2`, `createDependencies` and the task-run hooks from here. */
export { createDependencies, createNodesV2 } from './plugin/plugin';
export { postTasksExecution, preTasksExecution } from './plugin/run-hooks';
export type { PharosPluginOptions } from './definitions/plugin-options';

/** The Nx plugin's entry point: Nx loads `createNodesV2` and `createDependencies` from here. */
export { createDependencies, createNodesV2 } from './plugin/plugin';
export type { PharosPluginOptions } from './definitions/plugin-options';

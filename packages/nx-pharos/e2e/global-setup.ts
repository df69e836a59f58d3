import { nx } from './harness';

/**
 * Runs the main job once (`nx run-many -t build`): base images and the dev container, cached by Nx after the first
 * time. Every integration test reuses these products instead of building its own.
 */
export default async function setup(): Promise<void> {
  const started = Date.now();
  const run = await nx(['run-many', '-t', 'build']);
  if (run.exitCode !== 0) {
    throw new Error(`global setup: nx run-many -t build failed:\n${run.output.split('\n').slice(-60).join('\n')}`);
  }
  process.stdout.write(`global setup: main job done in ${((Date.now() - started) / 1000).toFixed(0)} s (${[...run.tasks.values()].filter((s) => s === 'ran').length} tasks ran)\n`);
}

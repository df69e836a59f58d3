import { nx } from './harness';

/**
 * Runs the main job once (`nx run-many -t build`): base images, the dev container and the application containers,
 * cached by Nx after the first time. Every integration test reuses these products instead of building its own.
 * Third-party source builds (Slurm: ~10 minutes of compiling) are left to `npm run test:slurm`, and VM images (QEMU
 * under TCG: minutes per image) to `npm run test:vm`; the tests cover their machinery with fixtures and fast targets.
 */
export const MAIN_JOB = ['run-many', '-t', 'build', '--exclude=tag:third-party,tag:packer'];
export default async function setup(): Promise<void> {
  const started = Date.now();
  const run = await nx(MAIN_JOB);
  if (run.exitCode !== 0) {
    throw new Error(`global setup: nx run-many -t build failed:\n${run.output.split('\n').slice(-60).join('\n')}`);
  }
  process.stdout.write(
    `global setup: main job done in ${((Date.now() - started) / 1000).toFixed(0)} s (${[...run.tasks.values()].filter((s) => s === 'ran').length} tasks ran)\n`,
  );
}

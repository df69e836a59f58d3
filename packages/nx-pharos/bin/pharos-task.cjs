#!/usr/bin/env node
// What a Slurm job that runs one Nx target executes (lib/slurm-engine/run-as-job.ts): the target's executor, on the
// compute node, from the plugin's TypeScript source with no build step. It exits when the executor is done, whatever
// handles its clients leave open, so the job ends with the target.
require('../require-ts.cjs').register();
require('../src/task-in-job.ts')
  .main(process.argv.slice(2))
  .then((code) => process.exit(code));

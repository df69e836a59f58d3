#!/usr/bin/env zx
// The README's main job: `nx run-many -t build` over every project. Third-party sources come first, so a package
// whose source this site cannot get (BeeGFS where GitHub is unreachable and nothing is in the source cache) is named,
// with its fetch error, and left out of the run instead of failing it; everything else still builds. Pass --strict to
// fail instead. Extra arguments go to `nx run-many`.
import { $ } from 'zx';

const args = process.argv.slice(3).filter((a) => a !== '--strict');
const strict = process.argv.includes('--strict');
$.verbose = false;

const nx = (argv) => $({ stdio: 'inherit', nothrow: true })`npx nx ${argv}`;

const fetch = await $({ nothrow: true })`npx nx run-many -t fetch --nx-bail=false --output-style=static`;
process.stdout.write(fetch.stdout);
process.stderr.write(fetch.stderr);
const failed = [...fetch.stdout.matchAll(/^- (\S+):fetch\b/gm)].map((m) => m[1]);
if (failed.length && strict) process.exit(1);

const build = await nx(['run-many', '-t', 'build', ...failed.map((p) => `--exclude=${p}`), ...args]);
if (failed.length) {
  console.error(`\npipeline: NOT BUILT: ${failed.join(', ')}: no source could be fetched (the fetch error above says which`);
  console.error('pipeline: file to place where, or which mirror to set). Supply it and run `npm run pipeline` again.');
}
process.exit(build.exitCode ?? 1);

#!/usr/bin/env zx
// The README's main job: `nx run-many -t build` over every project. Third-party sources come first, so a package
// whose source this site cannot get (BeeGFS where GitHub is unreachable and nothing is in the source cache) is named,
// with its fetch error, and left out of the run together with the projects that need it (the VM images), instead of
// failing it; everything else still builds. Pass --strict to fail instead. Extra arguments go to `nx run-many`.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';

const args = process.argv.slice(3).filter((a) => a !== '--strict');
const strict = process.argv.includes('--strict');
$.verbose = false;

const fetch = await $({ nothrow: true })`npx nx run-many -t fetch --nx-bail=false --output-style=static`;
process.stdout.write(fetch.stdout);
process.stderr.write(fetch.stderr);
const failed = [...fetch.stdout.matchAll(/^- (\S+):fetch\b/gm)].map((m) => m[1]);
if (failed.length && strict) process.exit(1);

/** The projects that depend on any of `roots`, directly or not, from Nx's project graph. */
async function dependents(roots) {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-pipeline-'));
  try {
    await $`npx nx graph --file=${join(dir, 'graph.json')}`;
    const { graph } = JSON.parse(readFileSync(join(dir, 'graph.json'), 'utf8'));
    const found = new Set();
    let frontier = [...roots];
    while (frontier.length) {
      const next = Object.entries(graph.dependencies)
        .filter(([p, deps]) => !found.has(p) && !roots.includes(p) && deps.some((d) => frontier.includes(d.target)))
        .map(([p]) => p);
      next.forEach((p) => found.add(p));
      frontier = next;
    }
    return [...found].sort();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const needing = failed.length ? await dependents(failed) : [];
const excluded = [...failed, ...needing];
const build = await $({ stdio: 'inherit', nothrow: true })`npx nx run-many -t build ${excluded.map((p) => `--exclude=${p}`)} ${args}`;
if (failed.length) {
  console.error(`\npipeline: NOT BUILT: ${failed.join(', ')}: no source could be fetched (the fetch error above says which file`);
  console.error('pipeline: to place where, or which mirror to set).');
  if (needing.length)
    console.error(`pipeline: NOT BUILT: ${needing.join(', ')}: they need ${failed.join(', ')} (or leave it out explicitly: docs/vm-images.md).`);
  console.error('pipeline: supply the sources and run `npm run pipeline` again.');
}
process.exit(build.exitCode ?? 1);

#!/usr/bin/env zx
// The README's main job: `nx run-many -t build` over every project. An optional package with no pinned source (BeeGFS
// on a fresh site) is no failure: its fetch and deb record it as absent and the VM images are built without it, which
// the end of the run names again from the images' vm-image.json. Third-party sources come first, so a package whose
// pinned source this site cannot get is named, with its fetch error, and left out of the run together with the
// projects that need it, instead of failing it; everything else still builds. Pass --strict to fail instead, or to
// fail when an image left something out. Extra arguments go to `nx run-many`.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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

/** What each VM image left out and why, from the manifests the build just wrote or restored from the cache. */
function imagesLeftOut() {
  const dir = 'dist/packer';
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const file = join(dir, name, 'vm-image.json');
    if (!existsSync(file)) return [];
    const { leftOut = [] } = JSON.parse(readFileSync(file, 'utf8'));
    return leftOut.map((p) => `pipeline: ${name} was built WITHOUT ${p.project}: ${p.why}${p.next ? `\npipeline:   next: ${p.next}` : ''}`);
  });
}
const leftOut = build.exitCode === 0 ? imagesLeftOut() : [];
if (leftOut.length) console.error(`\n${leftOut.join('\n')}`);
process.exit(build.exitCode === 0 && strict && leftOut.length ? 1 : (build.exitCode ?? 1));

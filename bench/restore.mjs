#!/usr/bin/env zx
// Restore benchmark: a cache hit of a target whose product is 1 GiB, as Nx restores it, against the same product as
// Pharos keeps it (a link into the content-addressed store, products/store-files.ts), in one scratch Nx workspace
// (this repository's node_modules, no daemon, no Docker) and the same run. Each target is built once, then its output
// removed and the target run again (a cache hit), BENCH_RUNS times. Prints the whole `nx run` and Nx's restore alone
// (timed inside Nx by bench/restore-timer.cjs), medians and ratios, and the disk each way uses; asserts nothing.
//   npm run bench:restore                 # 1 GiB, 3 runs
//   BENCH_BYTES=256M BENCH_RUNS=5 npm run bench:restore
// Needs about 3 GiB free in the temporary folder while it runs (the Nx cache's copy, the restored copy, the store's
// blob), and removes everything it made.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, lstatSync, statSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import { env as benchEnv, nxBin, root, timed } from './lib.mjs';

$.verbose = false;
const runs = Number(process.env.BENCH_RUNS ?? 3);
const bytesText = process.env.BENCH_BYTES ?? '1G';
const unit = { '': 1, K: 1 << 10, M: 1 << 20, G: 1 << 30 };
const sizeMatch = /^(\d+)([KMG]?)$/i.exec(bytesText);
if (!sizeMatch) throw new Error(`BENCH_BYTES=${bytesText}: give bytes, or a number with K, M or G (binary)`);
const bytes = Number(sizeMatch[1]) * unit[sizeMatch[2].toUpperCase()];

const dir = mkdtempSync(join(tmpdir(), 'pharos-bench-restore-'));
const ws = join(dir, 'ws');
const store = join(dir, 'store');
const timings = join(dir, 'restore-times.log');
const mib = (n) => `${(n / (1 << 20)).toFixed(1)} MiB`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// The same pseudo-random bytes every build (AES-CTR over zeros, fixed key): no disk for a source file, nothing to
// compress or deduplicate.
const gen = `const { createCipheriv } = require('node:crypto');
const { mkdirSync, openSync, writeSync, closeSync } = require('node:fs');
const { dirname } = require('node:path');
const [file, total] = [process.argv[2], Number(process.argv[3])];
mkdirSync(dirname(file), { recursive: true });
const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, 0));
const zeros = Buffer.alloc(8 << 20);
const fd = openSync(file, 'w');
for (let done = 0; done < total; done += zeros.length) writeSync(fd, cipher.update(zeros.subarray(0, Math.min(zeros.length, total - done))));
closeSync(fd);
`;
// What a Pharos executor does with a finished product file: hashAndStore (the manifest's digest, then into the store
// and a link in its place), from the plugin's TypeScript source, as the executors run it.
const storeIt = `require(${JSON.stringify(join(root, 'node_modules/@swc-node/register'))});
const { hashAndStore } = require(${JSON.stringify(join(root, 'packages/nx-pharos/src/products/store-files.ts'))});
hashAndStore(process.argv[2], { workspaceRoot: process.cwd() }).then(({ sha256 }) => console.log('stored sha256:' + sha256));
`;

mkdirSync(join(ws, 'bench'), { recursive: true });
symlinkSync(join(root, 'node_modules'), join(ws, 'node_modules'));
writeFileSync(join(ws, 'package.json'), '{"name":"bench-restore","private":true}\n');
writeFileSync(join(ws, 'nx.json'), '{}\n');
// Nx hashes every workspace file it does not ignore: not the products.
for (const f of ['.gitignore', '.nxignore']) writeFileSync(join(ws, f), 'dist\n.nx\n.pharos\n');
writeFileSync(join(ws, 'bench/gen.cjs'), gen);
writeFileSync(join(ws, 'bench/store.cjs'), storeIt);
const target = (name, command) => ({ executor: 'nx:run-commands', cache: true, outputs: [`{workspaceRoot}/dist/${name}`], options: { command } });
const targets = {
  // Nx's way: the file is the output; a cache hit copies it out of .nx/cache.
  plain: target('plain', `node bench/gen.cjs dist/plain/big.bin ${bytes}`),
  // Pharos' way: the output is a link into the store.
  stored: target('stored', `node bench/gen.cjs dist/stored/big.bin ${bytes} && node bench/store.cjs dist/stored/big.bin`),
  // What a cache hit costs with nothing to restore: Nx's own start, graph and lookup.
  tiny: target('tiny', 'mkdir -p dist/tiny && echo tiny > dist/tiny/tiny.txt'),
};
writeFileSync(join(ws, 'bench/project.json'), JSON.stringify({ name: 'bench', root: 'bench', targets }, null, 2));

const env = Object.fromEntries(Object.entries(benchEnv).filter(([k]) => !k.startsWith('NX_SELF_HOSTED_') && !k.startsWith('NX_CLOUD')));
Object.assign(env, {
  PHAROS_STORE: store,
  PHAROS_REGISTRY: 'off',
  BENCH_RESTORE_LOG: timings,
  NODE_OPTIONS: `${env.NODE_OPTIONS ?? ''} --require ${join(root, 'bench/restore-timer.cjs')}`.trim(),
});
delete env.PHAROS_STORE_THRESHOLD;
const nx = (t) => $({ cwd: ws, env })`${nxBin} run bench:${t} --output-style=static`;

/** The restore lines the timer wrote for `t`'s last run: Nx's whole applyCachedResult, and its copy alone. */
function restoreTimes(t) {
  const lines = readFileSync(timings, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split('\t'));
  const apply = lines.filter((l) => l[0] === 'apply' && l[1] === `bench:${t}`).at(-1);
  const copy = lines.filter((l) => l[0] === 'copy' && l[1].includes(`dist/${t}`)).at(-1);
  if (apply?.[2] !== 'local-cache') throw new Error(`bench:${t} was not restored from the local cache: ${apply?.join(' ')}`);
  return { apply: Number(apply[3]), copy: copy ? Number(copy[2]) : NaN };
}

const results = {};
try {
  console.log(`scratch workspace ${ws}, product ${mib(bytes)}, ${runs} cache hits each`);
  for (const t of Object.keys(targets)) {
    const build = await timed(() => nx(t));
    const out = join(ws, 'dist', t);
    const r = { build, whole: [], apply: [], copy: [] };
    for (let i = 0; i < runs; i++) {
      rmSync(out, { recursive: true, force: true });
      writeFileSync(timings, '');
      let stdout = '';
      r.whole.push(
        await timed(async () => {
          stdout = (await nx(t)).stdout;
        }),
      );
      if (!/\[local cache\]/.test(stdout)) throw new Error(`bench:${t} was not a cache hit:\n${stdout.slice(-2000)}`);
      const { apply, copy } = restoreTimes(t);
      r.apply.push(apply);
      r.copy.push(copy);
    }
    results[t] = r;
  }

  // What each way left: a whole file, or a link to the blob (followed, the whole file).
  const plainFile = join(ws, 'dist/plain/big.bin');
  const storedLink = join(ws, 'dist/stored/big.bin');
  if (statSync(plainFile).size !== bytes) throw new Error(`the restored ${plainFile} is not ${bytes} bytes`);
  if (!lstatSync(storedLink).isSymbolicLink() || statSync(storedLink).size !== bytes) throw new Error(`${storedLink} is not a link to the ${bytes}-byte blob`);
  const du = async (p) => Number((await $`du -sb ${p}`).stdout.split('\t')[0]);
  const [cache, storeBytes, plainDist, storedDist] = [
    await du(join(ws, '.nx/cache')),
    await du(store),
    await du(join(ws, 'dist/plain')),
    await du(join(ws, 'dist/stored')),
  ];

  const ms = (s) => `${(s * 1000).toFixed(0)} ms`;
  const m = Object.fromEntries(Object.entries(results).map(([t, r]) => [t, { whole: median(r.whole), apply: median(r.apply), copy: median(r.copy) }]));
  console.log(`\nbuild (cache miss): plain ${ms(results.plain.build)}, stored ${ms(results.stored.build)} (hashes the product and links it into the store)`);
  console.log(`\ncache hit after removing the output, median of ${runs}:`);
  console.log('target   whole nx run   restore (applyCachedResult)   copy alone (copyFilesFromCache)');
  for (const t of Object.keys(targets)) {
    console.log(`${t.padEnd(8)} ${ms(m[t].whole).padStart(12)}   ${`${m[t].apply.toFixed(1)} ms`.padStart(27)}   ${`${m[t].copy.toFixed(1)} ms`.padStart(31)}`);
  }
  console.log(
    `\n${mib(bytes)} product: restore, Nx's copy / Pharos' link = ${(m.plain.apply / m.stored.apply).toFixed(0)}x ` +
      `(${m.plain.apply.toFixed(1)} ms / ${m.stored.apply.toFixed(1)} ms); whole nx run ${(m.plain.whole / m.stored.whole).toFixed(2)}x ` +
      `(${ms(m.plain.whole)} / ${ms(m.stored.whole)}; ${ms(m.tiny.whole)} with nothing to restore)`,
  );
  console.log(
    `disk: Nx cache ${mib(cache)} (the plain product's copy, and the link), dist/plain ${mib(plainDist)}, ` +
      `dist/stored ${mib(storedDist)} (a link: ${readlinkSync(storedLink)}), store ${mib(storeBytes)}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

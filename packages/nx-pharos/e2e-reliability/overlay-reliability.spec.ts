import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyWorkspace, filesIn, interruptNx, nx, removeDir, sha256sum, startNx } from '../e2e/harness';
import type { OverlayManifest } from '../src/products/overlay';

/**
 * The overlay build's safety, 20 trials each, with the real Nx, Docker, Apptainer and mksquashfs (`npm run
 * test:reliability`; about 15 minutes, so not part of `npm test`):
 * - Ctrl-C at a random moment of a build: no container, no scratch tree, no `.new` and no lock left, and the product
 *   is whole: the old one when the build was cancelled, else the new one, its sha256 always its manifest's.
 * - Two concurrent builds of one overlay: both succeed, one waited for the other's lock and said so, and one product
 *   is left whose sha256 is its manifest's.
 * The overlay is a small one written here (a few thousand files, a few seconds of install()), on the real base SIF.
 */
const TRIALS = Number(process.env.PHAROS_TRIALS ?? 20);
const KEY = 'pharos-trial/1.0';
const PROJECT = 'pharos-trial-1.0';
const SCRIPT = 'containers/overlays/pharos-trial/1.0.sh';
const BUILD = ['run', `${PROJECT}:overlay`, '--skip-nx-cache', '--exclude-task-dependencies'];

/** The script, stamped so each trial's build makes a different product (the script travels inside the overlay). */
const script = (stamp: string) => `#!/usr/bin/bash
#WHATIS:reliability trial overlay (${stamp})
#SBATCH --cpus-per-task=1

install() {
    mkdir -p "$target_dir/share"
    for i in $(seq 1 3000); do echo "${stamp} $i" > "$target_dir/share/f$i"; done
    sleep 2
}
`;

describe('overlay builds under Ctrl-C and concurrency', () => {
  let ws: string;
  const dir = () => join(ws, 'dist/containers/overlays/pharos-trial');
  const manifest = () => JSON.parse(readFileSync(join(dir(), '1.0.sqf.json'), 'utf8')) as OverlayManifest;
  const stamp = (s: string) => {
    mkdirSync(dirname(join(ws, SCRIPT)), { recursive: true });
    writeFileSync(join(ws, SCRIPT), script(s));
  };

  /** The product is whole: the .sqf is the one its manifest names, and nothing temporary is beside it. */
  async function wholeProduct(): Promise<OverlayManifest> {
    const m = manifest();
    expect(await sha256sum(join(dir(), m.sqf))).toBe(m.sha256);
    expect(filesIn(dir()).filter((f) => /\.new|\.part|\.lock|\.tmp/.test(f))).toEqual([]);
    expect(filesIn(join(ws, 'tmp/overlay'))).toEqual([]);
    return m;
  }

  beforeAll(async () => {
    ws = copyWorkspace();
    stamp('warm');
    // The base SIF and the dev container (cached from the main job), and a first product for the trials to replace.
    const warm = await nx(['run', `${PROJECT}:overlay`], ws);
    expect(warm.exitCode, warm.output.slice(-3000)).toBe(0);
    await wholeProduct();
  }, 30 * 60_000);
  afterAll(() => removeDir(ws));

  it(
    `keeps a whole product and leaves nothing behind after Ctrl-C at a random moment, ${TRIALS} times`,
    async () => {
      let cancelled = 0;
      for (let trial = 1; trial <= TRIALS; trial++) {
        // What the product was built from: a cancelled trial leaves the script edited, and the product older than it.
        const old = manifest();
        const oldScript = old.script.sha256;
        stamp(`ctrl-c-${trial}-${Date.now()}`);
        const newScript = await sha256sum(join(ws, SCRIPT));
        // From "building" on: install() (a few seconds), the pack, the renames; sometimes after the end.
        const settle = Math.floor(Math.random() * 6000);
        const r = await interruptNx(BUILD, ws, new RegExp(`pharos: building ${KEY}`), {}, settle);
        const context = `trial ${trial}, Ctrl-C ${settle} ms after the build began, exit ${r.exitCode}:\n${r.output.slice(-3000)}`;
        expect(r.leftContainers, context).toEqual([]);
        const now = await wholeProduct();
        if (r.exitCode === 0) expect(now.script.sha256, context).toBe(newScript);
        else {
          cancelled++;
          expect(r.exitCode, context).toBe(130);
          // A cancelled update is no update: the old product, byte for byte, unless it was already renamed into place.
          expect([oldScript, newScript], context).toContain(now.script.sha256);
          if (now.script.sha256 === oldScript) expect(now.sha256, context).toBe(old.sha256);
        }
      }
      process.stdout.write(`reliability: ${cancelled} of ${TRIALS} builds were cancelled mid-way, the rest had finished\n`);
      // Had no Ctrl-C landed inside a build, the trials would have tested nothing.
      expect(cancelled).toBeGreaterThan(TRIALS / 2);
    },
    60 * 60_000,
  );

  it(
    `ends two concurrent builds of one overlay with one whole product, ${TRIALS} times`,
    async () => {
      let waits = 0;
      for (let trial = 1; trial <= TRIALS; trial++) {
        stamp(`concurrent-${trial}-${Date.now()}`);
        const runs = await Promise.all([startNx(BUILD, ws), startNx(BUILD, ws)]);
        const outputs = runs.map((r) => r.all ?? '');
        runs.forEach((r, i) => expect(r.exitCode, `trial ${trial}, run ${i + 1}:\n${outputs[i].slice(-3000)}`).toBe(0));
        if (outputs.some((o) => /pharos: waiting for dist\/containers\/overlays\/pharos-trial\/1\.0\.sqf\.lock: held by nx-/.test(o))) waits++;
        const m = await wholeProduct();
        expect(m.script.sha256).toBe(await sha256sum(join(ws, SCRIPT)));
      }
      process.stdout.write(`reliability: in ${waits} of ${TRIALS} concurrent trials one build waited for the other's lock\n`);
      expect(waits, 'no trial had one build wait for the other').toBeGreaterThan(0);
    },
    60 * 60_000,
  );
});

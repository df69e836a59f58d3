import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { overlayProductPaths } from '../../products/overlay';
import { storeProductFile } from '../../products/store-files';
import { holdSharedFlocks } from '../../tools/flock';
import { nextProduct } from '../../utils/atomic-file';
import { publishOverlay, refuseWhileInUse } from './in-use';
import type { NormalizedOverlayOptions } from './normalize-options';

/** An update against a user of the overlay, with the real flock(1): what `pharos exec` holds is never replaced. */
const root = mkdtempSync(join(tmpdir(), 'pharos-in-use-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function overlay(): NormalizedOverlayOptions {
  const dir = join(root, 'dist/containers/overlays/samtools');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const products = overlayProductPaths(dir, '1.16.1');
  for (const f of Object.values(products)) writeFileSync(f, `old ${f}`);
  return { workspaceRoot: root, label: 'samtools-1.16.1:overlay', path: { key: 'samtools/1.16.1' }, products } as unknown as NormalizedOverlayOptions;
}

async function built(o: NormalizedOverlayOptions) {
  const next = await nextProduct([o.products.sqf, o.products.env, o.products.manifest]);
  for (const f of Object.values(o.products)) writeFileSync(next.path(f), `new ${f}`);
  return next;
}

const contents = (o: NormalizedOverlayOptions) => Object.values(o.products).map((f) => readFileSync(f, 'utf8').split(' ')[0]);

describe('an overlay in use', () => {
  it('is refused before a build, naming the overlay, the holder and what to do', async () => {
    const o = overlay();
    const release = await holdSharedFlocks([o.products.sqf]);
    try {
      const refusal = refuseWhileInUse(o);
      await expect(refusal).rejects.toThrow(
        'samtools/1.16.1 is in use: a running `pharos exec` (or an overlay test or build that mounts it) holds dist/containers/overlays/samtools/1.16.1.sqf',
      );
      await expect(refusal).rejects.toMatchObject({
        details: { step: 'samtools-1.16.1:overlay', next: expect.stringMatching(/^wait for it to finish, then run again/) },
      });
    } finally {
      await release();
    }
    await refuseWhileInUse(o);
  });

  it('keeps the current product when it comes into use during the build; the new files are removed', async () => {
    const o = overlay();
    const next = await built(o);
    const release = await holdSharedFlocks([o.products.sqf]);
    try {
      await expect(publishOverlay(o, next)).rejects.toThrow('the new build was not put in place; it is removed and the current overlay is kept');
    } finally {
      await next.discard();
      await release();
    }
    expect(contents(o)).toEqual(['old', 'old', 'old']);
    expect(readdirSync(join(o.products.sqf, '..')).sort()).toEqual(['1.16.1.env', '1.16.1.sqf', '1.16.1.sqf.json']);
  });

  it('puts the new product in place once nothing uses it, and on a first build', async () => {
    const o = overlay();
    for (const first of [false, true]) {
      if (first) for (const f of Object.values(o.products)) rmSync(f);
      await refuseWhileInUse(o);
      const next = await built(o);
      await publishOverlay(o, next);
      await next.discard();
      expect(contents(o)).toEqual(['new', 'new', 'new']);
    }
  });

  it('is protected the same way when its .sqf is a link into the store: the lock is on the blob it leads to', async () => {
    const o = overlay();
    const storeEnv = { PHAROS_STORE: join(root, 'store'), PHAROS_STORE_THRESHOLD: '0' };
    await storeProductFile(o.products.sqf, undefined, { workspaceRoot: root, storeEnv });
    const next = await built(o);
    await storeProductFile(next.path(o.products.sqf), undefined, { workspaceRoot: root, storeEnv });
    const release = await holdSharedFlocks([o.products.sqf]);
    try {
      await expect(refuseWhileInUse(o)).rejects.toThrow('samtools/1.16.1 is in use');
      await expect(publishOverlay(o, next)).rejects.toThrow('the current overlay is kept');
    } finally {
      await release();
    }
    await publishOverlay(o, next);
    await next.discard();
    expect(contents(o)).toEqual(['new', 'new', 'new']);
  });
});

import type { ProjectConfiguration } from '@nx/devkit';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureOutput, containerIds, docker, executorContext, realProduct, removeDir } from '../../../e2e/harness';
import { runContainerCaptured } from '../../tools/docker';
import { ensureImage } from '../../tools/image-store';
import { readImageManifest } from '../../products/image';
import beegfsVerifyExecutor from './executor';

// The passing path is in e2e/beegfs.spec.ts (fixture packages through Nx); these are the ways it must fail.
describe('beegfs-verify', () => {
  let ws: string;
  const projects: Record<string, ProjectConfiguration> = {
    beegfs: { root: 'third-party/beegfs', name: 'beegfs' },
    'debian-bookworm': {
      root: 'containers/debian-bookworm',
      name: 'debian-bookworm',
      metadata: { pharos: { imageTags: ['debian:bookworm'] } },
    } as ProjectConfiguration,
  };
  beforeAll(() => {
    ws = mkdtempSync(join(tmpdir(), 'pharos-beegfs-verify-'));
    mkdirSync(join(ws, 'third-party/beegfs'), { recursive: true });
    writeFileSync(
      join(ws, 'third-party/beegfs/recipe.yaml'),
      `name: beegfs\nversions:\n  "1.0":\n    sources:\n      - kind: url\n        url: file:///none/x.tar.gz\n        sha256: ${'a'.repeat(64)}\n`,
    );
  });
  afterAll(() => removeDir(ws));

  it('names the missing .deb manifest and the target that makes it', async () => {
    const { result, stderr } = await captureOutput(() =>
      beegfsVerifyExecutor({ recipe: 'third-party/beegfs/recipe.yaml', suite: 'bookworm' }, executorContext(ws, 'beegfs', 'verify-deb', projects)),
    );
    expect(result.success).toBe(false);
    expect(stderr).toContain('pharos: dist/third-party/beegfs/1.0/bookworm/debs.json: no .deb manifest');
    expect(stderr).toContain('next: build it: npx nx run beegfs:deb');
  });

  it('fails the services check, naming what is missing, on a suite with no BeeGFS installed', async () => {
    const manifestFile = join(realProduct('containers/debian-bookworm'), 'image.json');
    const manifest = readImageManifest(manifestFile, ws);
    await ensureImage(docker, manifestFile, manifest);
    const before = await containerIds();
    const run = await runContainerCaptured(docker, {
      image: manifest.id,
      cmd: ['sh', '/pharos/services-check.sh'],
      binds: [`${join(__dirname, 'services-check.sh')}:/pharos/services-check.sh:ro`],
      hostname: 'beegfs-verify',
      network: 'none',
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('pharos-check: FAIL the packages installed no /etc/beegfs/beegfs-mgmtd.conf');
    expect([...(await containerIds())].filter((id) => !before.has(id))).toEqual([]);
  });
});

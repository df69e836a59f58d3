import type { ProjectConfiguration } from '@nx/devkit';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureOutput, containerIds, docker, executorContext, realProduct, removeDir } from '../../../e2e/harness';
import { runContainer } from '../../tools/docker';
import { ensureImage } from '../../tools/image-store';
import { readImageManifest } from '../../products/image';
import slurmVerifyExecutor from './executor';

// The passing path needs real Slurm packages (npm run test:slurm builds them); these are the ways it must fail.
describe('slurm-verify', () => {
  let ws: string;
  const projects: Record<string, ProjectConfiguration> = {
    slurm: { root: 'third-party/slurm', name: 'slurm' },
    'debian-trixie': {
      root: 'containers/debian-trixie',
      name: 'debian-trixie',
      metadata: { pharos: { imageTags: ['debian:trixie'] } },
    } as ProjectConfiguration,
  };
  beforeAll(() => {
    ws = mkdtempSync(join(tmpdir(), 'pharos-slurm-verify-'));
    mkdirSync(join(ws, 'third-party/slurm'), { recursive: true });
    writeFileSync(
      join(ws, 'third-party/slurm/recipe.yaml'),
      `name: slurm\nversions:\n  "1.0":\n    sources:\n      - kind: url\n        url: file:///none/x.tar.gz\n        sha256: ${'a'.repeat(64)}\n`,
    );
    mkdirSync(join(ws, 'dist/containers/debian-trixie'), { recursive: true });
    for (const f of ['image.json', 'image.tar']) writeFileSync(join(ws, 'dist/containers/debian-trixie', f), '');
  });
  afterAll(() => removeDir(ws));

  it('names the missing .deb manifest and the target that makes it', async () => {
    const { result, stderr } = await captureOutput(() =>
      slurmVerifyExecutor({ recipe: 'third-party/slurm/recipe.yaml', suite: 'trixie' }, executorContext(ws, 'slurm', 'verify', projects)),
    );
    expect(result.success).toBe(false);
    expect(stderr).toContain('pharos: dist/third-party/slurm/1.0/trixie/debs.json: no .deb manifest');
    expect(stderr).toContain('next: build it: npx nx run slurm:deb');
  });

  it('fails the cluster check when the Slurm binaries are not from the product under test', async () => {
    // A clean trixie image has no Slurm at all: the provenance check must stop before anything starts.
    const manifestFile = join(realProduct('containers/debian-trixie'), 'image.json');
    const manifest = readImageManifest(manifestFile, ws);
    await ensureImage(docker, manifestFile, manifest);
    const image = manifest.id;
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const before = await containerIds();
    const code = await runContainer(
      docker,
      {
        image,
        cmd: ['sh', '/pharos/cluster-check.sh', 'deb'],
        binds: [`${join(__dirname, 'cluster-check.sh')}:/pharos/cluster-check.sh:ro`],
        network: 'none',
      },
      { stdout: out, stderr: out },
    );
    expect(code).toBe(1);
    expect(text).toContain('pharos-check: FAIL sinfo is not on PATH');
    expect([...(await containerIds())].filter((id) => !before.has(id))).toEqual([]);
  });
});

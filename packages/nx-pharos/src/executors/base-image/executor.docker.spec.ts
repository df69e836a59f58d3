import type { ProjectConfiguration } from '@nx/devkit';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureOutput, executorContext, filesIn, removeDir } from '../../../e2e/harness';
import baseImageExecutor from './executor';

// Real Docker engine and the real Debian mirror; the successful bootstrap itself is the main job's (global setup).
describe('base-image executor', () => {
  let ws: string;
  beforeAll(() => {
    ws = mkdtempSync(join(tmpdir(), 'pharos-base-image-'));
  });
  afterAll(() => removeDir(ws));

  function project(name: string, yaml: string): Record<string, ProjectConfiguration> {
    mkdirSync(join(ws, 'containers', name), { recursive: true });
    writeFileSync(join(ws, 'containers', name, 'base-image.yaml'), yaml);
    mkdirSync(join(ws, 'dist/containers', name), { recursive: true });
    writeFileSync(join(ws, 'dist/containers', name, 'image.json'), '{"stale": true}');
    return { [name]: { root: `containers/${name}`, name } };
  }

  const run = (name: string, yaml: string, source?: 'pull' | 'debootstrap') =>
    captureOutput(() =>
      baseImageExecutor({ definition: `containers/${name}/base-image.yaml`, source }, executorContext(ws, name, 'image', project(name, yaml))),
    );

  it('rejects an unknown Debian suite by asking the mirror, and leaves nothing', async () => {
    const { result, stderr } = await run('debian-nosuch', 'suite: nosuchsuite\n', 'debootstrap');
    expect(result.success).toBe(false);
    expect(stderr).toMatch(/unknown Debian suite "nosuchsuite": .*\/dists\/nosuchsuite\/Release does not exist/);
    expect(stderr).toContain('next: use one of the suites');
    expect(filesIn(join(ws, 'dist/containers/debian-nosuch'))).toEqual([]);
  });

  it('names the file and key of an unknown option', async () => {
    const { result, stderr } = await run('debian-typo', 'suite: trixie\nvairant: minbase\n');
    expect(result.success).toBe(false);
    expect(stderr).toContain(
      'pharos: containers/debian-typo/base-image.yaml:2: unknown key "vairant" (known here: distribution, suite, variant, tag, include)',
    );
  });

  it('fails clearly when told to pull and no registry answers', async () => {
    const { result, stderr } = await run('debian-pull', 'suite: trixie\ntag: pharos-test/never-pulled:x\n', 'pull');
    expect(result.success).toBe(false);
    expect(stderr).toContain('cannot pull pharos-test/never-pulled:x');
    expect(filesIn(join(ws, 'dist/containers/debian-pull'))).toEqual([]);
  });
});

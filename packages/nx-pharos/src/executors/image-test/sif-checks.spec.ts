import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { layoutProbeArgv, SINGULARITY_LAYOUT } from './sif-checks';

/** singularity-layout.sh with the real `sh`, on a folder laid out like a SIF's /.singularity.d. */
describe('singularity-layout.sh', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-layout-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The probe's argv, pointed at `dir` instead of /.singularity.d (the one argument that names the folder). */
  const probe = () => {
    const argv = layoutProbeArgv();
    expect(argv[4]).toBe('/.singularity.d');
    return spawnSync(argv[0], [...argv.slice(1, 4), dir, ...argv.slice(5)], { encoding: 'utf8' });
  };

  it('prints nothing when every entry is there and executable', () => {
    for (const entry of SINGULARITY_LAYOUT) {
      mkdirSync(dirname(join(dir, entry)), { recursive: true });
      writeFileSync(join(dir, entry), '#!/bin/sh\n');
      chmodSync(join(dir, entry), 0o755);
    }
    const r = probe();
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
  });

  it('names each entry that is missing or not executable, one a line', () => {
    rmSync(join(dir, 'actions/shell'));
    chmodSync(join(dir, 'runscript'), 0o644);
    const r = probe();
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(['runscript', 'actions/shell']);
  });
});

import type { ExecutorContext } from '@nx/devkit';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { VmImageDefinition } from '../../definitions/vm-image';
import { writeManifest } from '../../products/manifest';
import type { SourceAbsence } from '../../products/source';
import { absentPackages, IMAGES_WITHOUT_WHY, leftOutLine, leftOutPackages } from './left-out';

const absence: SourceAbsence = { why: 'the shared file system', reason: 'no source of beegfs 7.4.7 has a pinned sha256', next: 'npm run pin -- x' };

describe('packages an image leaves out', () => {
  const ws = mkdtempSync(join(tmpdir(), 'pharos-left-out-'));
  afterAll(() => rmSync(ws, { recursive: true, force: true }));

  it('says why: the site asked, or the source is absent (the site asking wins)', () => {
    expect(leftOutPackages(['beegfs'], [{ project: 'beegfs', absence }])).toEqual([{ project: 'beegfs', why: IMAGES_WITHOUT_WHY }]);
    expect(leftOutPackages([], [{ project: 'beegfs', absence }])).toEqual([
      { project: 'beegfs', why: 'no source of beegfs 7.4.7 has a pinned sha256 (beegfs: the shared file system)', next: 'npm run pin -- x' },
    ]);
    expect(leftOutPackages([], [])).toEqual([]);
  });

  it('is said loudly, with the next step when there is one', () => {
    const [p] = leftOutPackages([], [{ project: 'beegfs', absence }]);
    expect(leftOutLine('hpc-compute', p)).toMatch(/^pharos: hpc-compute is built WITHOUT beegfs \(no source .*\): .*left out\. Next: npm run pin -- x\n$/);
    expect(leftOutLine('hpc-compute', { project: 'beegfs', why: IMAGES_WITHOUT_WHY })).not.toContain('Next');
  });

  it("reads which packages' debs.json record an absent source", async () => {
    const base = { schema: 1, version: '1', suite: 'bookworm' };
    await writeManifest(join(ws, 'b/debs.json'), { ...base, project: 'beegfs', absent: absence, debs: [] });
    await writeManifest(join(ws, 's/debs.json'), { ...base, project: 'slurm', source: { file: 'f', sha256: 'a' }, builtOn: 'x', debs: [] });
    const def = {
      suite: 'bookworm',
      packages: [
        { project: 'slurm', names: ['slurm-smd'] },
        { project: 'beegfs', names: ['beegfs-common'] },
        { project: 'beegfs', names: ['beegfs-utils'] },
      ],
    } as VmImageDefinition;
    const debs = [
      { project: 'slurm', dir: 's' },
      { project: 'beegfs', dir: 'b' },
    ];
    expect(absentPackages(def, debs, { root: ws } as ExecutorContext)).toEqual([{ project: 'beegfs', absence }]);
  });
});

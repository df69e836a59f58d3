import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandArtifactFiles, matchesSegment } from './build-context';

describe('artifact files', () => {
  it('matches * and ? in a file name only', () => {
    expect(matchesSegment('slurm-smd*.deb', 'slurm-smd-client_24.11.5-1_amd64.deb')).toBe(true);
    expect(matchesSegment('*.deb', 'x.deb.sha256')).toBe(false);
    expect(matchesSegment('a?.txt', 'ab.txt')).toBe(true);
  });

  it('expands patterns and names the producer when nothing matched', () => {
    const ws = mkdtempSync(join(tmpdir(), 'pharos-artifacts-'));
    mkdirSync(join(ws, 'dist/p'), { recursive: true });
    writeFileSync(join(ws, 'dist/p/b.deb'), '');
    writeFileSync(join(ws, 'dist/p/a.deb'), '');
    const artifact = { project: 'p', target: 'deb', files: ['dist/p/*.deb'], into: 'artifacts/p' };
    expect(expandArtifactFiles(ws, artifact)).toEqual(['dist/p/a.deb', 'dist/p/b.deb']);
    expect(() => expandArtifactFiles(ws, { ...artifact, files: ['dist/p/*.rpm'] })).toThrow(/matched no file/);
    expect(() => expandArtifactFiles(ws, { ...artifact, files: ['dist/*/a.deb'] })).toThrow(/only in the file name/);
  });
});

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandArtifactFiles, matchesSegment, stageBuildContext, stagedDockerfilePath } from './build-context';

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

describe('staged build context', () => {
  it('puts the Dockerfile at its place in the context, or at the top when it lies outside', () => {
    expect(stagedDockerfilePath('/ws/p', '/ws/p/Dockerfile')).toBe('Dockerfile');
    expect(stagedDockerfilePath('/ws/p', '/ws/p/docker/Dockerfile.dev')).toBe('docker/Dockerfile.dev');
    expect(stagedDockerfilePath('/ws/p', '/ws/other/Dockerfile')).toBe('.pharos.Dockerfile');
  });

  it("gives the builder the pinned Dockerfile and the artifacts, never writing to the user's files", async () => {
    const ws = mkdtempSync(join(tmpdir(), 'pharos-stage-'));
    mkdirSync(join(ws, 'p/sub'), { recursive: true });
    mkdirSync(join(ws, 'dist/q'), { recursive: true });
    writeFileSync(join(ws, 'Dockerfile.shared'), 'FROM pharos/q:latest\n');
    symlinkSync('../Dockerfile.shared', join(ws, 'p/Dockerfile'));
    writeFileSync(join(ws, 'p/sub/file'), 'kept\n');
    writeFileSync(join(ws, 'dist/q/q.deb'), 'deb\n');
    const staged = await stageBuildContext({
      contextDir: join(ws, 'p'),
      dockerfile: join(ws, 'p/Dockerfile'),
      dockerfileText: 'FROM sha256:00\n',
      artifacts: [{ project: 'q', target: 'deb', files: ['dist/q/*.deb'], into: 'debs' }],
      workspaceRoot: ws,
      log: () => undefined,
    });
    expect(staged.dockerfile).toBe('Dockerfile');
    expect(readFileSync(join(staged.dir, 'Dockerfile'), 'utf8')).toBe('FROM sha256:00\n');
    expect(readFileSync(join(staged.dir, 'sub/file'), 'utf8')).toBe('kept\n');
    expect(readFileSync(join(staged.dir, 'debs/q.deb'), 'utf8')).toBe('deb\n');
    expect(readFileSync(join(ws, 'Dockerfile.shared'), 'utf8')).toBe('FROM pharos/q:latest\n');
    await staged.dispose();
    expect(existsSync(staged.dir)).toBe(false);
    rmSync(ws, { recursive: true, force: true });
  });
});

import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { storeProductFile } from '../../products/store-files';
import { failureOf } from '../../testing/failure';
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

/** Project p's context in workspace `ws`, with q's .debs as an artifact under debs/. */
function stageRequest(ws: string) {
  return {
    contextDir: join(ws, 'p'),
    dockerfile: join(ws, 'p/Dockerfile'),
    dockerfileText: 'FROM sha256:00\n',
    artifacts: [{ project: 'q', target: 'deb', files: ['dist/q/*.deb'], into: 'debs' }],
    workspaceRoot: ws,
    log: () => undefined,
  };
}

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
    const staged = await stageBuildContext(stageRequest(ws));
    expect(staged.dockerfile).toBe('Dockerfile');
    expect(readFileSync(join(staged.dir, 'Dockerfile'), 'utf8')).toBe('FROM sha256:00\n');
    expect(readFileSync(join(staged.dir, 'sub/file'), 'utf8')).toBe('kept\n');
    expect(readFileSync(join(staged.dir, 'debs/q.deb'), 'utf8')).toBe('deb\n');
    expect(readFileSync(join(ws, 'Dockerfile.shared'), 'utf8')).toBe('FROM pharos/q:latest\n');
    await staged.dispose();
    expect(existsSync(staged.dir)).toBe(false);
    rmSync(ws, { recursive: true, force: true });
  });

  it('gives the builder the bytes of an artifact kept in the store, and names its target when the blob is missing', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'pharos-stage-'));
    const storeEnv = { PHAROS_STORE: join(ws, 'store'), PHAROS_STORE_THRESHOLD: '0' };
    mkdirSync(join(ws, 'p'), { recursive: true });
    mkdirSync(join(ws, 'dist/q'), { recursive: true });
    writeFileSync(join(ws, 'dist/q/q.deb'), 'deb\n');
    await storeProductFile(join(ws, 'dist/q/q.deb'), undefined, { workspaceRoot: ws, storeEnv });
    const request = stageRequest(ws);
    vi.stubEnv('PHAROS_STORE', storeEnv.PHAROS_STORE);
    try {
      const staged = await stageBuildContext(request);
      expect(lstatSync(join(staged.dir, 'debs/q.deb')).isFile()).toBe(true);
      expect(readFileSync(join(staged.dir, 'debs/q.deb'), 'utf8')).toBe('deb\n');
      // The blob is 0444; the image gets the mode a product file has, whatever the threshold.
      expect(lstatSync(join(staged.dir, 'debs/q.deb')).mode & 0o777).toBe(0o644);
      await staged.dispose();
      rmSync(join(ws, 'store'), { recursive: true });
      const err = await failureOf(stageBuildContext(request));
      expect(err.format()).toMatch(/^pharos: dist\/q\/q\.deb: links to blob sha256:[0-9a-f]{64}, which this machine does not have/);
      expect(err.details.next).toBe('rebuild it here: npx nx run q:deb --skip-nx-cache');
    } finally {
      vi.unstubAllEnvs();
      rmSync(ws, { recursive: true, force: true });
    }
  });
});

import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, removeDir } from '../../e2e/harness';
import { imageProductPaths, type ImageManifest } from '../products/image';
import { PharosError } from '../utils/errors';
import { tarRootfs } from './debootstrap';
import { importRootfs, inspectImage } from './docker';
import { ensureImage, publishImage } from './image-store';

// Real Docker engine, with a one-file image imported here, so saving and loading it takes a moment.
describe('image store', () => {
  let dir: string;
  let manifest: ImageManifest;
  const tag = `pharos-test/image-store:${process.pid}`;
  const products = () => imageProductPaths(join(dir, 'dist'));
  const removeFromDaemon = () =>
    docker
      .getImage(manifest.id)
      .remove({ force: true })
      .catch(() => undefined);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pharos-image-store-'));
    mkdirSync(join(dir, 'rootfs'));
    writeFileSync(join(dir, 'rootfs/hello'), 'hello\n');
    const tar = tarRootfs(join(dir, 'rootfs'));
    const [imageId] = await Promise.all([importRootfs(docker, tar.stream, tag, []), tar.done]);
    manifest = await publishImage(docker, {
      project: 'tiny',
      imageId,
      tags: [tag],
      outputDir: join(dir, 'dist'),
      workspaceRoot: dir,
      base: [],
      definedBy: 'test',
      log: () => undefined,
    });
  });
  afterAll(async () => {
    await removeFromDaemon();
    removeDir(dir);
  });

  it('publishes the archive and a manifest naming it', () => {
    expect(manifest).toMatchObject({ schema: 1, project: 'tiny', tags: [tag], archive: 'image.tar', definedBy: 'test' });
    expect(manifest.archiveSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('archives the image by ID, with no tag that another run could have moved', () => {
    const [entry] = JSON.parse(execFileSync('tar', ['-xOf', products().archive, 'manifest.json'], { encoding: 'utf8' })) as Array<{
      Config: string;
      RepoTags?: string[] | null;
    }>;
    expect(entry.Config).toContain(manifest.id.replace(/^sha256:/, ''));
    expect(entry.RepoTags ?? []).toEqual([]);
  });

  it('loads a missing image from its archive and points its tags at it', async () => {
    await removeFromDaemon();
    expect(await inspectImage(docker, manifest.id)).toBeUndefined();
    expect(await ensureImage(docker, products().manifest, manifest)).toBe(true);
    expect((await inspectImage(docker, tag))?.Id).toBe(manifest.id);
    // Present now: nothing to load.
    expect(await ensureImage(docker, products().manifest, manifest)).toBe(false);
  });

  it('refuses a corrupt archive and names the rebuild', async () => {
    await removeFromDaemon();
    const fd = openSync(products().archive, 'r+');
    writeSync(fd, Buffer.from('corrupt'), 0, 7, 512);
    closeSync(fd);
    const err = await ensureImage(docker, products().manifest, manifest).catch((e: PharosError) => e);
    expect(err).toBeInstanceOf(PharosError);
    expect((err as PharosError).format()).toMatch(
      /the image archive has sha256 [0-9a-f]{64}, its manifest says [^]*next: rebuild it: npx nx run tiny:image --skip-nx-cache/,
    );
    expect(await inspectImage(docker, manifest.id)).toBeUndefined();
  });

  it('names a missing archive', async () => {
    rmSync(products().archive);
    const err = await ensureImage(docker, products().manifest, manifest).catch((e: PharosError) => e);
    expect((err as PharosError).format()).toMatch(
      /image sha256:[0-9a-f]+ is not in the daemon and its archive is missing[^]*next: rebuild it: npx nx run tiny:image/,
    );
  });
});

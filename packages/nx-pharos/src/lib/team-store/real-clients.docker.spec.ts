import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, realProduct, removeDir } from '../../../e2e/harness';
import { blobArtifact } from '../../products/blob-artifact';
import { blobPath } from '../../products/store';
import { runContainerCaptured } from '../../tools/docker';
import { freePort } from '../../tools/qemu';
import type { RunningRegistry } from '../../tools/registry';
import type { RegistryAccess } from '../../tools/skopeo';
import { pushImage } from './images';
import { startLoopbackTeamStore } from './loopback';
import { READ_AUTH_FILE, WRITE_AUTH_FILE } from './settings';
import { pushBlob } from './team-store';

/**
 * What the team store pushes is usable without Pharos: the clients a site's nodes have pull it by digest, with the
 * read-only credentials file. Apptainer's `oras://` (in the dev container, the only place Apptainer is here) pulls a
 * SIF, and the Docker engine pulls an image. The products are the ones the global setup built (base-tools), on a
 * loopback registry of the spec's own (Debian's docker-registry behind its two doors).
 */
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const LABELS = { 'org.pharos.test': 'team-store-clients' };

describe('the team store, read by the real clients', () => {
  let root: string;
  let running: RunningRegistry[] = [];
  let read: RegistryAccess;
  let write: RegistryAccess;
  const pulledRefs: string[] = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'pharos-team-clients-'));
    const [readPort, writePort] = [await freePort(), await freePort()];
    const paths = { storage: join(root, 'registry'), runDir: join(root, 'registry-server'), credentialsDir: join(root, 'credentials'), readPort, writePort };
    running = (await startLoopbackTeamStore(paths)).started;
    read = { address: `127.0.0.1:${readPort}`, authFile: join(paths.credentialsDir, READ_AUTH_FILE) };
    write = { address: `127.0.0.1:${writePort}`, authFile: join(paths.credentialsDir, WRITE_AUTH_FILE) };
  }, 30_000);

  afterAll(async () => {
    for (const ref of pulledRefs)
      await docker
        .getImage(ref)
        .remove()
        .catch(() => undefined);
    for (const r of running) await r.stop();
    removeDir(root);
  });

  it('apptainer pull oras:// gets a pushed SIF by digest, with the read-only credentials file, byte for byte', async () => {
    const sif = join(realProduct('containers/base-tools'), 'base-tools.sif');
    const hex = sha256(sif);
    const size = statSync(sif).size;
    // A store of the spec's own holding the SIF, as storeProductFile leaves a blob.
    const store = join(root, 'store');
    mkdirSync(dirname(blobPath(store, hex)), { recursive: true });
    copyFileSync(realpathSync(sif), blobPath(store, hex));
    await pushBlob(store, hex, size, 'sif', write, {});
    const { digest } = blobArtifact(hex, size, 'sif');

    const devContainer = JSON.parse(readFileSync(join(realProduct('tools/dev-container'), 'image.json'), 'utf8')).id as string;
    const out = join(root, 'pulled');
    mkdirSync(out, { mode: 0o777 });
    /** `apptainer pull` in the dev container, on the host's network, with the read-only credentials file. */
    const apptainerPull = async (...args: string[]) => {
      const r = await runContainerCaptured(docker, {
        image: devContainer,
        cmd: ['apptainer', 'pull', '--authfile', '/auth.json', ...args],
        binds: [`${read.authFile!}:/auth.json:ro`, `${out}:/out`],
        network: 'host',
        labels: LABELS,
        timeLimit: 300_000,
      });
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    };
    await apptainerPull('--no-https', '/out/x.sif', `oras://${read.address}/pharos/store@${digest}`);
    expect(sha256(join(out, 'x.sif'))).toBe(hex);
    // The tag `sif-<hex>` a person would type names the same manifest; and a registry on loopback needs no --no-https.
    await apptainerPull('/out/y.sif', `oras://${read.address}/pharos/store:sif-${hex}`);
    expect(sha256(join(out, 'y.sif'))).toBe(hex);
  }, 600_000);

  it('docker pull gets a pushed image by digest, with the read-only credentials file as its config, and it is the same image', async () => {
    const product = realProduct('containers/base-tools');
    const manifest = JSON.parse(readFileSync(join(product, 'image.json'), 'utf8'));
    const image = { project: 'base-tools', tags: manifest.tags, id: manifest.id, archiveSha256: manifest.archiveSha256 };
    const ref = await pushImage(image, join(product, 'image.tar'), write, {});
    const pulled = ref.replace(write.address, read.address);
    // Without credentials the registry refuses the pull: the doors are not open to anyone on the machine. Asked first,
    // because a daemon that has pulled a digest once re-tags it from its own records without asking again.
    const anonymous = join(root, 'docker-anonymous');
    mkdirSync(anonymous);
    pulledRefs.push(pulled);
    let refused = '';
    try {
      execFileSync('docker', ['--config', anonymous, 'pull', '--quiet', pulled], { stdio: 'pipe', timeout: 120_000 });
    } catch (e) {
      refused = String((e as { stderr?: Buffer }).stderr ?? e);
    }
    expect(refused).toMatch(/no basic auth credentials/);
    // Our credentials file is a Docker config: a `docker --config` folder holding it is all the client needs.
    const config = join(root, 'docker-config');
    mkdirSync(config, { mode: 0o700 });
    writeFileSync(join(config, 'config.json'), readFileSync(read.authFile!), { mode: 0o600 });
    execFileSync('docker', ['--config', config, 'pull', '--quiet', pulled], { stdio: 'pipe', timeout: 300_000 });
    expect((await docker.getImage(pulled).inspect()).Id).toBe(manifest.id);
  }, 600_000);
});

import { execa } from 'execa';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageManifest } from '../src/products/image';
import { OWNER_LABEL } from '../src/tools/container-owner';
import { workspaceId } from '../src/utils/leftovers';
import { docker, removeDir, WORKSPACE } from './harness';

/**
 * `pharos list`, `avail`, `info` and `clean` through the real entry (bin/pharos.cjs) in a temporary workspace that holds
 * real products, copied from what the global setup built (base-tools' image and SIF, htslib's overlay: manifests as
 * written, links into the real store), beside another tool's files, containers and image tags. `clean --dry-run` must
 * change nothing and name only Pharos's things; `clean` must remove only those.
 *
 * One change to a real product: base-tools' image.json names test tags of its image instead of `pharos/base-tools:latest`,
 * which other specs use; one is a `pharos/` name (Pharos's), the other another tool's name for the same image.
 */

const PHAROS = join(WORKSPACE, 'packages/nx-pharos/bin/pharos.cjs');
const TAG = `pharos/commands-probe-${process.pid}:latest`;
const OTHER_TAG = `other-tool/commands-probe-${process.pid}:latest`;
const TEST_LABEL = 'org.pharos.test';

describe('pharos list, avail, info and clean', () => {
  let root: string;
  let imageId: string;
  const containers: Record<string, string> = {};
  const pharos = (...args: string[]) => execa('node', [PHAROS, ...args], { cwd: root, reject: false, env: { NO_COLOR: '' } });

  /** Every path under the workspace (but node_modules' links into the real one), each with what it holds. */
  function snapshot(): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (dir: string, rel: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        const at = rel ? `${rel}/${name}` : name;
        const st = lstatSync(path);
        if (st.isSymbolicLink()) out[at] = `-> ${readlinkSync(path)}`;
        else if (st.isDirectory()) {
          out[at] = 'dir';
          walk(path, at);
        } else out[at] = `${st.size} ${st.mtimeMs} ${st.size < 65536 ? readFileSync(path, 'utf8') : ''}`;
      }
    };
    walk(root, '');
    return out;
  }

  const tagId = async (ref: string) =>
    (
      await docker
        .getImage(ref)
        .inspect()
        .catch(() => undefined)
    )?.Id;
  const containerExists = async (id: string) => (await docker.listContainers({ all: true, filters: { id: [id] } })).length === 1;

  async function labelledContainer(name: string, labels: Record<string, string>): Promise<void> {
    const c = await docker.createContainer({ Image: imageId, Cmd: ['true'], Labels: { [TEST_LABEL]: 'commands', ...labels } });
    containers[name] = c.id;
  }

  beforeAll(async () => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'pharos-commands-')));
    writeFileSync(join(root, 'nx.json'), '{}\n');
    for (const dir of ['third-party', 'containers/overlays', 'containers/debian-bookworm', 'containers/debian-trixie']) {
      cpSync(join(WORKSPACE, dir), join(root, dir), { recursive: true });
    }
    // The products, links as links: they go through this workspace's anchor to the real store.
    mkdirSync(join(root, '.pharos'));
    symlinkSync(realpathSync(join(WORKSPACE, '.pharos/store')), join(root, '.pharos/store'));
    for (const dir of ['dist/containers/base-tools', 'dist/containers/overlays/htslib']) {
      cpSync(join(WORKSPACE, dir), join(root, dir), { recursive: true, verbatimSymlinks: true, filter: (src) => !src.endsWith('.lock') });
    }
    const manifestFile = join(root, 'dist/containers/base-tools/image.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as ImageManifest;
    imageId = manifest.id;
    writeFileSync(manifestFile, `${JSON.stringify({ ...manifest, tags: [TAG, OTHER_TAG] }, null, 2)}\n`);
    await docker.getImage(imageId).tag({ repo: TAG.split(':')[0], tag: 'latest' });
    await docker.getImage(imageId).tag({ repo: OTHER_TAG.split(':')[0], tag: 'latest' });

    // Another tool's files: beside the products, inside a product's folder, and a JSON file named like a manifest.
    mkdirSync(join(root, 'dist/other-tool'), { recursive: true });
    writeFileSync(join(root, 'dist/other-tool/x'), 'not ours\n');
    writeFileSync(join(root, 'dist/other-tool/image.json'), '{"name": "another tool\'s image.json"}\n');
    writeFileSync(join(root, 'dist/containers/base-tools/notes.txt'), 'a note someone left\n');
    mkdirSync(join(root, 'node_modules/.cache'), { recursive: true });
    writeFileSync(join(root, 'node_modules/.cache/x'), 'a cache\n');

    // A run of this workspace that has ended, one that is still going (this process), another workspace's, another tool's.
    const ended = (await execa('sh', ['-c', 'echo $$'])).stdout.trim();
    const owner = (pid: string, workspace = workspaceId(root)) => ({
      [OWNER_LABEL.workspace]: workspace,
      [OWNER_LABEL.task]: 'base-tools:sif',
      [OWNER_LABEL.pid]: pid,
      [OWNER_LABEL.node]: hostname(),
    });
    await labelledContainer('ended', owner(ended));
    await labelledContainer('live', owner(String(process.pid)));
    await labelledContainer('other-workspace', owner(ended, 'ffffffffffff'));
    await labelledContainer('other-tool', { 'com.example.other-tool': 'yes' });

    // htslib is being built right now: this process holds its lock.
    const lock = { type: 'nx-task htslib-1.16:overlay', pid: process.pid, node: hostname(), job_id: null, created_at: new Date().toISOString() };
    writeFileSync(join(root, 'dist/containers/overlays/htslib/1.16.sqf.lock'), `${JSON.stringify(lock)}\n`);
  });

  afterAll(async () => {
    for (const id of Object.values(containers))
      await docker
        .getContainer(id)
        .remove({ force: true })
        .catch(() => undefined);
    for (const tag of [TAG, OTHER_TAG])
      await docker
        .getImage(tag)
        .remove({ noprune: true })
        .catch(() => undefined);
    if (root) removeDir(root);
  });

  it('lists the products from their manifests, and nothing of the other tool', async () => {
    const list = await pharos('list');
    expect(list.exitCode).toBe(0);
    const rows = list.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(/\s{2,}/));
    expect(rows.map((r) => [r[0], r[1], r.at(-1)])).toEqual([
      ['PROJECT', 'KIND', 'STATUS'],
      ['base-tools', 'image', 'ok'],
      ['base-tools', 'sif', 'ok'],
      ['htslib-1.16', 'overlay', 'ok'],
    ]);
    const json = JSON.parse((await pharos('list', '--json', '--kind', 'image')).stdout);
    const archive = join(root, 'dist/containers/base-tools/image.tar');
    expect(lstatSync(archive).isSymbolicLink()).toBe(true);
    expect(json).toEqual([
      expect.objectContaining({ project: 'base-tools', kind: 'image', bytes: statSync(archive).size, manifest: 'dist/containers/base-tools/image.json' }),
    ]);
  });

  it('shows what can be built, and one product with its provenance, signatures and store blob', async () => {
    const avail = await pharos('avail');
    expect(avail.exitCode).toBe(0);
    expect(avail.stdout).toMatch(/^slurm\s+24\.11\.5 \(default\)\s+yes\s+bookworm trixie\s+yes \(trixie\)\s+gpu minimal$/m);
    expect(avail.stdout).toMatch(/^htslib\/1\.16\s+app\s+built/m);
    const info = await pharos('info', 'dist/containers/base-tools/base-tools.sif');
    expect(info.exitCode).toBe(0);
    expect(info.stdout).toMatch(/dist\/containers\/base-tools\/base-tools\.sif \(.*\): a link into the store, blob present/);
    expect(info.stdout).toContain(`    image: ${imageId}`);
    expect(info.stdout).toMatch(/ {4}(present|absent): SIF signature/);
    const json = JSON.parse((await pharos('info', '--json', 'base-tools')).stdout);
    expect(json.map((i: { kind: string }) => i.kind)).toEqual(['sif', 'image']);
    expect((await pharos('info', 'htslib/1.16')).stdout).toContain('pharos exec -o htslib/1.16 -- <command>');
  });

  it("clean --dry-run changes nothing and names only Pharos's things", async () => {
    const before = snapshot();
    const run = await pharos('clean', '--dry-run');
    expect(snapshot()).toEqual(before);
    for (const id of Object.values(containers)) expect(await containerExists(id)).toBe(true);
    expect(await tagId(TAG)).toBe(imageId);
    expect(run.exitCode).toBe(1);
    expect(run.stdout.split('\n').filter(Boolean)).toEqual([
      'would remove dist/containers/base-tools/base-tools.sif  (base-tools sif)',
      ...(existsSync(join(root, 'dist/containers/base-tools/base-tools.sif.pub.pem'))
        ? ['would remove dist/containers/base-tools/base-tools.sif.pub.pem  (base-tools sif)']
        : []),
      'would remove dist/containers/base-tools/base-tools.sif.json  (base-tools sif)',
      'would remove dist/containers/base-tools/image.tar  (base-tools image)',
      'would remove dist/containers/base-tools/image.json  (base-tools image)',
      expect.stringMatching(new RegExp(`^would remove container \\S+ \\(${containers.ended.slice(0, 12)}\\)  \\(left by base-tools:sif\\)$`)),
      `would remove image ${TAG}  (base-tools, ${imageId.slice(0, 19)})`,
      expect.stringMatching(
        /^skipping dist\/containers\/overlays\/htslib\/1\.16\.sqf\.json: a build holds dist\/containers\/overlays\/htslib\/1\.16\.sqf\.lock: nx-task htslib-1\.16:overlay/,
      ),
      expect.stringMatching(new RegExp(`^keeping container \\S+: its run \\(base-tools:sif, pid ${process.pid}\\) is still going$`)),
      `keeping image ${OTHER_TAG}: not a pharos/ name: other tools may use it`,
    ]);
    expect(run.stdout).not.toMatch(/other-tool\/x|node_modules|notes\.txt|ffffffffffff/);
  });

  it('clean removes only those, leaves the store to store-gc, and the locked product until its build ends', async () => {
    const blob = realpathSync(join(root, 'dist/containers/base-tools/image.tar'));
    const before = snapshot();
    const run = await pharos('clean');
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.stderr).toContain('some products were skipped while a build holds them');
    const after = snapshot();
    const gone = Object.keys(before).filter((p) => !(p in after));
    expect(gone.sort()).toEqual(
      [
        'dist/containers/base-tools/image.tar',
        'dist/containers/base-tools/image.json',
        'dist/containers/base-tools/base-tools.sif',
        'dist/containers/base-tools/base-tools.sif.json',
        ...(before['dist/containers/base-tools/base-tools.sif.pub.pem'] ? ['dist/containers/base-tools/base-tools.sif.pub.pem'] : []),
      ].sort(),
    );
    expect(Object.keys(after).filter((p) => !(p in before))).toEqual([]);
    expect(existsSync(blob)).toBe(true);
    expect(await containerExists(containers.ended)).toBe(false);
    for (const name of ['live', 'other-workspace', 'other-tool']) expect(await containerExists(containers[name]), name).toBe(true);
    expect(await tagId(TAG)).toBeUndefined();
    expect(await tagId(OTHER_TAG)).toBe(imageId);

    // Once the build has ended (its lock gone), the overlay goes too, and its emptied folder.
    unlinkSync(join(root, 'dist/containers/overlays/htslib/1.16.sqf.lock'));
    const overlay = await pharos('clean', 'htslib-1.16');
    expect(overlay.exitCode, overlay.stderr).toBe(0);
    expect(existsSync(join(root, 'dist/containers/overlays'))).toBe(false);
    expect(readFileSync(join(root, 'dist/other-tool/x'), 'utf8')).toBe('not ours\n');
    expect(existsSync(join(root, 'dist/containers/base-tools/notes.txt'))).toBe(true);
    expect(existsSync(join(root, 'node_modules/.cache/x'))).toBe(true);
    expect((await pharos('clean', '--dry-run')).stdout).toBe(
      `keeping container ${(await docker.getContainer(containers.live).inspect()).Name.slice(1)}: its run (base-tools:sif, pid ${process.pid}) is still going\npharos clean: nothing of Pharos to remove`,
    );
  });
});

import { execa } from 'execa';
import { cpSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sha256File } from '../../utils/digest';
import { workspaceRootFrom } from '../../utils/paths';
import { availCli } from '../product-catalog/commands-cli';
import { infoCli } from './catalog-cli';

/**
 * The real `pharos avail` (its overlays) and `info` (bin/pharos.cjs) in a copy of the tree's overlay scripts, with a manifest and a
 * .sqf of its size in dist/ for htslib only (a sparse file: list and info never read the image). Two runs go through
 * the real entry (arguments, exit code, errors on stderr); the rest call the same functions in this process, faster.
 */
const WORKSPACE = resolve(__dirname, '../../../../..');
const PHAROS = join(WORKSPACE, 'packages/nx-pharos/bin/pharos.cjs');

describe('pharos avail and info of overlays', () => {
  let root: string;
  // Without NO_COLOR: under Nx (FORCE_COLOR set) Node would warn on stderr that it ignores it, and stderr is compared.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NO_COLOR'));
  const pharos = (...args: string[]) => execa('node', [PHAROS, ...args], { cwd: join(root, 'containers'), reject: false, env, extendEnv: false });
  /** What a command of catalog-cli.ts prints, run here. */
  async function printed(run: (argv: string[], cwd: string) => Promise<number>, ...argv: string[]): Promise<string> {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await run(argv, join(root, 'containers/overlays'))).toBe(0);
      return write.mock.calls.map((c) => String(c[0])).join('');
    } finally {
      write.mockRestore();
    }
  }

  /** A product's manifest, and beside it a sparse file of the size it records (list and info never read the image). */
  function place(dir: string, file: string, manifest: { bytes: number }) {
    writeFileSync(join(dir, `${file}.json`), JSON.stringify(manifest));
    writeFileSync(join(dir, file), '');
    truncateSync(join(dir, file), manifest.bytes);
  }

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'pharos-catalog-'));
    writeFileSync(join(root, 'nx.json'), '{}\n');
    cpSync(join(WORKSPACE, 'containers/overlays'), join(root, 'containers/overlays'), { recursive: true });
    const dist = join(root, 'dist/containers/overlays/htslib');
    mkdirSync(dist, { recursive: true });
    const manifest = {
      schema: 1,
      project: 'htslib-1.16',
      overlay: 'htslib/1.16',
      type: 'app',
      sqf: '1.16.sqf',
      env: '1.16.env',
      sha256: '3ec4601faf37e2caa207ce4385b1bf3767dfde921103d0ae8d1763780daf6898',
      bytes: 8069120,
      script: { file: 'containers/overlays/htslib/1.16.sh', sha256: await sha256File(join(root, 'containers/overlays/htslib/1.16.sh')) },
      sources: [],
      base: { project: 'overlay-build-base', sif: 'overlay-build-base.sif', sha256: 'b'.repeat(64) },
      deps: [],
      mksquashfsArgs: ['-noappend', '-b', '128K'],
      apptainerVersion: '1.4.5',
    };
    place(dist, '1.16.sqf', manifest);

    // site-shell's SIF, on a base-tools SIF whose manifest is there too (its digest is what info shows).
    const base = join(root, 'dist/containers/base-tools');
    mkdirSync(base, { recursive: true });
    const baseSif = {
      schema: 1,
      project: 'base-tools',
      sif: 'base-tools.sif',
      sha256: 'b'.repeat(64),
      bytes: 1,
      mksquashfsArgs: '',
      apptainerVersion: '1.4.5',
    };
    writeFileSync(join(base, 'base-tools.sif.json'), JSON.stringify(baseSif));
    const shell = join(root, 'dist/containers/overlays/site-shell');
    mkdirSync(shell, { recursive: true });
    const definition = 'containers/overlays/site-shell/1.0.def';
    const sif = {
      ...baseSif,
      project: 'site-shell-1.0',
      sif: '1.0.sif',
      sha256: 'e'.repeat(64),
      bytes: 1048576,
      definition: { file: definition, sha256: await sha256File(join(root, definition)) },
      base: { project: 'base-tools', sif: 'base-tools.sif', sha256: 'b'.repeat(64) },
    };
    place(shell, '1.0.sif', sif);
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('finds the workspace from a folder inside it', () => {
    expect(workspaceRootFrom(join(root, 'containers/overlays/htslib'))).toBe(root);
  });

  it('lists the scripts with what dist/ holds of them, from any folder of the workspace', async () => {
    const list = await pharos('avail');
    expect(list.exitCode).toBe(0);
    expect(list.stdout.split('\n').map((l) => l.split(/\s{2,}/).slice(0, 4))).toEqual([
      ['OVERLAY', 'TYPE', 'STATUS', 'SIZE'],
      ['htslib/1.16', 'app', 'built', '7.7 MiB'],
      ['samtools/1.16.1', 'app', 'not built', '-'],
      ['site-shell/1.0', 'image', 'built', '1.0 MiB'],
      ['toy-genome/1.0', 'data', 'not built', '-'],
    ]);
    const json = JSON.parse(await printed(availCli, '--json', 'sam')).overlays;
    expect(json.map((r: { overlay: string; status: string }) => [r.overlay, r.status])).toEqual([['samtools/1.16.1', 'not built']]);
  });

  it('shows one overlay, and names the versions there are for one that is not', async () => {
    const info = await printed(infoCli, 'htslib/1.16');
    expect(info).toContain('  sqf:         dist/containers/overlays/htslib/1.16.sqf (8,069,120 bytes, 7.7 MiB)');
    expect(info).toContain('pharos exec -o htslib/1.16 -- <command>');
    expect(JSON.parse(await printed(infoCli, '--json', 'samtools-1.16.1'))).toMatchObject({ overlay: 'samtools/1.16.1', status: 'not built' });
    const image = await printed(infoCli, 'site-shell/1.0');
    expect(image).toContain('  type:        image (a SIF built from an Apptainer definition file, not an overlay)\n  status:      built\n');
    expect(image).toContain(`  From:       dist/containers/base-tools/base-tools.sif (line 4) (project base-tools; its SIF has sha256 ${'b'.repeat(64)})`);
    expect(JSON.parse(await printed(infoCli, '--json', 'site-shell-1.0'))).toMatchObject({ type: 'image', product: { sha256: 'e'.repeat(64) } });
    const unknown = await pharos('info', 'htslib/1.21');
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toBe('pharos: info: no overlay htslib/1.21; the tree has htslib/1.16\n  next: pharos info htslib/1.16');
  });
});

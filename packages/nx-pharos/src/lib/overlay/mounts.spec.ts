import { execa } from 'execa';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { envFileText, type OverlayManifest } from '../../products/overlay';
import { blobLinkText } from '../../products/store';
import { failureOf } from '../../testing/failure';
import { holdOverlays, overlayBinDirs, usingOverlaysArgv, withOverlayEnv } from './mounts';

const dir = mkdtempSync(join(tmpdir(), 'pharos-overlay-env-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('overlay environment', () => {
  it('puts the topmost overlay first on PATH', () => {
    expect(overlayBinDirs(['/cnt/htslib/1.16', '/cnt/samtools/1.16.1'])).toEqual(['/cnt/samtools/1.16.1/bin', '/cnt/htslib/1.16/bin']);
  });

  it('sources each .env (real sh), exported, later ones winning, values taken as written', async () => {
    const dep = join(dir, 'dep.env');
    const self = join(dir, 'self.env');
    writeFileSync(
      dep,
      envFileText(
        [
          { key: 'ROOT', value: '$app_root', line: 1 },
          { key: 'ODD', value: "a 'b' $HOME;c", line: 2 },
        ],
        '/cnt/dep/1',
      ),
    );
    writeFileSync(self, envFileText([{ key: 'ROOT', value: '$app_root', line: 1 }], '/cnt/self/2'));
    const [sh, , script, ...args] = withOverlayEnv('printf "%s|%s" "$ROOT" "$ODD"; sh -c \'echo "|$ROOT"\'', [dep, self]);
    const r = await execa(sh, ['-c', script, ...args]);
    expect(r.stdout).toBe("/cnt/self/2|a 'b' $HOME;c|/cnt/self/2");
  });

  it('stops, without running the command, when a .env does not source', async () => {
    const bad = join(dir, 'bad.env');
    writeFileSync(bad, "A='unterminated\n");
    const [sh, , script, ...args] = withOverlayEnv('echo ran', [bad]);
    const r = await execa(sh, ['-c', script, ...args], { reject: false });
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout).not.toContain('ran');
  });

  it('mounts the overlays in order on the base SIF, as the test and pharos exec use them, with their .env and bin/', () => {
    const mounted = ['htslib/1.16', 'samtools/1.16.1'].map((overlay) => ({
      overlay,
      project: overlay.replace('/', '-'),
      sqf: `/w/${overlay}.sqf`,
      env: `/w/${overlay}.env`,
      manifest: {} as OverlayManifest,
    }));
    const argv = usingOverlaysArgv('/w/base.sif', mounted, 'samtools --version', { binds: [{ host: '/w/here', container: '/w/here' }], pwd: '/w/here' });
    const sif = argv.indexOf('/w/base.sif');
    expect(argv.slice(0, sif).join(' ')).toBe(
      'apptainer exec --cleanenv --contain --no-home --overlay /w/htslib/1.16.sqf:ro --overlay /w/samtools/1.16.1.sqf:ro ' +
        '--bind /w/htslib/1.16.env:/pharos/env/0.env:ro --bind /w/samtools/1.16.1.env:/pharos/env/1.env:ro --bind /w/here:/w/here ' +
        '--env PREPEND_PATH=/cnt/samtools/1.16.1/bin:/cnt/htslib/1.16/bin --pwd /w/here',
    );
    expect(argv.slice(sif + 1)).toEqual(withOverlayEnv('samtools --version', ['/pharos/env/0.env', '/pharos/env/1.env']));
  });
});

describe('holding overlays', () => {
  it("names a .sqf's missing blob and the target to re-run, before trying to lock it", async () => {
    const sha256 = 'cd'.padEnd(64, '1');
    const sqf = join(dir, 'dist/containers/overlays/htslib/1.16.sqf');
    mkdirSync(join(sqf, '..'), { recursive: true });
    symlinkSync(blobLinkText(sqf, dir, sha256), sqf);
    const manifest = { project: 'htslib-1.16', sha256, bytes: 10 } as OverlayManifest;
    vi.stubEnv('PHAROS_STORE', join(dir, 'store'));
    try {
      const err = await failureOf(holdOverlays([{ overlay: 'htslib/1.16', project: 'htslib-1.16', sqf, env: `${sqf}.env`, manifest }], { workspaceRoot: dir }));
      expect(err.format()).toBe(
        `pharos: dist/containers/overlays/htslib/1.16.sqf: links to blob sha256:${sha256}, which this machine does not have (store: ${join(dir, 'store')})\n` +
          '  next: rebuild it here: npx nx run htslib-1.16:overlay --skip-nx-cache',
      );
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

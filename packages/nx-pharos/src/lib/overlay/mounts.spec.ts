import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { envFileText, type OverlayManifest } from '../../products/overlay';
import { overlayBinDirs, usingOverlaysArgv, withOverlayEnv } from './mounts';

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

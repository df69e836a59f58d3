import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { envFileText } from '../../products/overlay';
import { overlayBinDirs, withOverlayEnv } from './mounts';

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
});

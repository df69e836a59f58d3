import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStubbed, scriptFolder, stubDir } from '../../testing/sh-stubs';
import { DEB_CHECK_SCRIPT } from './executor';

/**
 * deb-check.sh with the real sh, laid out as in the container's /pharos; install-debs.sh, dpkg, useradd, setpriv and
 * apptainer (which answer only in the suite's container with the package installed) are stand-ins.
 */
describe('apptainer deb check', () => {
  const run = (stubs: { owner?: string; version?: string; build?: string; exec?: string } = {}) => {
    const dir = scriptFolder([DEB_CHECK_SCRIPT], { 'install-debs.sh': 'echo "install-debs $* with $EXTRA_PACKAGES"' });
    const home = mkdtempSync(join(tmpdir(), 'pharos-apptainer-home-'));
    const busybox = join(home, 'busybox-binary');
    writeFileSync(busybox, '');
    return runStubbed(
      join(dir, 'deb-check.sh'),
      ['apptainer_1.4.5-2_amd64.deb'],
      { RUNTIME_PACKAGES: 'squashfuse', EXPECTED_VERSION: '1.4.5', USER_HOME: home, BUSYBOX: busybox },
      stubDir({
        dpkg: `echo "${stubs.owner ?? 'apptainer'}: $2"`,
        useradd: '',
        setpriv: 'while [ "${1#--}" != "$1" ]; do shift; done; exec "$@"',
        apptainer: [
          'case $1 in',
          `  --version) echo "${stubs.version ?? 'apptainer version 1.4.5'}" ;;`,
          `  build) test -x "$3/bin/busybox" -o -f "$3/bin/busybox" && test -L "$3/bin/sh" && ${stubs.build ?? 'touch "$2"'} ;;`,
          `  exec) test -f "$2" && ${stubs.exec ?? 'shift 2; echo "$3"'} ;;`,
          'esac',
        ].join('\n'),
      }),
    );
  };

  it('installs the package with the runtime packages, then checks the version, a SIF build and exec as a user', async () => {
    const r = await run();
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      'install-debs apptainer_1.4.5-2_amd64.deb with squashfuse busybox-static',
      'pharos-check: ok   installed apptainer_1.4.5-2_amd64.deb with apt in a clean container, with squashfuse',
      'pharos-check: ok   apptainer version 1.4.5, from the package under test',
      'pharos-check: ok   built a SIF from a directory as an unprivileged user',
      'pharos-check: ok   apptainer exec ran a command in the SIF as an unprivileged user',
    ]);
    expect(r.calls).toContain('useradd --create-home --shell /bin/sh pharos-user');
    expect(r.calls.filter((c) => c.startsWith('setpriv --reuid=pharos-user --regid=pharos-user --init-groups env HOME=')).length).toBeGreaterThan(3);
  });

  it('fails on an apptainer from elsewhere, another version, a failed build or exec, naming which', async () => {
    expect((await run({ owner: 'singularity-container' })).stdout).toContain('comes from singularity-container, not from the package under test');
    expect((await run({ version: 'apptainer version 1.3.6' })).stdout).toContain(
      'pharos-check: FAIL apptainer --version says "apptainer version 1.3.6", not version 1.4.5',
    );
    const build = await run({ build: 'echo "panic: nil pointer" >&2; false' });
    expect(build.exitCode).toBe(1);
    expect(build.stdout).toContain('panic: nil pointer');
    expect(build.stdout).toContain('pharos-check: FAIL apptainer build of a SIF from a directory, as an unprivileged user');
    expect((await run({ exec: 'false' })).stdout).toContain('pharos-check: FAIL apptainer exec of the SIF as an unprivileged user');
    expect((await run({ exec: 'echo wrong' })).stdout).toContain('pharos-check: FAIL apptainer exec printed "wrong", not pharos-in-sif');
  });
});

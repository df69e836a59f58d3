import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStubbed, scriptFolder, stubDir } from '../../testing/sh-stubs';
import { DEB_CHECK_SCRIPT } from './executor';

/**
 * deb-check.sh with the real sh, laid out as in the container's /pharos; install-debs.sh, services-check.sh and dpkg
 * (which answer only in the suite's container with BeeGFS installed) are stand-ins. The services themselves are proven
 * by e2e/beegfs.spec.ts.
 */
describe('beegfs deb check', () => {
  const run = (dpkgOwner: string) => {
    const dir = scriptFolder([DEB_CHECK_SCRIPT], {
      'install-debs.sh': 'echo "install-debs $* with $EXTRA_PACKAGES"',
      'services-check.sh': 'echo services-check',
    });
    return runStubbed(
      join(dir, 'deb-check.sh'),
      ['beegfs-mgmtd_1_amd64.deb'],
      {},
      stubDir({
        dpkg: `echo "${dpkgOwner}: $2"`,
        'beegfs-ctl': '',
        'beegfs-check-servers': '',
      }),
    );
  };

  it('installs the packages with DKMS and the kernel headers, and runs the services check on packaged daemons only', async () => {
    const r = await run('beegfs-mgmtd');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      'install-debs beegfs-mgmtd_1_amd64.deb with dkms linux-headers-amd64',
      "pharos-check: ok   installed 1 BeeGFS packages, dkms and the suite's kernel headers with apt in a clean container",
      'pharos-check: ok   every BeeGFS daemon and tool comes from the packages under test',
      'services-check',
    ]);
  });

  it('fails when a daemon comes from another package', async () => {
    const r = await run('other-pkg');
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('pharos-check: FAIL /opt/beegfs/sbin/beegfs-mgmtd comes from other-pkg, not from the packages under test');
  });
});

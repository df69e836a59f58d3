import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStubbed, stubDir } from '../../testing/sh-stubs';
import { INSTALL_DEBS_SCRIPT } from './verify-products';

// install-debs.sh with the real sh; apt-get is a stand-in (the real one installs as root in the suite's container).
describe('install-debs.sh', () => {
  const run = (aptGet: string, env: Record<string, string> = {}) => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-install-debs-'));
    const policy = join(dir, 'policy-rc.d');
    return runStubbed(
      INSTALL_DEBS_SCRIPT,
      ['a_1_amd64.deb', 'b_1_amd64.deb'],
      { POLICY_RC_D: policy, DEBS_DIR: dir, ...env },
      stubDir({ 'apt-get': aptGet }),
    ).then((r) => ({ ...r, policy: readFileSync(policy, 'utf8') }));
  };

  it('installs the .debs from the product folder with the extra packages, without starting their daemons', async () => {
    const r = await run('', { EXTRA_PACKAGES: 'dkms linux-headers-amd64' });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.policy).toBe('#!/bin/sh\nexit 101\n');
    expect(r.calls).toEqual(['apt-get update -q', 'apt-get install -y -q --no-install-recommends ./a_1_amd64.deb ./b_1_amd64.deb dkms linux-headers-amd64']);
  });

  it("shows apt's last lines and exits 2 when the install fails", async () => {
    const r = await run('case $1 in install) echo "E: Unable to locate package nope"; exit 100 ;; esac');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('E: Unable to locate package nope');
  });
});

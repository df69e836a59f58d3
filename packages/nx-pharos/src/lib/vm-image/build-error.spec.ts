import { describe, expect, it } from 'vitest';
import { packerBuildError } from './build-error';

describe('packer build errors', () => {
  const at = { label: 'hpc-compute:image', serialLog: '/w/tmp/logs/s.log', buildLog: '/w/tmp/logs/b.log', workspaceRoot: '/w', provisionTimeoutMinutes: 75 };
  it('names the failing script, the SSH problem or the time limit, with the log to read', () => {
    const failed = packerBuildError('Provisioning with shell script: /w/packer/hpc/a.sh\nScript exited with non-zero exit status: 4.', false, 60, at);
    expect([failed.message, failed.details.file]).toEqual(['provisioning script packer/hpc/a.sh exited with code 4', 'packer/hpc/a.sh']);
    expect(packerBuildError('Timeout waiting for SSH', false, 60, at).message).toBe('the VM never answered SSH');
    expect(packerBuildError('ssh: unable to authenticate', false, 60, at).message).toBe('the VM refused the workspace SSH key');
    const slow = packerBuildError(
      'Provisioning with shell script: /w/packer/hpc/a.sh\nProvisioning with shell script: /w/packer/hpc/beegfs-client.sh\n==> qemu.image: Cancelling provisioner after a timeout...',
      false,
      120,
      at,
    );
    expect([slow.message, slow.details.file]).toEqual([
      'provisioning ran past its time limit (75 minutes) in packer/hpc/beegfs-client.sh, and Packer cancelled it',
      'packer/hpc/beegfs-client.sh',
    ]);
    expect(slow.details.next).toContain('--provisionTimeoutMinutes=<more>');
    expect(packerBuildError('anything', true, 7, at).message).toBe('packer build did not finish in 7 minutes; it and its VM were stopped');
    expect(packerBuildError('anything', false, 60, at).details.next).toBe('read tmp/logs/b.log and the serial console log tmp/logs/s.log');
  });

  it('blames QEMU when it ended before Packer stopped it, unless Packer reported the failure itself', () => {
    const lost = packerBuildError('Timeout waiting for SSH', false, 60, at, 'Waiting for SSH to become available');
    expect(lost.message).toBe(
      'QEMU ended while Packer was at "Waiting for SSH to become available", without Packer stopping it: it was killed, ran out of memory or crashed',
    );
    expect(lost.details.next).toBe('look for the OOM killer or a kill in `dmesg`, read the serial console log tmp/logs/s.log, then run the target again');
    const script = 'Provisioning with shell script: /w/packer/hpc/a.sh\nScript exited with non-zero exit status: 4.';
    expect(packerBuildError(script, false, 60, at, 'Provisioning with shell script: /w/packer/hpc/a.sh').message).toBe(
      'provisioning script packer/hpc/a.sh exited with code 4',
    );
  });
});

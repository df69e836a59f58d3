import { describe, expect, it } from 'vitest';
import {
  diagnosePackerBuild,
  needsQemuPlugin,
  packerPhase,
  packerSettingsFile,
  packerStoppingVm,
  packerVarArgs,
  parsePackerErrors,
  parsePackerVersion,
} from './packer';

describe('packer', () => {
  it('declares the qemu plugin only for Packer versions that have required_plugins', () => {
    expect(parsePackerVersion('Packer v1.6.6\n')).toBe('1.6.6');
    expect(parsePackerVersion('Packer v1.11.2\n\nYour version of Packer is out of date!')).toBe('1.11.2');
    expect(needsQemuPlugin('1.6.6')).toBe(false);
    expect(needsQemuPlugin('1.7.0')).toBe(true);
    expect(needsQemuPlugin('1.11.2')).toBe(true);
    expect(needsQemuPlugin('2.0.0')).toBe(true);
    expect(packerSettingsFile('1.6.6')).not.toContain('packer {');
    expect(packerSettingsFile('1.11.2')).toContain('source  = "github.com/hashicorp/qemu"');
  });

  it("reads Packer's diagnostics as file, line and message", () => {
    const output = `Error: Invalid expression

  on a.pkr.hcl line 9, in source "qemu" "image":
   9:   broken =
  10: }

Expected the start of an expression, but found an invalid expression token.

Error: Unsupported argument

  on b.pkr.hcl line 3:
  (source code not available)

An argument named "x" is not expected here.
`;
    expect(parsePackerErrors(output)).toEqual([
      { message: 'Invalid expression', file: 'a.pkr.hcl', line: 9, detail: 'Expected the start of an expression, but found an invalid expression token.' },
      { message: 'Unsupported argument', file: 'b.pkr.hcl', line: 3, detail: 'An argument named "x" is not expected here.' },
    ]);
  });

  it('passes lists as HCL and tells a failing provisioner from an SSH timeout', () => {
    expect(packerVarArgs({ a: 'x y', b: ['p', 'q'], c: 2 })).toEqual(['-var', 'a=x y', '-var', 'b=["p","q"]', '-var', 'c=2']);
    const provisioner = `==> qemu.image: Provisioning with shell script: /w/packer/x/scripts/a.sh
==> qemu.image: Provisioning with shell script: /w/packer/x/scripts/b.sh
    qemu.image: oops
==> qemu.image: Script exited with non-zero exit status: 3.Allowed exit codes are: [0]`;
    expect(diagnosePackerBuild(provisioner)).toEqual({ kind: 'provisioner', script: '/w/packer/x/scripts/b.sh', exitCode: 3 });
    expect(diagnosePackerBuild('==> qemu.image: Timeout waiting for SSH.')).toEqual({ kind: 'ssh-timeout' });
    expect(diagnosePackerBuild('Error waiting for SSH: Packer experienced an authentication error when trying to connect via SSH.')).toEqual({
      kind: 'ssh-auth',
    });
    expect(diagnosePackerBuild('something else')).toEqual({ kind: 'other' });
  });

  it("tells Packer's own halting of the VM from a QEMU that ended under it, and names the step it was at", () => {
    const waiting = `2026-11-29T00:44:01Z: ==> qemu.image: Starting VM, booting disk image
2026-11-29T00:44:03Z: ==> qemu.image: Waiting for SSH to become available...
`;
    expect(packerStoppingVm(waiting)).toBe(false);
    expect(packerPhase(waiting)).toBe('Waiting for SSH to become available');
    expect(packerPhase('')).toBe('the start of the build');
    for (const end of [
      '==> qemu.image: Gracefully halting virtual machine...',
      '==> qemu.image: Script exited with non-zero exit status: 3.Allowed exit codes are: [0]',
      '==> qemu.image: Error waiting for SSH: Packer experienced an authentication error',
      "Build 'qemu.image' errored after 3 minutes: Timeout waiting for SSH.",
    ]) {
      expect(packerStoppingVm(`${waiting}${end}\n`), end).toBe(true);
    }
  });
});

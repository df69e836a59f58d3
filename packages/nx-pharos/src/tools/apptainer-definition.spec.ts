import { describe, expect, it } from 'vitest';
import { buildFromDefinitionArgv, subordinateIdsFor, unprivilegedBuildRefusal } from './apptainer-definition';

describe('apptainer build of a definition file', () => {
  it('builds as root of a user namespace with a range of ids, without the fakeroot binary of the dev container', () => {
    expect(buildFromDefinitionArgv('/w/dist/x/.1.0.sif.tmp', 'containers/overlays/x/1.0.def', '-comp zstd -Xcompression-level 1')).toEqual([
      'apptainer',
      'build',
      '--force',
      '--fakeroot',
      '--ignore-fakeroot-command',
      '--mksquashfs-args',
      '-comp zstd -Xcompression-level 1',
      '/w/dist/x/.1.0.sif.tmp',
      'containers/overlays/x/1.0.def',
    ]);
  });

  it('names a failed id mapping as such, not as a host without user namespaces', () => {
    const r = unprivilegedBuildRefusal(
      "\u001b[91mERROR  : 'newgidmap' execution failed. Check that 'newgidmap' is setuid root or has setcap cap_setgid+eip.\n",
    );
    expect(r?.message).toContain('could not map a range of ids');
    expect(r?.next).not.toContain('sysctl');
  });

  it('gives the caller 65536 subordinate ids that never hold its own', () => {
    expect(subordinateIdsFor(0)).toBe('0:100000:65536\n');
    expect(subordinateIdsFor(1000)).toBe('1000:100000:65536\n');
    expect(subordinateIdsFor(100500)).toBe('100500:200000:65536\n');
  });

  it("recognises Apptainer's own words for a host without unprivileged user namespaces, and says what to enable", () => {
    // Apptainer 1.4, non-setuid install (Debian's), user namespaces refused by the kernel or by AppArmor.
    const output = [
      'INFO:    User not listed in /etc/subuid, trying root-mapped namespace',
      'INFO:    Could not start root-mapped namespace',
      'FATAL:   Building from a definition file unprivileged requires either a suid installation or unprivileged user namespaces',
    ].join('\n');
    const refusal = unprivilegedBuildRefusal(output);
    expect(refusal?.message).toBe(
      'Apptainer could not create an unprivileged user namespace in the dev container, and building a .def without root needs one ' +
        '(Apptainer: "Building from a definition file unprivileged requires either a suid installation or unprivileged user namespaces")',
    );
    expect(refusal?.next).toContain('user.max_user_namespaces');
    expect(refusal?.next).toContain('kernel.unprivileged_userns_clone');
    expect(refusal?.next).toContain('kernel.apparmor_restrict_unprivileged_userns=0');
    // The starter's message, without a FATAL line of the CLI's.
    expect(unprivilegedBuildRefusal('ERROR:   Failed to create user namespace: operation not permitted')?.message).toContain(
      '(Apptainer: "Failed to create user namespace: operation not permitted")',
    );
    expect(unprivilegedBuildRefusal('FATAL:   Building from a definition file requires root or some kind of fake root')).toBeDefined();
  });

  it('leaves any other failure to the build log', () => {
    expect(
      unprivilegedBuildRefusal('+ cp /nope /x\ncp: cannot stat /nope\nFATAL:   While performing build: while running engine: exit status 1'),
    ).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { buildFromDefinitionArgv, unprivilegedBuildRefusal } from './apptainer-definition';

describe('apptainer build of a definition file', () => {
  it('builds unprivileged in a root-mapped namespace: no subuid route, no fakeroot binary from the dev container', () => {
    expect(buildFromDefinitionArgv('/w/dist/x/.1.0.sif.tmp', 'containers/overlays/x/1.0.def', '-comp zstd -Xcompression-level 1')).toEqual([
      'apptainer',
      'build',
      '--force',
      '--fakeroot',
      '--ignore-subuid',
      '--ignore-fakeroot-command',
      '--mksquashfs-args',
      '-comp zstd -Xcompression-level 1',
      '/w/dist/x/.1.0.sif.tmp',
      'containers/overlays/x/1.0.def',
    ]);
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

/**
 * `apptainer build` of a definition file, unprivileged, in the dev container. Apptainer 1.4 builds a `.def` without
 * root by running it as root in a *root-mapped user namespace* (the calling user is root inside, no other user
 * exists): cmd/internal/cli/build_linux.go, fakerootExec. That needs nothing but unprivileged user namespaces, which
 * the dev container gets from `seccomp=unconfined` (DevCommand `fuse`), never `--privileged`.
 *
 * - `--fakeroot`: what Apptainer implies for a user's build anyway, written out.
 * - `--ignore-subuid`: the dev container's entrypoint creates the user with `useradd`, which gives it an /etc/subuid
 *   range on Debian; Apptainer would then take the "rootless" route, which needs the setuid newuidmap that the dev
 *   container has not got (and could not use without privilege). The root-mapped namespace needs neither.
 * - `--ignore-fakeroot-command`: Apptainer would otherwise bind the dev container's `fakeroot` into the image and run
 *   %post under it, and that binary is linked against the dev container's glibc (trixie's): on an older base
 *   (bookworm's overlay-build-base) it fails with "GLIBC_2.x not found". Without it %post runs as root in the
 *   namespace, which is all an offline %post (no package manager can reach an archive) needs.
 */
export function buildFromDefinitionArgv(dest: string, definition: string, mksquashfs: string): string[] {
  return ['apptainer', 'build', '--force', '--fakeroot', '--ignore-subuid', '--ignore-fakeroot-command', '--mksquashfs-args', mksquashfs, dest, definition];
}

/**
 * What Apptainer 1.4 prints when it cannot start any kind of fake root (build_linux.go, and the starter's own
 * message): the host gives unprivileged processes no user namespace.
 */
const NO_USER_NAMESPACE = [
  'Could not start root-mapped namespace',
  'requires either a suid installation or unprivileged user namespaces',
  'requires root or some kind of fake root',
  'Cannot start any kind of fake root',
  'Failed to create user namespace',
];

export interface BuildRefusal {
  message: string;
  next: string;
}

/** When a failed build's output says the host refused the unprivileged build, what to tell the user; else undefined. */
export function unprivilegedBuildRefusal(output: string): BuildRefusal | undefined {
  const lines = output.split('\n');
  const said = lines.find((l) => NO_USER_NAMESPACE.some((m) => l.includes(m)));
  if (!said) return undefined;
  const fatal = lines.find((l) => l.startsWith('FATAL:'))?.replace(/^FATAL:\s*/, '') ?? said.replace(/^\w+:\s*/, '');
  return {
    message:
      `Apptainer could not create an unprivileged user namespace in the dev container, and building a .def without root needs one ` +
      `(Apptainer: "${fatal.trim()}")`,
    next:
      'allow unprivileged user namespaces on the host, then run again: `sysctl user.max_user_namespaces` must be above 0 ' +
      '(sudo sysctl -w user.max_user_namespaces=15000); where the kernel has kernel.unprivileged_userns_clone it must be 1; ' +
      'on Ubuntu 23.10 and later set kernel.apparmor_restrict_unprivileged_userns=0, or give Docker containers an AppArmor profile that allows userns. ' +
      'Pharos already runs the dev container with seccomp=unconfined and never with --privileged',
  };
}

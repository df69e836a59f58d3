/**
 * `apptainer build` of a definition file, without privilege, in the dev container: Apptainer's `--fakeroot` build runs
 * %post as root of a user namespace whose ids 1-65535 map to a subordinate range of the caller's (cmd/internal/cli/
 * build_linux.go, fakerootExec), so a base whose files belong to several users and groups unpacks and builds as it
 * would for root. It needs unprivileged user namespaces from the host, a subordinate range for the user the dev
 * container runs as (subordinateIdsFor, bound over /etc/subuid and /etc/subgid: nothing to configure on the host), and
 * /proc unmasked in the dev container (tools/dev-container.ts, UserNamespaceBuild); never `--privileged`.
 *
 * - Not `--ignore-subuid` (Apptainer's root-mapped namespace): it maps the caller alone, so unpacking a base with files
 *   of other owners (the `shadow` group's, `/var/mail`'s) fails with "failed to change uid and gids".
 * - `--ignore-fakeroot-command`: Apptainer would otherwise bind the dev container's `fakeroot` into the image and run
 *   %post under it, and that binary is linked against the dev container's glibc (trixie's): on an older base
 *   (bookworm's overlay-build-base) it fails with "GLIBC_2.x not found". In the namespace %post is root already.
 */
export function buildFromDefinitionArgv(dest: string, definition: string, mksquashfs: string): string[] {
  return ['apptainer', 'build', '--force', '--fakeroot', '--ignore-fakeroot-command', '--mksquashfs-args', mksquashfs, dest, definition];
}

/** The subordinate ids of `uid` (/etc/subuid syntax, by number): 65536 ids that do not hold the caller's own. */
export function subordinateIdsFor(uid: number): string {
  const count = 65536;
  const start = uid >= 100000 && uid < 100000 + count ? 200000 : 100000;
  return `${uid}:${start}:${count}\n`;
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
  const idMap = lines.find((l) => /'new[ug]idmap' execution failed/.test(l));
  if (idMap) {
    return {
      message: `Apptainer could not map a range of ids for the user the dev container runs as (Apptainer: "${idMap.replace(/^\W*ERROR\s*:\s*/, '').trim()}")`,
      next:
        'a .def build works here when Pharos runs as root (the dev container then runs as root, with no setuid helper involved); ' +
        'as another user the setuid newgidmap in the dev container does not map the range yet (docs/overlays.md, ".def images")',
    };
  }
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

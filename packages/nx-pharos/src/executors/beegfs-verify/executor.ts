import type { ExecutorContext } from '@nx/devkit';
import { join } from 'node:path';
import { assertDaemon, dockerClient } from '../../tools/docker';
import { suiteImage } from '../../tools/suite-image';
import { runExecutor, taskLabel, workspacePath } from '../../utils/executor';
import { selectRecipe, type SourceBuildOptions } from '../../lib/source-build/source-build';
import { installDebsScript, runCheck, verifiedDebs } from '../../lib/source-build/verify-products';

export interface BeegfsVerifyOptions extends SourceBuildOptions {
  suite: string;
  debsPath?: string;
  /** Only the .debs are BeeGFS products; accepted so the verify target's options match Slurm's. */
  products?: Array<'deb'>;
}

/** The servers, the client tools and the DKMS client module: what the VM images install. */
export const SERVICE_PACKAGES = ['beegfs-common', 'beegfs-mgmtd', 'beegfs-meta', 'beegfs-storage', 'beegfs-utils', 'beegfs-client-dkms'];
/** The daemons refuse a host whose only interface is loopback; `hostname` names the management host. */
export const VERIFY_HOSTNAME = 'beegfs-verify';
const CHECK_SCRIPT = join(__dirname, 'services-check.sh');

/** Installs the packages under test plus DKMS and the suite's kernel headers, then runs the services check. */
export function installScript(debFiles: string[]): string {
  return `${installDebsScript(debFiles, ['dkms', 'linux-headers-amd64'])}echo "pharos-check: ok   installed ${debFiles.length} BeeGFS packages, dkms and the suite's kernel headers with apt in a clean container"
for tool in /opt/beegfs/sbin/beegfs-mgmtd /opt/beegfs/sbin/beegfs-meta /opt/beegfs/sbin/beegfs-storage "$(command -v beegfs-ctl)" "$(command -v beegfs-check-servers)"; do
  owner=$(dpkg -S "$(readlink -f "$tool")" 2>/dev/null | cut -d: -f1) || { echo "pharos-check: FAIL $tool belongs to no package"; exit 1; }
  case $owner in beegfs-*) ;; *) echo "pharos-check: FAIL $tool comes from $owner, not from the packages under test"; exit 1 ;; esac
done
echo "pharos-check: ok   every BeeGFS daemon and tool comes from the packages under test"
sh /pharos/services-check.sh
`;
}

/**
 * Proves BeeGFS .debs in a clean container of their suite: mgmtd, meta and storage set up with upstream's scripts and
 * running, seen by beegfs-ctl and beegfs-check-servers, and the client module built by DKMS for the suite's kernel.
 * The container is on Docker's bridge (a real interface) with a fixed hostname, and is removed afterwards.
 */
export default async function beegfsVerifyExecutor(options: BeegfsVerifyOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const label = taskLabel(context);
    const { recipe, version } = await selectRecipe(options, context);
    const debsDir = workspacePath(options.debsPath ?? `dist/{projectRoot}/${version.version}/${options.suite}`, context);
    const debFiles = await verifiedDebs(debsDir, SERVICE_PACKAGES, context, label);
    const docker = dockerClient();
    await assertDaemon(docker);
    const base = await suiteImage(docker, context, options.suite);
    process.stdout.write(`pharos: verifying the .debs of ${recipe.name} ${version.version} in a clean debian:${options.suite} (hostname ${VERIFY_HOSTNAME})\n`);
    await runCheck(docker, {
      image: base.id,
      cmd: ['sh', '-c', installScript(debFiles)],
      binds: [`${debsDir}:/debs:ro`, `${CHECK_SCRIPT}:/pharos/services-check.sh:ro`],
      hostname: VERIFY_HOSTNAME,
    }, label);
  });
}

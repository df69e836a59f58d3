import type { ExecutorContext } from '@nx/devkit';
import { join } from 'node:path';
import { normalizeOptions, type SourceBuildOptions } from '../../lib/source-build/normalize-options';
import { suiteEngine } from '../../lib/source-build/source-build';
import { runDebCheck } from '../../lib/source-build/verify-products';
import { runExecutor } from '../../lib/team-store/install';
import { verifiedDebs } from '../../products/debs';

export interface BeegfsVerifyOptions extends Pick<SourceBuildOptions, 'recipe' | 'release' | 'debsPath'> {
  suite: string;
  /** Only the .debs are BeeGFS products; accepted so the verify target's options match Slurm's. */
  products?: Array<'deb'>;
}

/** The servers, the client tools and the DKMS client module: what the VM images install. */
export const SERVICE_PACKAGES = ['beegfs-common', 'beegfs-mgmtd', 'beegfs-meta', 'beegfs-storage', 'beegfs-utils', 'beegfs-client-dkms'];
/** The daemons refuse a host whose only interface is loopback; `hostname` names the management host. */
export const VERIFY_HOSTNAME = 'beegfs-verify';
export const DEB_CHECK_SCRIPT = join(__dirname, 'deb-check.sh');
export const SERVICES_CHECK_SCRIPT = join(__dirname, 'services-check.sh');

/**
 * Proves BeeGFS .debs in a clean container of their suite: mgmtd, meta and storage set up with upstream's scripts and
 * running, seen by beegfs-ctl and beegfs-check-servers, and the client module built by DKMS for the suite's kernel.
 * The container is on Docker's bridge (a real interface) with a fixed hostname, and is removed afterwards.
 */
export default async function beegfsVerifyExecutor(options: BeegfsVerifyOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const build = normalizeOptions(options, context, 'verify-deb');
    const { recipe, release, suite, label } = build;
    const debFiles = await verifiedDebs(build.debsDir, SERVICE_PACKAGES, context, label, build.debsProducer);
    const { docker, base } = await suiteEngine(context, suite);
    process.stdout.write(`pharos: verifying the .debs of ${recipe.name} ${release} in a clean debian:${suite} (hostname ${VERIFY_HOSTNAME})\n`);
    await runDebCheck(docker, base.id, build.debsDir, debFiles, { script: DEB_CHECK_SCRIPT, calls: [SERVICES_CHECK_SCRIPT], hostname: VERIFY_HOSTNAME }, label);
  });
}

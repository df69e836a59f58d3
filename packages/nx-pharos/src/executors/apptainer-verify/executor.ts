import type { ExecutorContext } from '@nx/devkit';
import { join } from 'node:path';
import { normalizeOptions, type SourceBuildOptions } from '../../lib/source-build/normalize-options';
import { suiteEngine } from '../../lib/source-build/source-build';
import { runDebCheck } from '../../lib/source-build/verify-products';
import { runExecutor } from '../../lib/team-store/install';
import { verifiedDebs } from '../../products/debs';

export interface ApptainerVerifyOptions extends Pick<SourceBuildOptions, 'recipe' | 'release' | 'debsPath'> {
  suite: string;
  /** Only the .debs are Apptainer products; accepted so the verify target's options match Slurm's. */
  products?: Array<'deb'>;
}

export const PACKAGES = ['apptainer'];
/**
 * What `apptainer exec` of a SIF needs on a node without setuid-root Apptainer, beyond the package's own Depends: the
 * image is mounted with squashfuse in the user's namespace. The VM image installs the same.
 */
export const RUNTIME_PACKAGES = ['squashfuse'];
export const DEB_CHECK_SCRIPT = join(__dirname, 'deb-check.sh');

/**
 * Proves the apptainer .deb in a clean container of its suite: installed with apt (its Depends resolve on the plain
 * suite, although it was built with another suite's Go), then, as an unprivileged user as on a compute node, its
 * version, a SIF built from a directory and a command run in it. Like the dev container's Apptainer, exec needs
 * /dev/fuse and an unconfined seccomp profile (user namespaces and squashfuse), never --privileged.
 */
export default async function apptainerVerifyExecutor(options: ApptainerVerifyOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const build = normalizeOptions(options, context, 'verify-deb');
    const { recipe, release, suite, label } = build;
    const debFiles = await verifiedDebs(build.debsDir, PACKAGES, context, label, build.debsProducer);
    const { docker, base } = await suiteEngine(context, suite);
    process.stdout.write(`pharos: verifying the .debs of ${recipe.name} ${release} in a clean debian:${suite}\n`);
    await runDebCheck(
      docker,
      base.id,
      build.debsDir,
      debFiles,
      {
        script: DEB_CHECK_SCRIPT,
        calls: [],
        env: { RUNTIME_PACKAGES: RUNTIME_PACKAGES.join(' '), EXPECTED_VERSION: release },
        devices: ['/dev/fuse'],
        securityOpt: ['seccomp=unconfined'],
      },
      label,
    );
  });
}

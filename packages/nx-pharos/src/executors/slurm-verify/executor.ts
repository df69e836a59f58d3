import type { ExecutorContext } from '@nx/devkit';
import { join } from 'node:path';
import { normalizeOptions, type SourceBuildOptions } from '../../lib/source-build/normalize-options';
import { suiteEngine } from '../../lib/source-build/source-build';
import { runCheck, runDebCheck, type Check } from '../../lib/source-build/verify-products';
import { runExecutor } from '../../lib/team-store/install';
import { verifiedDebs } from '../../products/debs';
import { verifiedTarball, type TarballManifest } from '../../products/tarball';
import { GPG_VERIFY_SCRIPT } from '../../tools/gpg';

export interface SlurmVerifyOptions extends SourceBuildOptions {
  suite: string;
  /** Which products to prove; default both. */
  products?: Array<'deb' | 'tarball'>;
  /** The tarball's own options, accepted so `verify-tarball --sign` can forward them; the manifest says what was built. */
  sign?: boolean;
  signingKeyFile?: string;
}

/** The packages a one-node cluster needs; the rest of the build (dev, doc, perl, pam…) is not installed. */
export const CLUSTER_PACKAGES = ['slurm-smd', 'slurm-smd-client', 'slurm-smd-slurmctld', 'slurm-smd-slurmd'];
export const CLUSTER_CHECK_SCRIPT = join(__dirname, 'cluster-check.sh');
export const DEB_CHECK_SCRIPT = join(__dirname, 'deb-check.sh');
export const TARBALL_CHECK_SCRIPT = join(__dirname, 'tarball-check.sh');
/** The MPI program tarball-check.sh compiles with the tarball's mpicc and runs under srun --mpi=pmix. */
export const MPI_RING_SOURCE = join(__dirname, 'mpi-ring.c');

/** tarball-check.sh's arguments and environment for a tarball's manifest (a manifest from before components lists none). */
export function tarballCheck(
  manifest: Pick<TarballManifest, 'file' | 'variants' | 'signature'> & Partial<Pick<TarballManifest, 'components' | 'modules'>>,
): Pick<Check, 'args' | 'env'> {
  const s = manifest.signature;
  return {
    args: [manifest.file, ...(s ? [s.file, s.publicKey, s.fingerprint] : [])],
    env: {
      VARIANTS: manifest.variants.join(' '),
      COMPONENTS: (manifest.components ?? []).map((c) => `${c.name}/${c.version}`).join(' '),
      MODULE_LAYOUT: manifest.modules?.layout ?? 'flat',
    },
  };
}

/**
 * Proves Slurm's products in clean containers of the suite: the .debs installed with apt, and the tarball relocated
 * and loaded with `module load slurm`; each then runs a real one-node cluster (cluster-check.sh).
 */
export default async function slurmVerifyExecutor(options: SlurmVerifyOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const products = options.products ?? ['deb', 'tarball'];
    const build = normalizeOptions(options, context, products.includes('deb') ? 'verify-deb' : 'verify-tarball');
    const { recipe, release, suite, label } = build;
    // The products are checked against their manifests before any container starts.
    const debFiles = products.includes('deb') ? await verifiedDebs(build.debsDir, CLUSTER_PACKAGES, context, label, build.debsProducer) : [];
    const tarball = products.includes('tarball') ? await verifiedTarball(build.tarballDir, context, build.tarballProducer) : undefined;

    const { docker, base } = await suiteEngine(context, suite);
    if (debFiles.length) {
      process.stdout.write(`pharos: verifying the .debs of ${recipe.name} ${release} in a clean debian:${suite}\n`);
      await runDebCheck(docker, base.id, build.debsDir, debFiles, { script: DEB_CHECK_SCRIPT, calls: [CLUSTER_CHECK_SCRIPT] }, label);
    }
    if (tarball) {
      process.stdout.write(`pharos: verifying ${tarball.file} relocated, in a clean debian:${suite}\n`);
      await runCheck(
        docker,
        {
          image: base.id,
          script: TARBALL_CHECK_SCRIPT,
          ...tarballCheck(tarball),
          calls: [GPG_VERIFY_SCRIPT, CLUSTER_CHECK_SCRIPT, MPI_RING_SOURCE],
          product: `${build.tarballDir}:/tarball:ro`,
        },
        label,
      );
    }
  });
}

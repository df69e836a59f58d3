import type { ExecutorContext } from '@nx/devkit';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { assertDaemon, dockerClient, type ContainerSpec } from '../../tools/docker';
import { assertFileDigest } from '../../utils/digest';
import { gpgVerifyScript } from '../../tools/gpg';
import { suiteImage } from '../../tools/suite-image';
import { selectRecipe, type SourceBuildOptions } from '../../lib/source-build/source-build';
import { PharosError } from '../../utils/errors';
import { runExecutor, taskLabel, workspacePath } from '../../utils/executor';
import { installDebsScript, readProductManifest, runCheck, verifiedDebs } from '../../lib/source-build/verify-products';
import { TARBALL_MANIFEST, type TarballManifest } from '../../products/tarball';

export interface SlurmVerifyOptions extends SourceBuildOptions {
  suite: string;
  debsPath?: string;
  tarballPath?: string;
  /** Which products to prove; default both. */
  products?: Array<'deb' | 'tarball'>;
  /** The tarball's own options, accepted so `verify-tarball --gpu` can forward them; the manifest says what was built. */
  gpu?: boolean;
  minimal?: boolean;
  sign?: boolean;
  signingKeyFile?: string;
}

/** Where the tarball is unpacked for the check: anywhere but the prefix it was built for. */
export const RELOCATED_ROOT = '/srv/relocated/slurm';

/**
 * The relocated tarball as a site would use it: unpacked under another prefix, `module load slurm` with
 * SLURM_INSTALL_PREFIX pointing there, install.sh rendering slurm.conf, then the same cluster check. A wrong prefix
 * must make the module fail with its own message.
 */
export function tarballVerifyScript(manifest: Pick<TarballManifest, 'file' | 'variants' | 'signature'>): string {
  const tarball = manifest.file;
  const view = `${RELOCATED_ROOT}/view`;
  const signature = manifest.signature
    ? `if ! (
${gpgVerifyScript(`/tarball/${manifest.signature.publicKey}`, `/tarball/${manifest.signature.file}`, `/tarball/${tarball}`)}); then
  echo "pharos-check: FAIL ${manifest.signature.file} does not verify against ${manifest.signature.publicKey} (gpgv's output is above)"; exit 1
fi
echo "pharos-check: ok   ${manifest.signature.file} is a good signature by ${manifest.signature.fingerprint}"
`
    : '';
  const gpu = manifest.variants.includes('gpu')
    ? `[ -f ${view}/lib/slurm/gpu_nvml.so ] || { echo "pharos-check: FAIL the gpu variant has no lib/slurm/gpu_nvml.so"; exit 1; }
! ls ${view}/lib | grep -q '^libnvidia-' || { echo "pharos-check: FAIL the tree bundles a GPU driver library"; exit 1; }
echo "pharos-check: ok   the gpu variant has the NVML plugin and bundles no driver library"
`
    : '';
  // No `set -u`: Lmod's shell init reads variables a container does not set (LOGNAME, …).
  return `set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends lmod >/tmp/apt.log 2>&1 || { tail -n 20 /tmp/apt.log >&2; exit 2; }
${signature}mkdir -p ${RELOCATED_ROOT}
tar -C ${RELOCATED_ROOT} -xzf '/tarball/${tarball}'
echo "pharos-check: ok   unpacked ${tarball} under ${RELOCATED_ROOT}, not /opt/slurm"
${gpu}. /usr/share/lmod/lmod/init/profile
module use ${RELOCATED_ROOT}/modules
if SLURM_INSTALL_PREFIX=/nonexistent module load slurm 2>/tmp/wrong-prefix; then
  echo "pharos-check: FAIL module load slurm accepted a prefix with no Slurm in it"; exit 1
fi
grep -q 'no Slurm' /tmp/wrong-prefix || { echo "pharos-check: FAIL a wrong prefix gave: $(cat /tmp/wrong-prefix)"; exit 1; }
echo "pharos-check: ok   module load slurm refuses a wrong SLURM_INSTALL_PREFIX with its own message"
export SLURM_INSTALL_PREFIX=${view}
module load slurm
[ "$SLURM_ROOT" = ${view} ] || { echo "pharos-check: FAIL SLURM_ROOT is '$SLURM_ROOT'"; exit 1; }
echo "pharos-check: ok   module load slurm: sinfo is $(command -v sinfo), SLURM_CONF=$SLURM_CONF"
PHAROS_SLURM_CONF_EXTRA='PluginDir=${view}/lib/slurm' PHAROS_SLURMD_ARGS='-d ${view}/sbin/slurmstepd' sh /pharos/cluster-check.sh prefix:${view}
# After the cluster (whose daemons run as root): the site layout it makes is for daemons running as slurm.
sh ${RELOCATED_ROOT}/data/slurm_assets/install.sh --prefix ${view} --conf-dir /srv/site-slurm --no-systemd >/dev/null
grep -qx 'PluginDir=${view}/lib/slurm' /srv/site-slurm/slurm.conf || { echo "pharos-check: FAIL install.sh rendered no PluginDir for ${view}"; exit 1; }
[ -s /srv/site-slurm/slurm.key ] && id slurm >/dev/null || { echo "pharos-check: FAIL install.sh made no key or no slurm user"; exit 1; }
echo "pharos-check: ok   install.sh created the slurm user, directories, key and a slurm.conf for the prefix"
`;
}

/** The packages a one-node cluster needs; the rest of the build (dev, doc, perl, pam…) is not installed. */
const CLUSTER_PACKAGES = ['slurm-smd', 'slurm-smd-client', 'slurm-smd-slurmctld', 'slurm-smd-slurmd'];
const CHECK_SCRIPT = join(__dirname, 'cluster-check.sh');

export function installScript(debFiles: string[]): string {
  return `${installDebsScript(debFiles)}echo "pharos-check: ok   installed ${debFiles.length} packages with apt in a clean container"
sh /pharos/cluster-check.sh deb
`;
}

export default async function slurmVerifyExecutor(options: SlurmVerifyOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const label = taskLabel(context);
    const { recipe, version } = await selectRecipe(options, context);
    const products = options.products ?? ['deb', 'tarball'];
    // The products are checked against their manifests before any container starts.
    const debsDir = workspacePath(options.debsPath ?? `dist/{projectRoot}/${version.version}/${options.suite}`, context);
    const debFiles = products.includes('deb') ? await verifiedDebs(debsDir, CLUSTER_PACKAGES, context, label) : [];
    const tarballDir = workspacePath(options.tarballPath ?? `dist/{projectRoot}/${version.version}/tarball-${options.suite}`, context);
    const tarball = products.includes('tarball') ? await verifiedTarball(tarballDir, context) : undefined;

    const docker = dockerClient();
    await assertDaemon(docker);
    const base = await suiteImage(docker, context, options.suite);
    if (debFiles.length) {
      process.stdout.write(`pharos: verifying the .debs of ${recipe.name} ${version.version} in a clean debian:${options.suite}\n`);
      await runCheck(docker, checkContainer(base.id, installScript(debFiles), `${debsDir}:/debs:ro`), label);
    }
    if (tarball) {
      process.stdout.write(`pharos: verifying ${tarball.file} relocated, in a clean debian:${options.suite}\n`);
      await runCheck(docker, checkContainer(base.id, tarballVerifyScript(tarball), `${tarballDir}:/tarball:ro`), label);
    }
  });
}

function checkContainer(image: string, script: string, product: string): ContainerSpec {
  return { image, cmd: ['sh', '-c', script], binds: [product, `${CHECK_SCRIPT}:/pharos/cluster-check.sh:ro`] };
}

async function verifiedTarball(dir: string, context: ExecutorContext): Promise<TarballManifest> {
  const manifest = readProductManifest<TarballManifest>(join(dir, TARBALL_MANIFEST), 'tarball', 'tarball', context);
  await assertFileDigest(join(dir, manifest.file), manifest.sha256, {
    what: manifest.file,
    shown: relative(context.root, join(dir, manifest.file)),
    rebuild: `npx nx run ${context.projectName}:tarball --skip-nx-cache`,
  });
  for (const f of manifest.signature ? [manifest.signature.file, manifest.signature.publicKey] : []) {
    if (!existsSync(join(dir, f))) {
      throw new PharosError(`${TARBALL_MANIFEST} lists ${f}, which is missing`, { file: relative(context.root, join(dir, f)), next: `rebuild it: npx nx run ${context.projectName}:tarball --sign --skip-nx-cache` });
    }
  }
  return manifest;
}

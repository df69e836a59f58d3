import { readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { parseContainerDefinition, type ContainerCheck } from '../../definitions/container';
import { judgeCheck } from '../../definitions/image-check';
import type { ClusterContainer } from '../../lib/vm-image/normalize-options';
import { assertSifMatches, readSifManifest } from '../../products/sif';
import { sshScript, sshSendFile, type SshTarget } from '../../tools/ssh';
import { PharosError } from '../../utils/errors';
import { BEEGFS_MOUNT, CHECK_SCRIPT, SHARED_DIR } from './cluster-checks';

/** Where the compute node's users find the site's containers, as the seed's containers-deploy-beegfs put them. */
export const CONTAINERS_DIR = `${BEEGFS_MOUNT}/containers`;

export interface ContainerRun {
  what: string;
  /** cluster-checks.sh arguments, run on the controller. */
  args: string[];
  check: ContainerCheck;
}

/** Each container.yaml check as a job on the compute node, Apptainer reading the SIF from BeeGFS. Pure. */
export function containerRuns(compute: string, project: string, sifFile: string, checks: ContainerCheck[]): ContainerRun[] {
  const sif = `${CONTAINERS_DIR}/${sifFile}`;
  return checks.map((check) => ({
    what: `${project}: ${check.name ?? check.command} (srun on ${compute}, apptainer exec ${sif})`,
    args: ['srun-sif', compute, sif, check.command],
    check,
  }));
}

/**
 * Deploys one container's SIF into BeeGFS from the compute node (the file checked against its manifest before it
 * leaves and by its digest in the guest before it is renamed into place), then runs the container's own checks
 * through Slurm there. The first check that fails stops the verify with its verdict.
 */
export async function deployAndRunContainer(
  targets: SshTarget[],
  compute: string,
  container: ClusterContainer,
  context: { label: string; workspaceRoot: string; logs: string },
  say: (line: string) => void,
): Promise<void> {
  const shownDef = relative(context.workspaceRoot, container.definition);
  const def = parseContainerDefinition(readFileSync(container.definition, 'utf8'), shownDef);
  if (!def.test.runtimes.includes('apptainer') || !def.test.checks.length) {
    throw new PharosError(`${container.project} has no checks to run under Apptainer, so the cluster cannot show it runs`, {
      file: shownDef,
      next: 'add test.checks (and apptainer to test.runtimes), or remove it from the compute image\'s "cluster.containers"',
    });
  }
  const manifest = readSifManifest(container.sifManifest, context.workspaceRoot, `${container.project}:sif`);
  const sif = join(container.sifManifest, '..', manifest.sif);
  await assertSifMatches(sif, manifest, relative(context.workspaceRoot, sif));
  const part = `${BEEGFS_MOUNT}/${SHARED_DIR}/.${basename(sif)}.part`;
  const fail = (what: string, output: string, next: string) =>
    new PharosError(`check failed: ${what}`, { step: context.label, tail: output.split('\n').slice(-15), next });
  const sent = await sshSendFile(targets[1], sif, part);
  if (sent.exitCode !== 0)
    throw fail(`${container.project}'s SIF is copied to ${part} on ${compute}`, sent.output, `read the serial console logs: ${context.logs}`);
  const deployed = `${CONTAINERS_DIR}/${manifest.sif}`;
  const installed = await sshScript(targets[1], CHECK_SCRIPT, ['install-sif', part, deployed, manifest.sha256]);
  if (installed.exitCode !== 0)
    throw fail(
      `${deployed} on ${compute} has the SIF's sha256 ${manifest.sha256}`,
      installed.output,
      'run the verify again; a copy that differs is a transfer or BeeGFS fault',
    );
  say(`pharos-check: ok   ${container.project}'s SIF deployed to ${deployed} (sha256 ${manifest.sha256.slice(0, 12)}…, ${manifest.bytes} bytes)\n`);
  for (const run of containerRuns(compute, container.project, manifest.sif, def.test.checks)) {
    const r = await sshScript(targets[0], CHECK_SCRIPT, run.args, 20 * 60_000);
    const verdict = judgeCheck(run.check, { exitCode: r.exitCode, stdout: r.output });
    if (verdict)
      throw fail(
        `${run.what}: ${verdict}`,
        r.output,
        `run it by hand on the controller: srun -w ${compute} apptainer exec ${deployed} sh -c '…'; and read ${shownDef}`,
      );
    say(`pharos-check: ok   ${run.what}: ${r.output.split('\n').slice(-3).join(' | ')}\n`);
  }
}

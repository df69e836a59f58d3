import type { ExecutorContext } from '@nx/devkit';
import { dirname, join } from 'node:path';
import type { ContainerCheck, Runtime } from '../../definitions/container';
import { normalizeImageTestOptions, shownPath, type ImageTestOptions } from '../../lib/image/normalize-options';
import { runExecutor } from '../../lib/team-store/install';
import { assertArchiveMatches, readImageManifest } from '../../products/image';
import { execArgv } from '../../tools/apptainer';
import { apptainerForTask } from '../../tools/apptainer-runner';
import { assertDaemon, dockerClient, runContainerCaptured } from '../../tools/docker';
import { ensureImage } from '../../tools/image-store';
import { PharosError } from '../../utils/errors';
import { checkTimeLimit } from '../../lib/image/check-limits';
import { judge, Report, stripApptainerInfo } from '../../lib/image/check-report';
import { testSif } from './sif-checks';

export type { ImageTestOptions };

export default async function imageTestExecutor(options: ImageTestOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const o = normalizeImageTestOptions(options, context);
    const manifest = readImageManifest(o.imageManifest, o.workspaceRoot, `${o.project}:image`);
    const archive = join(dirname(o.imageManifest), manifest.archive);
    await assertArchiveMatches(archive, manifest, shownPath(o, archive));
    const report = new Report();
    report.ok(`archive ${shownPath(o, archive)} matches its manifest`);
    const docker = dockerClient();
    await assertDaemon(docker);
    const loaded = await ensureImage(docker, o.imageManifest, manifest, (t) => process.stdout.write(t));
    report.ok(`image ${manifest.id.slice(0, 19)} is in the daemon${loaded ? ' (loaded from the archive)' : ''}`);

    const runsIn = (check: ContainerCheck, runtime: Runtime) => (check.runtimes ?? o.runtimes).includes(runtime);
    const declaredIn = (check: ContainerCheck) => (options.checks?.includes(check) ? `the "checks" option of ${o.label}` : (o.shownDefinition ?? o.label));
    const limitOf = (check: ContainerCheck, runtime: Runtime) => checkTimeLimit(check, runtime, declaredIn(check));
    o.checks.forEach((check) => limitOf(check, 'docker')); // a bad limit is refused before any check runs
    for (const check of o.checks.filter((c) => runsIn(c, 'docker'))) {
      const limit = limitOf(check, 'docker');
      // The check's command is the user's own shell, run as container.yaml spells it.
      const result = await runContainerCaptured(docker, {
        image: manifest.id,
        entrypoint: ['sh', '-c'],
        cmd: [check.command],
        labels: { 'org.pharos.image-test': o.label },
        network: 'none',
        what: limit.what,
        timeLimit: limit.ms,
        raiseLimit: limit.raise,
      });
      judge(report, check, 'docker', result);
    }

    if (o.sifManifest) {
      const apptainer = await apptainerForTask(context, o.devContainer, { docker });
      const sifFile = await testSif(apptainer, docker, manifest, { ...o, sifManifest: o.sifManifest }, report);
      for (const check of o.checks.filter((c) => runsIn(c, 'apptainer'))) {
        const limit = limitOf(check, 'apptainer');
        const argv = execArgv(sifFile, ['/bin/sh', '-c', check.command]);
        const r = await apptainer.run({ argv, fuse: true, what: limit.what, timeLimit: limit.ms, raiseLimit: limit.raise });
        judge(report, check, 'apptainer', { exitCode: r.exitCode, stdout: r.stdout, stderr: stripApptainerInfo(r.stderr) });
      }
    }

    if (report.failures.length) {
      throw new PharosError(`${report.failures.length} check(s) failed:\n  ${report.failures.join('\n  ')}`, {
        step: o.label,
        file: o.shownDefinition,
        next: 'fix the image or the expectation',
      });
    }
  });
}

import type { ExecutorContext } from '@nx/devkit';
import type Docker from 'dockerode';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseContainerDefinition, RUNTIMES, type ContainerCheck, type Runtime } from '../../definitions/container';
import { judgeCheck } from '../../definitions/image-check';
import {
  Apptainer,
  execArgv,
  inspectEnvironmentArgv,
  inspectJsonArgv,
  inspectRunscriptArgv,
  parseInspectLabels,
  parseSifObjectTypes,
  sifListArgv,
  verifyWithKeyArgv,
} from '../../tools/apptainer';
import { devContainerForTask } from '../../tools/dev-container';
import { assertDaemon, dockerClient, inspectImage, runContainerCaptured } from '../../tools/docker';
import { assertArchiveMatches, readImageManifest, type ImageManifest } from '../../products/image';
import { ensureImage } from '../../tools/image-store';
import { assertSifMatches, readSifManifest } from '../../products/sif';
import { PharosError } from '../../utils/errors';
import { runExecutor, taskLabel, workspacePath } from '../../utils/executor';

export interface ImageTestOptions {
  manifest?: string;
  checks?: ContainerCheck[];
  /** container.yaml whose `test` section holds more checks; read when the test runs, so it is not in the build's key. */
  definition?: string;
  /** `<name>.sif.json`: also test the SIF, structurally and with every check that runs in apptainer. */
  sif?: string;
  runtimes?: Runtime[];
  devContainer?: string;
}

const TAIL_LINES = 10;
const tailOf = (text: string) => text.trim().split('\n').filter(Boolean).slice(-TAIL_LINES);

/** Collects verdicts so every check runs and the error lists all failures, each with what a user needs to act. */
class Report {
  readonly failures: string[] = [];
  ok(what: string): void {
    process.stdout.write(`ok   ${what}\n`);
  }
  fail(what: string, detail: string): void {
    this.failures.push(`${what}: ${detail}`);
    process.stdout.write(`FAIL ${what}\n`);
  }
}

export default async function imageTestExecutor(options: ImageTestOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const label = taskLabel(context);
    let checks = options.checks ?? [];
    let runtimes = options.runtimes ?? (options.sif ? [...RUNTIMES] : ['docker']);
    if (options.definition) {
      const file = workspacePath(options.definition, context);
      const shown = relative(context.root, file);
      let text = '';
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        // No container.yaml: no declared checks, the structural ones still run.
      }
      const def = parseContainerDefinition(text, shown);
      checks = [...checks, ...def.test.checks];
      if (!options.runtimes) runtimes = def.test.runtimes;
    }

    const manifestFile = workspacePath(options.manifest ?? 'dist/{projectRoot}/image.json', context);
    const manifest = readImageManifest(manifestFile, context.root, `${context.projectName}:image`);
    const archive = join(dirname(manifestFile), manifest.archive);
    await assertArchiveMatches(archive, manifest, relative(context.root, archive));
    const report = new Report();
    report.ok(`archive ${relative(context.root, archive)} matches its manifest`);
    const docker = dockerClient();
    await assertDaemon(docker);
    const loaded = await ensureImage(docker, manifestFile, manifest, (t) => process.stdout.write(t));
    report.ok(`image ${manifest.id.slice(0, 19)} is in the daemon${loaded ? ' (loaded from the archive)' : ''}`);

    const runsIn = (check: ContainerCheck, runtime: Runtime) => (check.runtimes ?? runtimes).includes(runtime);
    for (const check of checks.filter((c) => runsIn(c, 'docker'))) {
      const result = await runContainerCaptured(docker, {
        image: manifest.id,
        entrypoint: ['sh', '-c'],
        cmd: [check.command],
        labels: { 'org.pharos.image-test': label },
        network: 'none',
      });
      judge(report, check, 'docker', result);
    }

    if (options.sif) {
      const apptainer = new Apptainer(docker, await devContainerForTask(docker, context, options.devContainer), context.root, label);
      const sifFile = await testSif(apptainer, docker, manifest, workspacePath(options.sif, context), context, report);
      for (const check of checks.filter((c) => runsIn(c, 'apptainer'))) {
        const r = await apptainer.run({ argv: execArgv(sifFile, ['/bin/sh', '-c', check.command]), fuse: true });
        judge(report, check, 'apptainer', { exitCode: r.exitCode, stdout: r.stdout, stderr: stripApptainerInfo(r.stderr) });
      }
    }

    if (report.failures.length) {
      throw new PharosError(`${report.failures.length} check(s) failed:\n  ${report.failures.join('\n  ')}`, {
        step: label,
        file: options.definition ? relative(context.root, workspacePath(options.definition, context)) : undefined,
        next: 'fix the image or the expectation',
      });
    }
  });
}

function judge(report: Report, check: ContainerCheck, runtime: Runtime, outcome: { exitCode: number; stdout: string; stderr: string }): void {
  const name = `${check.name ?? check.command} [${runtime}]`;
  const verdict = judgeCheck(check, outcome);
  if (!verdict) return report.ok(name);
  const stderr = tailOf(outcome.stderr);
  report.fail(`check "${check.name ?? check.command}" in ${runtime}`, `\`${check.command}\`: ${verdict}${stderr.length ? `; stderr: ${stderr.join(' | ')}` : ''}`);
}

/** Apptainer's INFO lines about optional helpers it did not find are noise in a failure message. */
function stripApptainerInfo(stderr: string): string {
  return stderr.split('\n').filter((l) => !l.startsWith('INFO:')).join('\n');
}

/**
 * Apptainer's own view of the SIF: the objects in the file, the signature when there is one, the labels and
 * environment it carries over from the image, and the /.singularity.d layout its actions need.
 */
async function testSif(apptainer: Apptainer, docker: Docker, image: ImageManifest, sifManifestFile: string, context: ExecutorContext, report: Report): Promise<string> {
  const sifManifest = readSifManifest(sifManifestFile, context.root, `${context.projectName}:sif`);
  const sif = join(dirname(sifManifestFile), sifManifest.sif);
  const shown = relative(context.root, sif);
  await assertSifMatches(sif, sifManifest, shown);
  report.ok(`${shown} matches its manifest`);
  if (sifManifest.image.id !== image.id) {
    report.fail('SIF source', `${shown} was built from image ${sifManifest.image.id}, the image is now ${image.id}; rebuild the sif target`);
  }

  const run = async (argv: string[], fuse = false) => {
    const r = await apptainer.run({ argv, fuse });
    if (r.exitCode !== 0) throw new PharosError(`\`${argv.join(' ')}\` exited with code ${r.exitCode}`, { file: shown, tail: tailOf(r.stderr) });
    return r.stdout;
  };

  const objects = parseSifObjectTypes(await run(sifListArgv(sif)));
  if (objects.some((t) => t.startsWith('FS (Squashfs'))) report.ok('SIF holds a squashfs root filesystem');
  else report.fail('SIF objects', `no squashfs filesystem object in ${shown} (objects: ${objects.join(', ')})`);

  const signed = objects.some((t) => t.startsWith('Signature'));
  if (signed) {
    if (!sifManifest.publicKey) {
      report.fail('signature', `${shown} carries a signature but its manifest names no public key to verify it with`);
    } else {
      const publicKey = join(dirname(sifManifestFile), sifManifest.publicKey);
      const r = await apptainer.run({ argv: verifyWithKeyArgv(sif, publicKey) });
      if (r.exitCode === 0) report.ok(`apptainer verify with ${relative(context.root, publicKey)}`);
      else report.fail('apptainer verify', tailOf(r.stderr).join(' | '));
    }
  } else if (sifManifest.publicKey) {
    report.fail('signature', `${shown} should be signed (its manifest names ${sifManifest.publicKey}) but carries no signature`);
  }

  const info = await inspectImage(docker, image.id);
  const labels = parseInspectLabels(await run(inspectJsonArgv(sif)));
  const wantLabels = { ...(info?.Config?.Labels ?? {}) };
  const missingLabels = Object.entries(wantLabels).filter(([k, v]) => labels[k] !== v).map(([k]) => k);
  if (!labels['org.label-schema.usage.apptainer.version']) missingLabels.push('org.label-schema.usage.apptainer.version');
  if (missingLabels.length) report.fail('apptainer inspect labels', `missing or different: ${missingLabels.join(', ')}`);
  else report.ok(`apptainer inspect: ${Object.keys(wantLabels).length} image label(s) carried over, built by apptainer ${labels['org.label-schema.usage.apptainer.version']}`);

  const environment = await run(inspectEnvironmentArgv(sif));
  const missingEnv = (info?.Config?.Env ?? []).map((e) => e.split('=')[0]).filter((k) => !new RegExp(`export ${k}=`).test(environment));
  if (missingEnv.length) report.fail('apptainer inspect environment', `image variables missing: ${missingEnv.join(', ')}`);
  else report.ok(`apptainer inspect: environment carries the image's ${(info?.Config?.Env ?? []).length} variable(s)`);

  if ((await run(inspectRunscriptArgv(sif))).includes('OCI_CMD=')) report.ok('apptainer inspect: runscript runs the image CMD/ENTRYPOINT');
  else report.fail('runscript', 'the runscript does not carry the OCI entrypoint and command');

  const layout = ['runscript', 'actions/exec', 'actions/run', 'actions/shell', 'actions/start', 'actions/test', 'env/10-docker2singularity.sh'];
  const probe = layout.map((f) => `[ -x /.singularity.d/${f} ] || echo ${f}`).join('; ');
  const r = await apptainer.run({ argv: execArgv(sif, ['/bin/sh', '-c', probe]), fuse: true });
  const absent = r.stdout.split('\n').filter(Boolean);
  if (r.exitCode === 0 && absent.length === 0) report.ok(`/.singularity.d has the runscript, the env file and the ${layout.length - 2} actions`);
  else report.fail('/.singularity.d layout', r.exitCode !== 0 ? `apptainer exec failed: ${tailOf(stripApptainerInfo(r.stderr)).join(' | ')}` : `missing or not executable: ${absent.join(', ')}`);
  return sif;
}

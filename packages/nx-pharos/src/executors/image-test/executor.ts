import type { ExecutorContext } from '@nx/devkit';
import { dirname, join, relative } from 'node:path';
import { Writable } from 'node:stream';
import { assertDaemon, dockerClient, runContainer } from '../../tools/docker';
import { assertArchiveMatches, ensureImage, readImageManifest } from '../../tools/image-manifest';
import { PharosError } from '../../utils/errors';
import { runExecutor, taskLabel, workspacePath } from '../../utils/executor';

export interface ImageCheck {
  name?: string;
  command: string;
  expectOutput?: string;
  expectOutputContains?: string;
  expectExitCode?: number;
}

export interface ImageTestOptions {
  manifest?: string;
  checks?: ImageCheck[];
}

export interface CheckOutcome {
  exitCode: number;
  stdout: string;
}

/** Pure verdict on one check: undefined when it passed, else what differed. */
export function judgeCheck(check: ImageCheck, outcome: CheckOutcome): string | undefined {
  const wantCode = check.expectExitCode ?? 0;
  const got = outcome.stdout.trim();
  if (outcome.exitCode !== wantCode) return `expected exit code ${wantCode}, got ${outcome.exitCode}`;
  if (check.expectOutput !== undefined && got !== check.expectOutput.trim()) {
    return `expected output ${JSON.stringify(check.expectOutput.trim())}, got ${JSON.stringify(got)}`;
  }
  if (check.expectOutputContains !== undefined && !got.includes(check.expectOutputContains)) {
    return `expected output containing ${JSON.stringify(check.expectOutputContains)}, got ${JSON.stringify(got)}`;
  }
  return undefined;
}

function collector(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  return {
    stream: new Writable({ write(chunk, _enc, cb) { chunks.push(Buffer.from(chunk)); cb(); } }),
    text: () => Buffer.concat(chunks).toString(),
  };
}

export default async function imageTestExecutor(options: ImageTestOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const manifestFile = workspacePath(options.manifest ?? 'dist/{projectRoot}/image.json', context);
    const manifest = readImageManifest(manifestFile, context.root, `${context.projectName}:image`);
    const archive = join(dirname(manifestFile), manifest.archive);
    await assertArchiveMatches(archive, manifest, relative(context.root, archive));
    process.stdout.write(`ok   archive ${relative(context.root, archive)} matches its manifest\n`);
    const docker = dockerClient();
    await assertDaemon(docker);
    const loaded = await ensureImage(docker, manifestFile, manifest, (t) => process.stdout.write(t));
    process.stdout.write(`ok   image ${manifest.id.slice(0, 19)} is in the daemon${loaded ? ' (loaded from the archive)' : ''}\n`);

    const failures: string[] = [];
    for (const check of options.checks ?? []) {
      const out = collector();
      const exitCode = await runContainer(docker, {
        image: manifest.id,
        entrypoint: ['sh', '-c'],
        cmd: [check.command],
        labels: { 'org.pharos.image-test': taskLabel(context) },
        network: 'none',
      }, { stdout: out.stream, stderr: process.stderr });
      const verdict = judgeCheck(check, { exitCode, stdout: out.text() });
      const name = check.name ?? check.command;
      if (verdict) {
        failures.push(`check "${name}" failed in docker: \`${check.command}\`: ${verdict}`);
        process.stdout.write(`FAIL ${name}\n`);
      } else {
        process.stdout.write(`ok   ${name}\n`);
      }
    }
    if (failures.length) {
      throw new PharosError(failures.join('\n  '), { step: taskLabel(context), next: 'fix the image or the expectation' });
    }
  });
}

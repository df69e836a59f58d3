import type Docker from 'dockerode';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { shownPath, type NormalizedImageTestOptions } from '../../lib/image/normalize-options';
import type { ImageManifest } from '../../products/image';
import { assertSifMatches, readSifManifest } from '../../products/sif';
import {
  execArgv,
  inspectEnvironmentArgv,
  inspectJsonArgv,
  inspectRunscriptArgv,
  parseInspectLabels,
  parseSifObjectTypes,
  sifListArgv,
  verifyWithKeyArgv,
  type ApptainerRunner,
} from '../../tools/apptainer';
import { inspectImage } from '../../tools/docker';
import { PharosError } from '../../utils/errors';
import { stripApptainerInfo, tailOf, type Report } from '../../lib/image/check-report';

/** What Apptainer's actions need in /.singularity.d: the runscript, the actions and the environment file. */
export const SINGULARITY_LAYOUT = [
  'runscript',
  'actions/exec',
  'actions/run',
  'actions/shell',
  'actions/start',
  'actions/test',
  'env/10-docker2singularity.sh',
];
const LAYOUT_SCRIPT = join(__dirname, 'singularity-layout.sh');

/** argv (inside the SIF) that prints the layout entries that are missing; the script text goes in, the names as arguments. */
export function layoutProbeArgv(): string[] {
  return ['/bin/sh', '-c', readFileSync(LAYOUT_SCRIPT, 'utf8'), 'pharos-layout', '/.singularity.d', ...SINGULARITY_LAYOUT];
}

/**
 * Apptainer's own view of the SIF: the objects in the file, the signature when there is one, the labels and
 * environment it carries over from the image, and the /.singularity.d layout its actions need. Returns the SIF's path.
 */
export async function testSif(
  apptainer: ApptainerRunner,
  docker: Docker,
  image: ImageManifest,
  o: NormalizedImageTestOptions & { sifManifest: string },
  report: Report,
): Promise<string> {
  const sifManifest = readSifManifest(o.sifManifest, o.workspaceRoot, `${o.project}:sif`);
  const sif = join(dirname(o.sifManifest), sifManifest.sif);
  const shown = shownPath(o, sif);
  await assertSifMatches(sif, sifManifest, shown);
  report.ok(`${shown} matches its manifest`);
  if (sifManifest.image?.id !== image.id) {
    report.fail('SIF source', `${shown} was built from image ${sifManifest.image?.id}, the image is now ${image.id}; rebuild the sif target`);
  }

  const run = async (argv: string[]) => {
    const r = await apptainer.run({ argv });
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
      const publicKey = join(dirname(o.sifManifest), sifManifest.publicKey);
      const r = await apptainer.run({ argv: verifyWithKeyArgv(sif, publicKey) });
      if (r.exitCode === 0) report.ok(`apptainer verify with ${shownPath(o, publicKey)}`);
      else report.fail('apptainer verify', tailOf(r.stderr).join(' | '));
    }
  } else if (sifManifest.publicKey) {
    report.fail('signature', `${shown} should be signed (its manifest names ${sifManifest.publicKey}) but carries no signature`);
  }

  const info = await inspectImage(docker, image.id);
  const labels = parseInspectLabels(await run(inspectJsonArgv(sif)));
  const wantLabels = { ...(info?.Config?.Labels ?? {}) };
  const missingLabels = Object.entries(wantLabels)
    .filter(([k, v]) => labels[k] !== v)
    .map(([k]) => k);
  if (!labels['org.label-schema.usage.apptainer.version']) missingLabels.push('org.label-schema.usage.apptainer.version');
  if (missingLabels.length) report.fail('apptainer inspect labels', `missing or different: ${missingLabels.join(', ')}`);
  else
    report.ok(
      `apptainer inspect: ${Object.keys(wantLabels).length} image label(s) carried over, built by apptainer ${labels['org.label-schema.usage.apptainer.version']}`,
    );

  const environment = await run(inspectEnvironmentArgv(sif));
  const missingEnv = (info?.Config?.Env ?? []).map((e) => e.split('=')[0]).filter((k) => !new RegExp(`export ${k}=`).test(environment));
  if (missingEnv.length) report.fail('apptainer inspect environment', `image variables missing: ${missingEnv.join(', ')}`);
  else report.ok(`apptainer inspect: environment carries the image's ${(info?.Config?.Env ?? []).length} variable(s)`);

  if ((await run(inspectRunscriptArgv(sif))).includes('OCI_CMD=')) report.ok('apptainer inspect: runscript runs the image CMD/ENTRYPOINT');
  else report.fail('runscript', 'the runscript does not carry the OCI entrypoint and command');

  const r = await apptainer.run({ argv: execArgv(sif, layoutProbeArgv()), fuse: true });
  const absent = r.stdout.split('\n').filter(Boolean);
  if (r.exitCode === 0 && absent.length === 0) report.ok(`/.singularity.d has the runscript, the env file and the ${SINGULARITY_LAYOUT.length - 2} actions`);
  else
    report.fail(
      '/.singularity.d layout',
      r.exitCode !== 0 ? `apptainer exec failed: ${tailOf(stripApptainerInfo(r.stderr)).join(' | ')}` : `missing or not executable: ${absent.join(', ')}`,
    );
  return sif;
}

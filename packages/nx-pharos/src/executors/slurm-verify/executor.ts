import type { ExecutorContext } from '@nx/devkit';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Writable } from 'node:stream';
import { parseSourceRecipe, recipeVersion } from '../../plugin/source-recipe';
import { assertDaemon, dockerClient, runContainer, sha256File } from '../../tools/docker';
import { suiteImage } from '../../tools/suite-image';
import { PharosError } from '../../utils/errors';
import { runExecutor, taskLabel, workspacePath } from '../../utils/executor';
import { DEBS_MANIFEST, type DebsManifest } from '../deb/executor';

export interface SlurmVerifyOptions {
  recipe: string;
  /** A version of the recipe (not "version": that is Nx's own flag on the command line). */
  release?: string | number;
  suite: string;
  debsPath?: string;
}

/** The packages a one-node cluster needs; the rest of the build (dev, doc, perl, pam…) is not installed. */
const CLUSTER_PACKAGES = ['slurm-smd', 'slurm-smd-client', 'slurm-smd-slurmctld', 'slurm-smd-slurmd'];
const CHECK_SCRIPT = join(__dirname, 'cluster-check.sh');

export function installScript(debFiles: string[]): string {
  return `set -eu
export DEBIAN_FRONTEND=noninteractive
# Packages must not start daemons in a container; the check starts its own.
printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
apt-get update -q >/dev/null
cd /debs
apt-get install -y -q --no-install-recommends ${debFiles.map((f) => `./${f}`).join(' ')} >/tmp/apt.log 2>&1 || { tail -n 20 /tmp/apt.log >&2; exit 2; }
echo "pharos-check: ok   installed ${debFiles.length} packages with apt in a clean container"
sh /pharos/cluster-check.sh deb
`;
}

export default async function slurmVerifyExecutor(options: SlurmVerifyOptions, context: ExecutorContext) {
  return runExecutor(async () => {
    const label = taskLabel(context);
    const recipeFile = workspacePath(options.recipe, context);
    const recipe = parseSourceRecipe(readFileSync(recipeFile, 'utf8'), relative(context.root, recipeFile));
    const version = recipeVersion(recipe, options.release, relative(context.root, recipeFile));
    const debsDir = workspacePath(options.debsPath ?? `dist/{projectRoot}/${version.version}/${options.suite}`, context);
    const manifestFile = join(debsDir, DEBS_MANIFEST);
    let manifest: DebsManifest;
    try {
      manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
    } catch {
      throw new PharosError('no .deb manifest', { file: relative(context.root, manifestFile), next: `build it: npx nx run ${context.projectName}:deb` });
    }
    for (const d of manifest.debs) {
      const actual = await sha256File(join(debsDir, d.file)).catch(() => 'missing');
      if (actual !== d.sha256) {
        throw new PharosError(`${d.file} has sha256 ${actual}, ${DEBS_MANIFEST} says ${d.sha256}`, {
          file: relative(context.root, join(debsDir, d.file)),
          next: `rebuild: npx nx run ${context.projectName}:deb --skip-nx-cache`,
        });
      }
    }
    const debFiles = CLUSTER_PACKAGES.map((p) => {
      const deb = manifest.debs.find((d) => d.package === p);
      if (!deb) throw new PharosError(`the build produced no ${p} package`, { file: relative(context.root, manifestFile), step: label });
      return deb.file;
    });

    const docker = dockerClient();
    await assertDaemon(docker);
    const base = await suiteImage(docker, context, options.suite);
    let output = '';
    const sink = new Writable({
      write(chunk, _enc, cb) {
        output += chunk.toString();
        process.stdout.write(chunk);
        cb();
      },
    });
    process.stdout.write(`pharos: verifying ${manifest.debs.length} .debs of ${recipe.name} ${version.version} in a clean debian:${options.suite}\n`);
    const code = await runContainer(docker, {
      image: base.id,
      cmd: ['sh', '-c', installScript(debFiles)],
      binds: [`${debsDir}:/debs:ro`, `${CHECK_SCRIPT}:/pharos/cluster-check.sh:ro`],
      labels: { 'org.pharos.verify': label },
    }, { stdout: sink, stderr: sink });
    if (code !== 0) {
      const failed = output.split('\n').find((l) => l.startsWith('pharos-check: FAIL'));
      throw new PharosError(failed ? failed.replace('pharos-check: FAIL', 'check failed:') : `verification exited with code ${code}`, {
        step: label,
        tail: output.trim().split('\n').slice(-20),
        next: 'read the daemon logs above; reproduce with the same .debs in a debian container',
      });
    }
  });
}

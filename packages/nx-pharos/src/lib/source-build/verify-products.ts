import type { ExecutorContext } from '@nx/devkit';
import type Docker from 'dockerode';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DEBS_MANIFEST, type DebsManifest } from '../../products/debs';
import { outputCollector, runContainer, type ContainerSpec } from '../../tools/docker';
import { assertFileDigest } from '../../utils/digest';
import { PharosError } from '../../utils/errors';

/**
 * What every verify executor shares: products read through their manifests and checked against their digests before
 * any container starts, and a check script whose `pharos-check: ok|FAIL` lines become the result.
 */

export function readProductManifest<T>(file: string, what: string, target: string, context: ExecutorContext, producer?: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    throw new PharosError(`no ${what} manifest`, { file: relative(context.root, file), next: `build it: npx nx run ${producer ?? `${context.projectName}:${target}`}` });
  }
}

/**
 * The .deb files of `packages`, in that order, after checking every .deb of the manifest against its sha256.
 * `producer` is the deb task that makes them (default: this project's `deb`), named when they are missing.
 */
export async function verifiedDebs(debsDir: string, packages: string[], context: ExecutorContext, label: string, producer?: string): Promise<string[]> {
  const manifestFile = join(debsDir, DEBS_MANIFEST);
  const manifest = readProductManifest<DebsManifest>(manifestFile, '.deb', 'deb', context, producer);
  for (const d of manifest.debs) {
    await assertFileDigest(join(debsDir, d.file), d.sha256, {
      what: d.file,
      shown: relative(context.root, join(debsDir, d.file)),
      rebuild: `npx nx run ${producer ?? `${context.projectName}:deb`} --skip-nx-cache`,
    });
  }
  return packages.map((p) => {
    const deb = manifest.debs.find((d) => d.package === p);
    if (!deb) throw new PharosError(`the build produced no ${p} package`, { file: relative(context.root, manifestFile), step: label });
    return deb.file;
  });
}

/** Runs a check script in a container; a non-zero exit is an error carrying its first FAIL line and its last lines. */
export async function runCheck(docker: Docker, spec: ContainerSpec, label: string): Promise<void> {
  // stdout and stderr in one stream, in order, as the check prints them.
  const sink = outputCollector(process.stdout);
  const code = await runContainer(docker, { ...spec, labels: { ...spec.labels, 'org.pharos.verify': label } }, { stdout: sink.stream, stderr: sink.stream });
  const output = sink.text();
  if (code !== 0) {
    const failed = output.split('\n').find((l) => l.startsWith('pharos-check: FAIL'));
    throw new PharosError(failed ? failed.replace('pharos-check: FAIL', 'check failed:') : `verification exited with code ${code}`, {
      step: label,
      tail: output.trim().split('\n').slice(-20),
      next: 'read the daemon logs above; reproduce with the same product in a debian container',
    });
  }
}

/**
 * The start of a check script in a clean suite container: packages kept from starting daemons (the check starts its
 * own), then `apt-get install` of the product's .debs from /debs, with `extraPackages` from the archive.
 */
export function installDebsScript(debFiles: string[], extraPackages: string[] = []): string {
  return `set -eu
export DEBIAN_FRONTEND=noninteractive
printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
apt-get update -q >/dev/null
cd /debs
apt-get install -y -q --no-install-recommends ${[...debFiles.map((f) => `./${f}`), ...extraPackages].join(' ')} >/tmp/apt.log 2>&1 || { tail -n 20 /tmp/apt.log >&2; exit 2; }
`;
}

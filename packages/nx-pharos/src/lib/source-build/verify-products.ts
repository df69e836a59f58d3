import type Docker from 'dockerode';
import { join } from 'node:path';
import { STORE_IN_SHALLOW_MOUNTS } from '../../products/store';
import { storeToMount } from '../../products/store-files';
import { outputCollector, runContainer, type ContainerSpec } from '../../tools/docker';
import { PharosError } from '../../utils/errors';
import { containerScript } from './scripts';

/**
 * What every verify executor shares: a check script in a clean container whose `pharos-check: ok|FAIL` lines become the
 * result. The products are read and checked against their digests (products/debs.ts, products/tarball.ts) before.
 */

// lib/vm-image/stage.ts reads .debs through here until it imports products/debs.ts itself.

/** Installs a product's .debs (the arguments) in a clean suite container, daemons kept from starting; run by the checks. */
export const INSTALL_DEBS_SCRIPT = join(__dirname, 'install-debs.sh');

export interface Check {
  image: string;
  /** The check's .sh, its arguments, and the scripts it calls (mounted beside it). */
  script: string;
  args: string[];
  calls: string[];
  env?: Record<string, string>;
  /** The product folder, mounted read-only at a path one level deep, e.g. `<dir>:/debs:ro` (see checkBinds). */
  product: string;
  hostname?: string;
  /** Apptainer's exec: /dev/fuse, and an unconfined seccomp profile for user namespaces. */
  devices?: string[];
  securityOpt?: string[];
}

/**
 * Runs a check of the suite's .debs: `script` gets the .deb files as its arguments, with the folder at /debs and
 * install-debs.sh beside it (with `calls`, the scripts it runs after).
 */
export function runDebCheck(
  docker: Docker,
  image: string,
  debsDir: string,
  debFiles: string[],
  check: Pick<Check, 'script' | 'calls' | 'hostname' | 'env' | 'devices' | 'securityOpt'>,
  label: string,
): Promise<void> {
  return runCheck(docker, { image, args: debFiles, product: `${debsDir}:/debs:ro`, ...check, calls: [INSTALL_DEBS_SCRIPT, ...check.calls] }, label);
}

/**
 * A check's binds: the product folder, the scripts, and this machine's store where the folder's links into it lead
 * from a mount point at `/<name>` (products/store.ts STORE_IN_SHALLOW_MOUNTS), read-only.
 */
export function checkBinds(product: string, scripts: string[], store: string | undefined): string[] {
  return [product, ...(store ? [`${store}:${STORE_IN_SHALLOW_MOUNTS}:ro`] : []), ...scripts];
}

/** Runs a check script in a container; a non-zero exit is an error carrying its first FAIL line and its last lines. */
export async function runCheck(docker: Docker, check: Check, label: string): Promise<void> {
  const run = containerScript(check.script, check.args, check.calls);
  const spec: ContainerSpec = {
    image: check.image,
    cmd: run.cmd,
    env: check.env,
    binds: checkBinds(check.product, run.binds, storeToMount()),
    hostname: check.hostname,
    devices: check.devices,
    securityOpt: check.securityOpt,
    labels: { 'org.pharos.verify': label },
    aptCache: true,
  };
  // stdout and stderr in one stream, in order, as the check prints them.
  const sink = outputCollector(process.stdout);
  const code = await runContainer(docker, spec, { stdout: sink.stream, stderr: sink.stream });
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

import { join } from 'node:path';
import { overlayProjectName } from '../../definitions/overlay-path';
import { overlayManifestPath } from '../../products/overlay';
import { sifManifestPath } from '../../products/sif';
import { containerCwd } from '../../tools/dev-container';
import { CLI_WORKSPACE_ROOT, cliDevContainerImage, cliProjectRoot, runAttached } from '../../tools/dev-container-cli';
import { assertDaemon, dockerClient } from '../../tools/docker';
import { assertOverlaysAgree, checkBase, EXEC_HELP, EXEC_STEP, execShellCommand, mountOrder, parseExecArgs } from './exec';
import { holdOverlays, overlayProduct, usingOverlaysArgv, verifiedBaseSif, type MountedOverlay } from './mounts';

/**
 * `pharos exec`: the overlays read through their manifests under dist/, their #DEP closures added, checked to fit
 * together and on the base SIF, held in use (a shared flock on each .sqf) for the whole run, and the command run by
 * `apptainer exec` in the dev container, as the overlays' test targets run their checks. Returns its exit code.
 */
export async function execCli(argv: string[], workspaceRoot = CLI_WORKSPACE_ROOT): Promise<number> {
  const args = parseExecArgs(argv);
  if (args.help) {
    process.stdout.write(`${EXEC_HELP}\n`);
    return 0;
  }
  const ws = { workspaceRoot };
  const products = new Map<string, MountedOverlay>();
  const product = (overlay: string) => {
    const [name, version] = overlay.split('/') as [string, string];
    if (!products.has(overlay))
      products.set(overlay, overlayProduct(join(workspaceRoot, overlayManifestPath(name, version)), `${overlayProjectName(name, version)}:overlay`, ws));
    return products.get(overlay) as MountedOverlay;
  };
  const mounted = mountOrder(args.overlays, (o) => product(o).manifest.deps.map((d) => d.overlay)).map(product);
  const built = assertOverlaysAgree(mounted);

  const project = args.base ?? built.project;
  const root = await cliProjectRoot(project, EXEC_STEP, 'name the container project whose SIF to run on with --base');
  const base = await verifiedBaseSif({ workspaceRoot, base: { manifest: join(workspaceRoot, sifManifestPath(root, project)), producer: `${project}:sif` } });
  const warning = checkBase(
    built,
    { project, manifest: base.manifest },
    mounted.map((m) => m.overlay),
    args.base,
  );
  if (warning) process.stderr.write(`${warning}\n`);
  const command = execShellCommand(args.command, !!process.stdin.isTTY);

  const docker = dockerClient();
  await assertDaemon(docker);
  const image = await cliDevContainerImage(docker, workspaceRoot, EXEC_STEP);
  const inUse = await holdOverlays(mounted, ws);
  try {
    const cwd = containerCwd(workspaceRoot, process.cwd());
    return await runAttached(docker, image, {
      workspaceRoot,
      cwd,
      command: usingOverlaysArgv(base.file, mounted, command, { binds: [{ host: cwd, container: cwd }], pwd: cwd }),
      fuse: true,
      network: args.network ? undefined : 'none',
      label: 'pharos-exec',
    });
  } finally {
    await inUse.release();
  }
}

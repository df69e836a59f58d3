import { execaSync } from 'execa';
import { rmSync } from 'node:fs';
import { startSlurmCluster } from './slurm-cluster';

/**
 * The engine tests' loopback cluster for the benchmarks (bench/slurm.mjs), which are not vitest:
 *   node -r @swc-node/register packages/nx-pharos/e2e/slurm-cluster-cli.ts up <workspace> <shared path>…   → JSON
 *   node -r @swc-node/register packages/nx-pharos/e2e/slurm-cluster-cli.ts down <container> <clientsDir>
 */
async function main([verb, ...args]: string[]): Promise<void> {
  if (verb === 'up') {
    const [workspace, ...shared] = args;
    const c = await startSlurmCluster(workspace, shared);
    process.stdout.write(`${JSON.stringify({ container: c.container, clientsDir: c.clientsDir, node: c.node })}\n`);
  } else if (verb === 'down') {
    execaSync('docker', ['rm', '-f', args[0]], { reject: false });
    rmSync(args[1], { recursive: true, force: true });
  } else throw new Error('usage: slurm-cluster-cli.ts up <workspace> <shared path>… | down <container> <clientsDir>');
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});

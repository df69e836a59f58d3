import { useTeamStore, type TeamStore } from '../../products/store-files';
import { runExecutor as runPlainExecutor, type ExecutorRun } from '../../utils/executor';
import { pushImage } from './images';
import { blobKindOf, fetchBlob, pushBlob } from './team-store';
import { teamStoreSettings } from './settings';

/**
 * Wires the team store into products/store-files.ts, which cannot import lib/ (its layer is below): every consumer's
 * check of a product link fetches a missing blob through it, and every blob put in the store, and every docker image
 * product saved, is published through it where PHAROS_REGISTRY_PUSH=1. The settings are read at each call, so a process's environment decides, as for the store.
 *
 * Installed per process, by the two entries that read or write products: the executors (through runExecutor below,
 * which every executor calls) and the CLI (tools/pharos export, exec, run-in-dev-container). Not by the plugin's
 * preTasksExecution hook: it runs in Nx's plugin worker, not in the processes Nx forks for tasks, so a function it
 * installed would never reach an executor.
 */
export const TEAM_STORE: TeamStore = {
  async fetch(blob, env) {
    const settings = teamStoreSettings(env);
    if (!settings) return { fetched: false };
    return fetchBlob(blob.sha256, blob.bytes, blob.dest, settings.access, blob.rebuild, env);
  },
  async publish(blob, env) {
    const settings = teamStoreSettings(env);
    if (!settings?.push) return;
    await pushBlob(blob.store, blob.sha256, blob.bytes, await blobKindOf(blob.path), settings.access, env);
  },
  async publishImage({ archive, ...image }, env) {
    const settings = teamStoreSettings(env);
    if (!settings?.push) return undefined;
    return pushImage(image, archive, settings.access, env);
  },
};

export function installTeamStore(): void {
  useTeamStore(TEAM_STORE);
}

let bodies = 0;

/**
 * utils/executor's runExecutor, with the team store installed while the body runs: what every executor calls. Removed
 * again when the last body ends, so a process that runs executors in passing (a spec) is left as it was.
 */
export async function runExecutor(body: (run: ExecutorRun) => Promise<void>): Promise<{ success: boolean }> {
  bodies++;
  installTeamStore();
  try {
    return await runPlainExecutor(body);
  } finally {
    if (--bodies === 0) useTeamStore(undefined);
  }
}

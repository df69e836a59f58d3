import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * One temporary folder per test run, removed when the run ends: every spec's scratch tree, every executor's and every
 * Nx run's goes under it (TMPDIR), so a run leaves nothing in /tmp whatever a spec forgot. Nx copies its 22 MB native
 * module into a folder per workspace root (nx-native-file-cache-<hash>), and the e2e specs make hundreds of
 * workspaces, so those copies share one folder. CI runs on a machine whose disk other runs share: leaks add up there.
 */
if (!process.env.PHAROS_TEST_TMPDIR) {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-test-'));
  // As /tmp is: specs run tools as another user (the dev container runner as uid 4321), who needs a TMPDIR too.
  chmodSync(dir, 0o1777);
  process.env.PHAROS_TEST_TMPDIR = dir;
  process.env.TMPDIR = dir;
  process.env.NX_NATIVE_FILE_CACHE_DIRECTORY = join(dir, 'nx-native-file-cache');
  process.on('exit', () => {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (e) {
      process.stderr.write(`vitest: could not remove ${dir}: ${(e as Error).message}; remove it by hand\n`);
    }
  });
}

/**
 * Tests are classed by what they need, not by folder. unit: every spec that needs no Docker engine (pure logic, real
 * `sh`, files), wherever it lives. integration: `*.docker.spec.ts` (a spec that drives the real Docker engine) and the
 * whole-workspace runs under e2e/; they share one engine on a 2-core machine, so they run one file at a time and reuse
 * the images the global setup builds once (cached by Nx after the first run).
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.spec.ts'],
          exclude: ['**/*.docker.spec.ts', '**/node_modules/**'],
          // One module graph per worker instead of one per file: most of the unit run was re-importing the same
          // modules 57 times (32 s → 12 s on 2 cores). The specs keep no state a neighbour could see.
          isolate: false,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['packages/*/src/**/*.docker.spec.ts', 'packages/*/e2e/**/*.spec.ts'],
          globalSetup: ['packages/nx-pharos/e2e/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 20 * 60_000,
          hookTimeout: 30 * 60_000,
        },
      },
      {
        // VM images under QEMU: minutes per image, so not part of `npm test` (npm run test:vm).
        test: {
          name: 'vm',
          include: ['packages/*/e2e-vm/**/*.spec.ts'],
          fileParallelism: false,
          testTimeout: 90 * 60_000,
          hookTimeout: 30 * 60_000,
        },
      },
      {
        // Many trials of one real build (Ctrl-C, concurrent runs): minutes, so npm run test:reliability.
        test: {
          name: 'reliability',
          include: ['packages/*/e2e-reliability/**/*.spec.ts'],
          globalSetup: ['packages/nx-pharos/e2e/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 60 * 60_000,
          hookTimeout: 30 * 60_000,
        },
      },
    ],
  },
});

import { defineConfig } from 'vitest/config';

/**
 * unit: pure logic, no Docker. integration: executors and whole-workspace runs against the real Docker engine and
 * the real dev container; they share one engine on a 2-core machine, so they run one file at a time and reuse the
 * images the global setup builds once (cached by Nx after the first run).
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.spec.ts'],
          exclude: ['packages/*/src/executors/**', '**/node_modules/**'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['packages/*/src/executors/**/*.spec.ts', 'packages/*/e2e/**/*.spec.ts'],
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
    ],
  },
});

import { execa } from 'execa';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Proves `npm run lint:layers`: the repo's real .dependency-cruiser.cjs, run by the real CLI over a small tree with
 * the same folder names as src/, flags each backwards import by its rule's name and lets the legal ones through.
 */
const WORKSPACE = resolve(__dirname, '../../..');

/** Each fixture module imports the modules listed with it (paths relative to the fixture root). */
const fixture: Record<string, string[]> = {
  'src/utils/strings.ts': [],
  'src/definitions/recipe.ts': ['src/utils/strings.ts'],
  'src/products/paths.ts': ['src/utils/strings.ts', 'src/definitions/recipe.ts'],
  'src/plugin/plugin.ts': ['src/products/paths.ts'],
  'src/lib/family/shared.ts': ['src/tools/docker.ts'],
  'src/executors/build/helper.ts': [],
  'src/executors/build/executor.ts': ['src/executors/build/helper.ts', 'src/lib/family/shared.ts'],
  'src/executors/build/executor.spec.ts': ['src/executors/build/executor.ts', 'e2e/harness.ts'],
  'e2e/harness.ts': [],
  'e2e/workspace.spec.ts': [],
  // Backwards, each on its own line below.
  'src/tools/docker.ts': ['src/products/paths.ts', 'src/plugin/plugin.ts'],
  'src/utils/log.ts': ['src/definitions/recipe.ts'],
  'src/executors/verify/executor.ts': ['src/executors/build/executor.ts'],
  'src/plugin/infer.ts': ['src/tools/docker.ts'],
  'src/definitions/check.ts': ['e2e/harness.ts'],
  'src/products/check.spec.ts': ['e2e/workspace.spec.ts'],
};

const backwards = [
  'tools-not-up: src/tools/docker.ts → src/plugin/plugin.ts',
  'utils-imports-nothing-of-ours: src/utils/log.ts → src/definitions/recipe.ts',
  'executors-not-sideways: src/executors/verify/executor.ts → src/executors/build/executor.ts',
  'plugin-not-into-tools-lib-executors: src/plugin/infer.ts → src/tools/docker.ts',
  'no-test-helpers-in-production: src/definitions/check.ts → e2e/harness.ts',
  'specs-import-only-the-harness: src/products/check.spec.ts → e2e/workspace.spec.ts',
];

function importPath(from: string, to: string): string {
  const rel = join(
    ...dirname(from)
      .split('/')
      .map(() => '..'),
    to,
  ).replace(/\.ts$/, '');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

describe('layer check (dependency-cruiser with the repo config)', () => {
  let root: string;
  let run: { exitCode?: number; stdout: string };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'layers-'));
    for (const [file, imports] of Object.entries(fixture)) {
      mkdirSync(dirname(join(root, file)), { recursive: true });
      const lines = imports.map((to, i) => `import * as m${i} from '${importPath(file, to)}';\nvoid m${i};`);
      writeFileSync(join(root, file), `${lines.join('\n')}\nexport const name = '${file}';\n`);
    }
    run = await execa(
      join(WORKSPACE, 'node_modules/.bin/depcruise'),
      ['src', 'e2e', '--config', join(WORKSPACE, '.dependency-cruiser.cjs'), '-T', 'err-long'],
      {
        cwd: root,
        reject: false,
        // Nx sets FORCE_COLOR for its tasks, and it beats NO_COLOR: turn colour off both ways.
        env: { NO_COLOR: '1', FORCE_COLOR: '0' },
      },
    );
  }, 30_000);

  /** depcruise's report as text (colour codes stripped: a terminal or Nx may still ask for them). */
  const stdout = () => stripVTControlCharacters(run.stdout);

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('fails each backwards import with the name of the rule it breaks, and explains the rule', () => {
    const violations = stdout()
      .split('\n')
      .map((l) => /^\s*error (.*)$/.exec(l)?.[1])
      .filter(Boolean);
    expect(violations.sort()).toEqual([...backwards].sort());
    expect(run.exitCode).toBe(backwards.length);
    expect(stdout()).toContain('a tools/ module must not import lib/, executors/, plugin/');
  });

  it('lets the legal imports through: down the layers, within one executor, and specs to e2e/harness.ts', () => {
    for (const legal of ['src/products/paths.ts → src/utils', 'src/lib/family/shared.ts →', 'src/executors/build/executor.ts →', 'executor.spec.ts →']) {
      expect(stdout()).not.toContain(legal);
    }
  });
});

import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyWorkspace, nx, NX_BIN, nxEnv, removeDir } from './harness';

/**
 * Each generator's output builds and tests at once, through the real Nx CLI in a copy of the workspace: a recipe of
 * Debian's `hello` (one suite: fetched from the archive, built with dpkg-buildpackage, installed and run in a clean
 * container), an overlay (built and checked under apptainer in the dev container), and a VM image from cloud-base
 * (`validate` with the real Packer here; its full `test` builds the image with QEMU: e2e-vm/generators.spec.ts).
 */
describe('generators', () => {
  let ws: string;
  // Not through nx(): generators take no --output-style.
  const generate = (args: string[]) => execa(NX_BIN, ['g', ...args], { cwd: ws, env: nxEnv(), all: true, reject: false, stdin: 'ignore' });
  beforeAll(() => {
    ws = copyWorkspace();
  });
  afterAll(() => removeDir(ws));

  it("recipe: Debian's hello pinned from its .dsc, built for trixie, installed in a clean container and run", async () => {
    const gen = await generate(['@pharos/nx-plugin:recipe', 'hello', '--debian-version=2.10-3', '--suite=trixie', '--check=hello', '--expect-output=Hello, world!']);
    expect(gen.exitCode, gen.all).toBe(0);
    const run = await nx(['run', 'hello:test'], ws);
    expect(run.exitCode, run.output.slice(-4000)).toBe(0);
    expect([...run.tasks.keys()].filter((t) => t.startsWith('hello:')).sort()).toEqual([
      'hello:deb-trixie',
      'hello:fetch',
      'hello:test',
      'hello:verify',
      'hello:verify-deb',
      'hello:verify-deb-trixie',
    ]);
    expect(run.output).toContain('pharos-check: ok   hello works');
    // A wrong expectation fails the test, naming the recipe and the check; only the verification runs again.
    const recipe = `${ws}/third-party/hello/recipe.yaml`;
    const { readFileSync, writeFileSync } = await import('node:fs');
    writeFileSync(recipe, readFileSync(recipe, 'utf8').replace('"Hello, world!"', '"Bonjour"'));
    const wrong = await nx(['run', 'hello:test'], ws);
    expect(wrong.exitCode).not.toBe(0);
    expect(wrong.output).toContain('pharos: third-party/hello/recipe.yaml: hello:verify-deb-trixie: check failed: "hello works": expected output "Bonjour", got "Hello, world!"');
    expect(wrong.tasks.get('hello:deb-trixie')).toBe('cache');
  });
});

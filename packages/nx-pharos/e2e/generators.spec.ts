import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
    const gen = await generate([
      '@pharos/nx-plugin:recipe',
      'hello',
      '--debian-version=2.10-3',
      '--suite=trixie',
      '--check=hello',
      '--expect-output=Hello, world!',
    ]);
    expect(gen.exitCode, gen.all).toBe(0);
    const run = await nx(['run', 'hello:test'], ws);
    expect(run.exitCode, run.output.slice(-4000)).toBe(0);
    // The groups (verify-deb, verify, test) are nx:noop and print nothing.
    expect([...run.tasks.keys()].filter((t) => t.startsWith('hello:')).sort()).toEqual(['hello:deb-trixie', 'hello:fetch', 'hello:verify-deb-trixie']);
    expect(run.tasks.get('hello:deb-trixie')).toBe('ran');
    expect(run.output).toContain('pharos-check: ok   hello works');
    // A wrong expectation fails the test, naming the recipe and the check; only the verification runs again.
    const recipe = join(ws, 'third-party/hello/recipe.yaml');
    writeFileSync(recipe, readFileSync(recipe, 'utf8').replace('"Hello, world!"', '"Bonjour"'));
    const wrong = await nx(['run', 'hello:test'], ws);
    expect(wrong.exitCode).not.toBe(0);
    expect(wrong.output).toContain(
      'pharos: third-party/hello/recipe.yaml: hello:verify-deb-trixie: check failed: "hello works": expected output "Bonjour", got "Hello, world!"',
    );
    expect(wrong.tasks.get('hello:deb-trixie')).toBe('cache');
  });

  it('overlay: a build script on the htslib overlay (#DEP), built and checked under apptainer', async () => {
    const gen = await generate(['@pharos/nx-plugin:overlay', 'demo-tool/0.1', '--dep=htslib/1.16']);
    expect(gen.exitCode, gen.all).toBe(0);
    const run = await nx(['run', 'demo-tool-0.1:test'], ws);
    expect(run.exitCode, run.output.slice(-4000)).toBe(0);
    expect(run.tasks.get('demo-tool-0.1:overlay')).toBe('ran');
    expect(run.output).toContain('ok   demo-tool runs from the overlay and reports its version [apptainer]');
    expect(run.output).toContain("ok   DEMO_TOOL_ROOT is the overlay's prefix [apptainer]");
    expect(run.output).toContain('ok   htslib/1.16 is mounted beside it [apptainer]');
  });

  it('vm-image: an image from cloud-base whose template, seed and scripts packer validate accepts', async () => {
    const gen = await generate(['@pharos/nx-plugin:vm-image', 'demo-vm', '--from=cloud-base']);
    expect(gen.exitCode, gen.all).toBe(0);
    const run = await nx(['run', 'demo-vm:validate'], ws);
    expect(run.exitCode, run.output.slice(-3000)).toBe(0);
    expect(run.output).toMatch(/pharos: packer\/cloud-base\/cloud-base\.pkr\.hcl is valid for Packer \d+\.\d+\.\d+/);
    // The paths the generator wrote are what validate reads: a template that is not there fails it.
    const definition = join(ws, 'packer/demo-vm/vm-image.yaml');
    writeFileSync(definition, readFileSync(definition, 'utf8').replace('../cloud-base/cloud-base.pkr.hcl', '../cloud-base/missing.pkr.hcl'));
    const broken = await nx(['run', 'demo-vm:validate'], ws);
    expect(broken.exitCode).not.toBe(0);
    expect(broken.output).toContain('missing.pkr.hcl');
  });

  it('refuses a --from that is not a VM image project, through nx g', async () => {
    const gen = await generate(['@pharos/nx-plugin:vm-image', 'other-vm', '--from=base-tools']);
    expect(gen.exitCode).not.toBe(0);
    expect(gen.all).toContain(
      '--from "base-tools" is not a VM image project (no packer/base-tools/vm-image.yaml); the VM images here: cloud-base, demo-vm, hpc-compute, hpc-controller',
    );
  });
});

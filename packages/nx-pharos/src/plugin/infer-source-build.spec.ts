import { describe, expect, it } from 'vitest';
import { parseSourceRecipe } from '../definitions/source-recipe';
import { inferSourceBuildProject } from './infer-source-build';

const recipe = (extra: string, name: string) =>
  parseSourceRecipe(
    `name: ${name}\nversions:\n  "1":\n    sources:\n      - { kind: url, url: "file:///x.tar.gz", sha256: ${'a'.repeat(64)} }\n${extra}`,
    `third-party/${name}/recipe.yaml`,
  );
const SUITES = ['bookworm', 'trixie'];

describe('source-build inference', () => {
  const beegfs = inferSourceBuildProject(
    'third-party/beegfs/recipe.yaml',
    recipe('deb:\n  build: make-package-deb\n  suites: [bookworm]\n', 'beegfs'),
    false,
    SUITES,
  );
  const slurm = inferSourceBuildProject('third-party/slurm/recipe.yaml', recipe('', 'slurm'), true, SUITES);

  it('gives each suite one deb target, the only producer of its folder, and no configurations anywhere', () => {
    expect(slurm.targets?.['deb-bookworm']).toMatchObject({
      executor: '@pharos/nx-plugin:deb',
      options: { recipe: 'third-party/slurm/recipe.yaml', suite: 'bookworm' },
      outputs: ['{workspaceRoot}/dist/{projectRoot}/{options.release}/bookworm'],
    });
    expect(slurm.targets?.deb).toEqual({
      executor: 'nx:noop',
      dependsOn: [
        { target: 'deb-bookworm', params: 'forward' },
        { target: 'deb-trixie', params: 'forward' },
      ],
      cache: true,
    });
    const outputs = Object.values(slurm.targets ?? {}).flatMap((t) => t.outputs ?? []);
    expect(new Set(outputs).size).toBe(outputs.length);
    for (const t of Object.values({ ...slurm.targets, ...beegfs.targets })) {
      expect(t.configurations).toBeUndefined();
      expect(t.defaultConfiguration).toBeUndefined();
    }
  });

  it('builds the tarball for --suite, trixie by default, into its own folder', () => {
    expect(slurm.targets?.tarball).toMatchObject({
      options: { suite: 'trixie' },
      outputs: ['{workspaceRoot}/dist/{projectRoot}/{options.release}/tarball-{options.suite}'],
    });
    expect(slurm.targets?.['verify-tarball']).toMatchObject({
      options: { suite: 'trixie', products: ['tarball'] },
      dependsOn: [
        { target: 'tarball', params: 'forward' },
        { projects: ['debian-bookworm'], target: 'image' },
        { projects: ['debian-trixie'], target: 'image' },
      ],
    });
    expect(slurm.targets?.verify.dependsOn).toEqual([
      { target: 'verify-deb', params: 'forward' },
      { target: 'verify-tarball', params: 'forward' },
    ]);
    expect(slurm.targets?.['verify-deb'].dependsOn).toEqual([
      { target: 'verify-deb-bookworm', params: 'forward' },
      { target: 'verify-deb-trixie', params: 'forward' },
    ]);
  });

  it("follows the workspace's suites, narrowed by the recipe, and proves a package with its own verify executor", () => {
    expect(Object.keys(beegfs.targets ?? {}).filter((t) => t.includes('deb'))).toEqual(['deb-bookworm', 'deb', 'verify-deb-bookworm', 'verify-deb']);
    expect(beegfs.targets?.['deb-bookworm'].dependsOn).toEqual(['fetch', { projects: ['debian-bookworm'], target: 'image' }]);
    expect(beegfs.implicitDependencies).toEqual(['@pharos/nx-plugin', 'debian-bookworm']);
    expect(beegfs.targets?.['verify-deb-bookworm']).toMatchObject({
      executor: '@pharos/nx-plugin:beegfs-verify',
      options: { suite: 'bookworm', products: ['deb'] },
    });
    expect(beegfs.targets?.['verify-deb-bookworm'].inputs).toContain('{workspaceRoot}/packages/nx-pharos/src/executors/beegfs-verify/services-check.sh');
    expect(beegfs.targets?.tarball).toBeUndefined();
    expect(beegfs.targets?.test.dependsOn).toEqual([{ target: 'verify', params: 'forward' }]);
    expect(slurm.targets?.build.dependsOn).toEqual([
      { target: 'deb', params: 'forward' },
      { target: 'tarball', params: 'forward' },
    ]);
    // The recipe's deb section and requirements reach the deb key through the recipe-sources runtime input.
    expect(beegfs.targets?.['deb-bookworm'].inputs).toContainEqual({
      runtime: 'node packages/nx-pharos/bin/pharos.cjs recipe-sources third-party/beegfs/recipe.yaml',
    });
    const sid = inferSourceBuildProject('third-party/slurm/recipe.yaml', recipe('', 'slurm'), true, ['bookworm', 'sid']);
    expect(Object.keys(sid.targets ?? {}).filter((t) => t.startsWith('deb-'))).toEqual(['deb-bookworm', 'deb-sid']);
    expect(sid.targets?.tarball.options.suite).toBe('bookworm');
  });

  it('proves Apptainer with its own verify executor, keyed on its check script', () => {
    const apptainer = inferSourceBuildProject('third-party/apptainer/recipe.yaml', recipe('deb:\n  suites: [bookworm]\n', 'apptainer'), false, SUITES);
    expect(apptainer.targets?.['verify-deb-bookworm']).toMatchObject({
      executor: '@pharos/nx-plugin:apptainer-verify',
      options: { suite: 'bookworm', products: ['deb'] },
      dependsOn: [
        { target: 'deb-bookworm', params: 'forward' },
        { projects: ['debian-bookworm'], target: 'image' },
      ],
    });
    const inputs = apptainer.targets?.['verify-deb-bookworm'].inputs ?? [];
    for (const f of ['executors/apptainer-verify/deb-check.sh', 'lib/source-build/install-debs.sh', 'executors/apptainer-verify/schema.json']) {
      expect(inputs).toContain(`{workspaceRoot}/packages/nx-pharos/src/${f}`);
    }
    // Packaging, patches (by digest), buildFrom and unprivileged reach the deb key through recipe-sources.
    expect(apptainer.targets?.['deb-bookworm'].inputs).toContainEqual({
      runtime: 'node packages/nx-pharos/bin/pharos.cjs recipe-sources third-party/apptainer/recipe.yaml',
    });
  });

  it('keys each target on the source its executor really imports, scripts included', () => {
    const inputs = slurm.targets?.['deb-trixie'].inputs ?? [];
    for (const f of ['executors/deb/schema.json', 'tools/dpkg.ts', 'tools/dpkg-build.sh', 'lib/source-build/normalize-options.ts', 'products/debs.ts']) {
      expect(inputs).toContain(`{workspaceRoot}/packages/nx-pharos/src/${f}`);
    }
    expect(slurm.targets?.tarball.inputs).toContain('{workspaceRoot}/packages/nx-pharos/src/lib/source-build/tarball-build.sh');
    // A script only the tarball runs is not in the .deb build's key: editing it must not rebuild the packages.
    expect(inputs).not.toContain('{workspaceRoot}/packages/nx-pharos/src/lib/source-build/tarball-build.sh');
  });

  it('gives a package without a verify executor of its own no verify targets, and tests it by building it', () => {
    const hello = inferSourceBuildProject('third-party/hello/recipe.yaml', recipe('deb:\n  suites: [trixie]\n', 'hello'), true, SUITES);
    expect(Object.keys(hello.targets ?? {}).sort()).toEqual(['build', 'deb', 'deb-trixie', 'fetch', 'tarball', 'test']);
    expect(hello.targets?.test.dependsOn).toEqual([{ target: 'build', params: 'forward' }]);
  });
});

import { describe, expect, it } from 'vitest';
import { parseError } from '../testing/parse-error';
import { componentsNotOn, hasPinnedSource, parseSourceRecipe, recipeVariants, recipeVersion, tarballComponents } from './source-recipe';

const FILE = 'third-party/x/recipe.yaml';
const SHA = 'a'.repeat(64);
const RECIPE = `name: x
defaultVersion: "1.0"
versions:
  "1.0":
    sources:
      - kind: debian-orig
        package: x
        file: x_1.0.orig.tar.gz
        sha256: ${SHA}
      - kind: url
        url: https://example.org/x-1.0.tar.bz2
        sha256: unpinned
    configureFlags: [--without-foo]
  "2.0":
    sources:
      - kind: url
        url: file:///srv/x-2.0.tar.gz
        sha256: ${SHA}
`;

const errorOf = (text: string) => parseError(parseSourceRecipe, text, FILE);

describe('recipe.yaml', () => {
  it('reads versions, pinned and unpinned sources, and configure flags', () => {
    const r = parseSourceRecipe(RECIPE, FILE);
    expect(r.defaultVersion).toBe('1.0');
    expect(r.versions['1.0'].sources).toEqual([
      { file: 'x_1.0.orig.tar.gz', sha256: SHA, location: { kind: 'debian-orig', package: 'x' }, note: undefined },
      { file: 'x-1.0.tar.bz2', sha256: undefined, location: { kind: 'url', url: 'https://example.org/x-1.0.tar.bz2' }, note: undefined },
    ]);
    expect(r.versions['1.0'].configureFlags).toEqual(['--without-foo']);
    expect(r.versions['2.0'].sources[0].file).toBe('x-2.0.tar.gz');
  });

  it('lists the known versions when asked for another', () => {
    const r = parseSourceRecipe(RECIPE, FILE);
    expect(recipeVersion(r, undefined, FILE).version).toBe('1.0');
    expect(() => recipeVersion(r, '3.0', FILE)).toThrow('unknown x version 3.0 (known: 1.0, 2.0)');
  });

  it('names the line of a bad digest and of an unknown key', () => {
    const bad = errorOf(RECIPE.replace(`sha256: ${SHA}\n      - kind: url`, 'sha256: abc\n      - kind: url'));
    expect(bad.message).toContain('must be 64 lower-case hex digits');
    expect(bad.details.line).toBe(9);
    const unknown = errorOf(RECIPE.replace('    configureFlags:', '    configurFlags:'));
    expect(unknown.message).toContain('unknown key "versions.1.0.configurFlags"');
    expect(unknown.details.line).toBe(13);
  });

  it('reads build variants and refuses one the recipe does not define', () => {
    const text = `${RECIPE}variants:
  gpu:
    configureFlags: [--with-nvml]
    buildPackages: [libnvidia-ml-dev]
    aptComponents: [contrib, non-free]
  minimal:
    configureFlags: [--disable-sview]
`;
    const r = parseSourceRecipe(text, FILE);
    expect(recipeVariants(r, ['minimal', 'gpu'], FILE)).toEqual([
      { name: 'gpu', configureFlags: ['--with-nvml'], buildPackages: ['libnvidia-ml-dev'], aptComponents: ['contrib', 'non-free'], withoutComponents: [] },
      { name: 'minimal', configureFlags: ['--disable-sview'], buildPackages: [], aptComponents: [], withoutComponents: [] },
    ]);
    expect(recipeVariants(r, [], FILE)).toEqual([]);
    expect(() => recipeVariants(r, ['rocm'], FILE)).toThrow('x has no build variant "rocm" (known: gpu, minimal)');
    const injected = errorOf(text.replace('[libnvidia-ml-dev]', '["libnvidia-ml-dev; rm -rf /"]'));
    expect(injected.message).toBe('"variants.gpu.buildPackages[0]" must be a Debian package or component name, got "libnvidia-ml-dev; rm -rf /"');
    expect(injected.details.line).toBe(22);
    expect(errorOf(text.replace('    aptComponents:', '    components:')).message).toContain('unknown key "variants.gpu.components"');
  });

  it('reads how the .debs are built and what a version needs, or names the bad key', () => {
    const r = parseSourceRecipe(RECIPE, FILE);
    expect(r.deb).toEqual({ build: 'dpkg-buildpackage', buildPackages: [] });
    expect(r.versions['1.0'].requires).toEqual([]);
    const beegfs = parseSourceRecipe(
      `${RECIPE}deb:
  build: make-package-deb
  versionVariable: BEEGFS_VERSION
  buildPackages: [xfslibs-dev, uuid-dev]
  suites: [bookworm]
`.replace('    configureFlags: [--without-foo]', '    requires:\n      - { command: go, minimum: "1.26", for: the beegfs CLI, versionCommand: go version }'),
      FILE,
    );
    expect(beegfs.deb).toEqual({
      build: 'make-package-deb',
      versionVariable: 'BEEGFS_VERSION',
      buildPackages: ['xfslibs-dev', 'uuid-dev'],
      suites: ['bookworm'],
    });
    expect(beegfs.versions['1.0'].requires).toEqual([{ command: 'go', minimum: '1.26', for: 'the beegfs CLI', versionCommand: 'go version' }]);
    const badBuild = errorOf(`${RECIPE}deb:\n  build: cmake\n`);
    expect(badBuild.message).toContain('"deb.build" must be one of dpkg-buildpackage, make-package-deb, got "cmake"');
    expect(badBuild.details.line).toBe(20);
    expect(errorOf(`${RECIPE}deb:\n  suites: []\n`).message).toContain('"deb.suites" must name at least one suite');
    expect(errorOf(`${RECIPE}deb:\n  versionVariable: V\n`).message).toContain('"deb.versionVariable" is for make-package-deb builds');
    expect(errorOf(RECIPE.replace('    configureFlags: [--without-foo]', '    requires:\n      - { command: cargo }')).message).toBe(
      '"versions.1.0.requires[0]" lacks "minimum"',
    );
  });

  it("reads a version's packaging tarball, from Debian's pool or a URL, and none by default", () => {
    expect(parseSourceRecipe(RECIPE, FILE).versions['1.0'].packaging).toEqual([]);
    const text = RECIPE.replace(
      '    configureFlags: [--without-foo]',
      `    packaging:
      - kind: debian-pool
        package: x
        file: x_1.0-2.debian.tar.xz
        sha256: ${SHA}
      - kind: url
        url: https://example.org/x_1.0-2.debian.tar.xz
        sha256: unpinned`,
    );
    expect(parseSourceRecipe(text, FILE).versions['1.0'].packaging).toEqual([
      { file: 'x_1.0-2.debian.tar.xz', sha256: SHA, location: { kind: 'debian-pool', package: 'x' }, note: undefined },
      { file: 'x_1.0-2.debian.tar.xz', sha256: undefined, location: { kind: 'url', url: 'https://example.org/x_1.0-2.debian.tar.xz' }, note: undefined },
    ]);
    const noFile = errorOf(text.replace('        file: x_1.0-2.debian.tar.xz\n', ''));
    expect(noFile.message).toBe('"versions.1.0.packaging[0]" is a debian-pool source and needs "package" and "file"');
    expect(noFile.details.line).toBe(14);
    expect(errorOf(text.replace(/ {4}packaging:\n[^]*?sha256: unpinned/, '    packaging: []')).message).toContain(
      '"versions.1.0.packaging" must list at least one source of the packaging tarball',
    );
  });

  it("reads a version's patches, inside the recipe's folder only", () => {
    expect(parseSourceRecipe(RECIPE, FILE).versions['1.0'].patches).toEqual([]);
    const text = RECIPE.replace('    configureFlags: [--without-foo]', '    patches: [patches/fix-a.patch, patches/1.0/b+c.diff]');
    expect(parseSourceRecipe(text, FILE).versions['1.0'].patches).toEqual(['patches/fix-a.patch', 'patches/1.0/b+c.diff']);
    for (const outside of ['/etc/passwd', '../slurm/x.patch', 'patches/../../x.patch', 'patches/a b.patch']) {
      const e = errorOf(text.replace('patches/fix-a.patch', JSON.stringify(outside)));
      expect(e.message).toBe(`"versions.1.0.patches[0]" must be a path inside the recipe's folder, got ${JSON.stringify(outside)}`);
      expect(e.details.line).toBe(13);
    }
  });

  it('reads the suites a build may take named build dependencies from, and an unprivileged build', () => {
    const text = `${RECIPE}deb:
  suites: [bookworm]
  unprivileged: true
  buildFrom:
    - suite: sid
      packages: [golang-*, tzdata-legacy]
      note: newer than the suite's
    - suite: bookworm-backports
      packages: [dh-golang]
`;
    expect(parseSourceRecipe(text, FILE).deb).toEqual({
      build: 'dpkg-buildpackage',
      buildPackages: [],
      suites: ['bookworm'],
      buildFrom: [
        { suite: 'sid', packages: ['golang-*', 'tzdata-legacy'] },
        { suite: 'bookworm-backports', packages: ['dh-golang'] },
      ],
      unprivileged: true,
    });
    // A pattern is written into apt's preferences: nothing may end its line.
    const injected = errorOf(text.replace('[dh-golang]', '["dh-golang\\nPin-Priority: 1001"]'));
    expect(injected.message).toBe(
      '"deb.buildFrom[1].packages[0]" must be a Debian package name, or a pattern such as golang-*, got "dh-golang\\nPin-Priority: 1001"',
    );
    expect(injected.details.line).toBe(27);
    expect(errorOf(text.replace('bookworm-backports', 'sid')).message).toBe('"deb.buildFrom" names sid twice: list its packages once');
    expect(errorOf(text.replace('bookworm-backports', 'sid')).details.line).toBe(26);
    expect(errorOf(text.replace('[dh-golang]', '[]')).message).toContain('"deb.buildFrom[1].packages" must name at least one package');
    expect(errorOf(text.replace('    - suite: sid\n', '    - suit: sid\n')).message).toContain('unknown key "deb.buildFrom[0].suit"');
    expect(errorOf(`${RECIPE}deb:\n  build: make-package-deb\n  unprivileged: true\n`).message).toBe('"deb.unprivileged" is for dpkg-buildpackage builds');
  });

  it('reads whether the images may go without the package, and why; a recipe says nothing by default', () => {
    expect(parseSourceRecipe(RECIPE, FILE).optional).toBeUndefined();
    expect(parseSourceRecipe(`optional:\n  why: the shared file system\n${RECIPE}`, FILE).optional).toEqual({ why: 'the shared file system' });
    expect(errorOf(`optional: true\n${RECIPE}`).message).toContain('"optional"');
    expect(errorOf(`optional: {}\n${RECIPE}`).message).toBe('"optional" lacks "why"');
    expect(errorOf(`optional: {}\n${RECIPE}`).details.line).toBe(1);
  });

  it('calls a version pinned when any of its sources has a digest', () => {
    const r = parseSourceRecipe(RECIPE, FILE);
    expect(hasPinnedSource(r.versions['1.0'].sources)).toBe(true);
    expect(hasPinnedSource(r.versions['1.0'].sources.slice(1))).toBe(false);
  });

  it('reads the tarball components, which the variants that leave them out drop, or names the bad key', () => {
    const text = `${RECIPE}variants:
  gpu:
    configureFlags: [--with-nvml]
  minimal:
    withoutComponents: [openmpi]
tarball:
  components:
    - name: openmpi
      version: 5.0.7
      sources:
        - kind: debian-orig
          package: openmpi
          file: openmpi_5.0.7.orig.tar.xz
          sha256: ${SHA}
      buildPackages: [libpmix-dev]
      configureFlags: [--with-slurm, --with-pmix=external]
      suites: [trixie]
    - name: extra
      version: "1.0"
      sources:
        - kind: url
          url: file:///srv/extra-1.0.tar.gz
          sha256: unpinned
`;
    const r = parseSourceRecipe(text, FILE);
    const openmpi = {
      name: 'openmpi',
      version: '5.0.7',
      sources: [{ file: 'openmpi_5.0.7.orig.tar.xz', sha256: SHA, location: { kind: 'debian-orig', package: 'openmpi' }, note: undefined }],
      buildPackages: ['libpmix-dev'],
      configureFlags: ['--with-slurm', '--with-pmix=external'],
      suites: ['trixie'],
    };
    expect(r.components[0]).toEqual(openmpi);
    expect(r.components[1]).toMatchObject({ name: 'extra', version: '1.0', buildPackages: [], configureFlags: [] });
    expect(r.components[1].suites).toBeUndefined();
    expect(r.components[1].sources[0]).toMatchObject({ file: 'extra-1.0.tar.gz', sha256: undefined });
    // The default build and gpu keep every component; minimal leaves Open MPI out, and so does a suite it is not for.
    expect(tarballComponents(r, [], 'trixie').map((c) => c.name)).toEqual(['openmpi', 'extra']);
    expect(tarballComponents(r, recipeVariants(r, ['gpu'], FILE), 'trixie').map((c) => c.name)).toEqual(['openmpi', 'extra']);
    expect(tarballComponents(r, recipeVariants(r, ['minimal', 'gpu'], FILE), 'trixie').map((c) => c.name)).toEqual(['extra']);
    expect(tarballComponents(r, [], 'bookworm').map((c) => c.name)).toEqual(['extra']);
    expect(componentsNotOn(r, 'bookworm').map((c) => c.name)).toEqual(['openmpi']);
    expect(componentsNotOn(r, 'trixie')).toEqual([]);
    expect(errorOf(text.replace('suites: [trixie]', 'suites: []')).message).toBe('"tarball.components[0].suites" must name at least one suite');
    expect(parseSourceRecipe(RECIPE, FILE).components).toEqual([]);

    const unknown = errorOf(text.replace('withoutComponents: [openmpi]', 'withoutComponents: [mpich]'));
    expect(unknown.message).toBe('variant minimal leaves out "mpich", which is not a tarball component (known: openmpi, extra)');
    expect(unknown.details.line).toBe(23);
    expect(errorOf(text.replace('name: extra', 'name: openmpi')).message).toBe(
      '"tarball.components" names openmpi twice for the same suite (give each entry of openmpi its own "suites")',
    );
    // A version per suite: bookworm builds the other openmpi, so it goes without none.
    const perSuite = parseSourceRecipe(
      text.replace('name: extra', 'name: openmpi').replace(/(url: file:\/\/\/srv\/extra-1.0.tar.gz\n.*\n)/, '$1      suites: [bookworm]\n'),
      FILE,
    );
    expect(tarballComponents(perSuite, [], 'bookworm').map((c) => `${c.name} ${c.version}`)).toEqual(['openmpi 1.0']);
    expect(tarballComponents(perSuite, [], 'trixie').map((c) => `${c.name} ${c.version}`)).toEqual(['openmpi 5.0.7']);
    expect(componentsNotOn(perSuite, 'bookworm')).toEqual([]);
    expect(tarballComponents(perSuite, recipeVariants(perSuite, ['minimal'], FILE), 'bookworm')).toEqual([]);
    expect(errorOf(text.replace('name: extra', 'name: Extra MPI')).message).toContain('"tarball.components[1].name" must be a lower-case name');
    const noSource = errorOf(text.replace(/ {6}sources:\n {8}- kind: url[^]*$/, '      sources: []\n'));
    expect(noSource.message).toBe('"tarball.components[1].sources" must list at least one source');
    expect(errorOf(text.replace('      buildPackages:', '      packages:')).message).toContain('unknown key "tarball.components[0].packages"');
    expect(errorOf(text.replace('          package: openmpi\n', '')).message).toBe(
      '"tarball.components[0].sources[0]" is a debian-orig source and needs "package" and "file"',
    );
  });
});

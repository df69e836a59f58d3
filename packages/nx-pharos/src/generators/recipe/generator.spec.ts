import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { describe, expect, it } from 'vitest';
import { parseSourceRecipe } from '../../definitions/source-recipe';
import { inferSourceBuildProject } from '../../plugin/infer-source-build';
import { parseDsc, recipeSourcesOf } from './dsc';
import { recipeGenerator, type DscReader } from './generator';

// hello 2.10-3's .dsc as bookworm's pool serves it (its signature cut short): the generator's only input from the network.
const HELLO_DSC = `-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA256

Format: 3.0 (quilt)
Source: hello
Binary: hello
Architecture: any
Version: 2.10-3
Build-Depends: debhelper-compat (= 13), help2man, texinfo
Package-List:
 hello deb devel optional arch=any
Checksums-Sha1:
 f7bebf6f9c62a2295e889f66e05ce9bfaed9ace3 725946 hello_2.10.orig.tar.gz
Checksums-Sha256:
 31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b 725946 hello_2.10.orig.tar.gz
 4ea69de913428a4034d30dcdcb34ab84f5c4a76acf9040f3091f0d3fac411b60 819 hello_2.10.orig.tar.gz.asc
 60ee7a466808301fbaa7fea2490b5e7a6d86f598956fb3e79c71b3295dc1f249 12684 hello_2.10-3.debian.tar.xz
Files:
 6cd0ffea3884a4e79330338dcc2987d6 725946 hello_2.10.orig.tar.gz

-----BEGIN PGP SIGNATURE-----
iQIzBAEBCAAdFiEE
-----END PGP SIGNATURE-----
`;

const fixtureDsc = (text = HELLO_DSC): DscReader & { asked: string[] } => {
  const asked: string[] = [];
  return Object.assign(async (pkg: string, file: string) => (asked.push(`${pkg} ${file}`), text), { asked });
};

describe('recipe generator', () => {
  it('writes a recipe pinned from the .dsc, narrowed to one suite, whose test is deb-verify with the check', async () => {
    const tree = createTreeWithEmptyWorkspace();
    const read = fixtureDsc();
    await recipeGenerator(tree, { name: 'hello', debianVersion: '2.10-3', suite: 'trixie', check: 'hello', expectOutput: 'Hello, world!' }, read);
    expect(read.asked).toEqual(['hello hello_2.10-3.dsc']);
    const text = tree.read('third-party/hello/recipe.yaml', 'utf8') as string;
    const recipe = parseSourceRecipe(text, 'third-party/hello/recipe.yaml');
    expect(recipe.defaultVersion).toBe('2.10');
    expect(recipe.deb.suites).toEqual(['trixie']);
    expect(recipe.versions['2.10'].sources).toEqual([
      {
        file: 'hello_2.10.orig.tar.gz',
        sha256: '31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b',
        location: { kind: 'debian-orig', package: 'hello' },
      },
    ]);
    expect(recipe.versions['2.10'].packaging).toEqual([
      {
        file: 'hello_2.10-3.debian.tar.xz',
        sha256: '60ee7a466808301fbaa7fea2490b5e7a6d86f598956fb3e79c71b3295dc1f249',
        location: { kind: 'debian-pool', package: 'hello' },
      },
    ]);
    expect(recipe.verify).toEqual({ checks: [{ name: 'hello works', command: 'hello', expectOutput: 'Hello, world!' }] });
    const project = inferSourceBuildProject('third-party/hello/recipe.yaml', recipe, false, ['bookworm', 'trixie']);
    expect(project.targets?.['verify-deb-trixie']?.executor).toBe('@pharos/nx-plugin:deb-verify');
    expect(project.targets?.['verify-deb-trixie']?.inputs).toContain('{projectRoot}/recipe.yaml');
    expect(project.targets?.test?.dependsOn).toEqual([{ target: 'verify', params: 'forward' }]);
    expect(Object.keys(project.targets ?? {}).filter((t) => t.includes('bookworm'))).toEqual([]);
  });

  it("checks the first binary's installed version by default, for every suite", async () => {
    const tree = createTreeWithEmptyWorkspace();
    await recipeGenerator(tree, { name: 'greeter', debianPackage: 'hello', debianVersion: '2.10-3' }, fixtureDsc());
    const recipe = parseSourceRecipe(tree.read('third-party/greeter/recipe.yaml', 'utf8') as string, 'recipe.yaml');
    expect(recipe.name).toBe('greeter');
    expect(recipe.deb.suites).toBeUndefined();
    expect(recipe.verify?.checks).toEqual([
      { name: 'hello 2.10-3 is installed from the .debs built here', command: "dpkg-query -W -f='${Version}' hello", expectOutput: '2.10-3' },
    ]);
  });

  it('refuses bad names, versions, an existing folder and a .dsc of another version, naming what to do', async () => {
    const tree = createTreeWithEmptyWorkspace();
    const gen = (o: Partial<Parameters<typeof recipeGenerator>[1]>, text?: string) =>
      recipeGenerator(tree, { name: 'hello', debianVersion: '2.10-3', ...o }, fixtureDsc(text));
    await expect(gen({ name: 'Hello World' })).rejects.toThrow(/recipe name "Hello World" must be lower case/);
    await expect(gen({ debianVersion: 'latest' })).rejects.toThrow(/not a Debian version such as 2.10-3 \(apt-cache showsrc hello/);
    await expect(gen({ suite: 'Trixie' })).rejects.toThrow(/--suite "Trixie"/);
    await expect(gen({ expectOutput: 'x' })).rejects.toThrow(/--expect-output goes with --check/);
    await expect(gen({}, HELLO_DSC.replace('Version: 2.10-3', 'Version: 2.10-2'))).rejects.toThrow('hello_2.10-3.dsc is hello 2.10-2, not hello 2.10-3');
    await gen({});
    await expect(gen({})).rejects.toThrow('third-party/hello already exists; choose another name or remove it first');
  });
});

describe('.dsc', () => {
  it('gives a native package one source carrying debian/, and refuses a 1.0 format', () => {
    const native = parseDsc(
      'Format: 3.0 (native)\nSource: t\nBinary: t, t-doc\nVersion: 1.2\nChecksums-Sha256:\n ' + 'a'.repeat(64) + ' 10 t_1.2.tar.xz\n',
      't.dsc',
    );
    expect(native.binaries).toEqual(['t', 't-doc']);
    expect(recipeSourcesOf(native, 't.dsc')).toEqual({ source: { kind: 'debian-pool', file: 't_1.2.tar.xz', sha256: 'a'.repeat(64) } });
    const old = parseDsc('Format: 1.0\nSource: t\nBinary: t\nVersion: 1.2-1\nChecksums-Sha256:\n ' + 'a'.repeat(64) + ' 10 t_1.2-1.diff.gz\n', 't.dsc');
    expect(() => recipeSourcesOf(old, 't.dsc')).toThrow('t.dsc: source format "1.0" is not supported');
    expect(() => parseDsc('not a dsc\n', 'x.dsc')).toThrow('x.dsc: no Checksums-Sha256 field');
  });
});

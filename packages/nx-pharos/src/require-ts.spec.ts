import { transformSync } from '@swc/core';
import { execa } from 'execa';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** require-ts.cjs, without register(): the hook would be this worker's, and the unit specs share their workers. */
const { compile, OPTIONS } = createRequire(__filename)('../require-ts.cjs') as {
  compile: (source: string, filename: string, cacheDir?: string) => string;
  OPTIONS: { jsc: { target: string; transform: { useDefineForClassFields: boolean } }; module: { type: string } };
};

const WORKSPACE = resolve(__dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'pharos-require-ts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SOURCE = "import { join } from 'node:path';\nexport class A { n: number = 1; }\nexport const f = (x: string): string => join(x, 'y');\n";

describe('require-ts.cjs', () => {
  it('compiles as tsconfig.base.json says the source is compiled (its target and module kind)', () => {
    const { compilerOptions } = JSON.parse(readFileSync(join(WORKSPACE, 'tsconfig.base.json'), 'utf8'));
    expect(OPTIONS.jsc.target).toBe(compilerOptions.target.toLowerCase());
    expect(OPTIONS.module.type).toBe(compilerOptions.module.toLowerCase());
    expect(compilerOptions.esModuleInterop).toBe(true); // swc's CommonJS interop, which OPTIONS leaves on
    // TypeScript's default for an ES2022 target, so a class field means what tsc checked.
    expect(OPTIONS.jsc.transform.useDefineForClassFields).toBe(true);
  });

  it("gives @swc/core's output, then the same from its cache, and compiles a changed file afresh", () => {
    const cache = join(dir, 'cache');
    const file = join(dir, 'a.ts');
    const expected = transformSync(SOURCE, { ...OPTIONS, filename: file } as Parameters<typeof transformSync>[1]).code;
    expect(compile(SOURCE, file, cache)).toBe(expected);
    const [entry] = readdirSync(cache);
    expect(readFileSync(join(cache, entry), 'utf8')).toBe(expected);
    expect(compile(SOURCE, file, cache)).toBe(expected);
    expect(readdirSync(cache)).toHaveLength(1);

    const changed = SOURCE.replace("'y'", "'z'");
    expect(compile(changed, file, cache)).toContain("'z'");
    // The same text at another path is another entry: the inline source map names the file.
    compile(SOURCE, join(dir, 'b.ts'), cache);
    expect(readdirSync(cache)).toHaveLength(3);
  });

  it('compiles when its cache folder cannot be written, and says nothing', () => {
    const blocked = join(dir, 'not-a-folder');
    writeFileSync(blocked, '');
    expect(compile(SOURCE, join(dir, 'c.ts'), join(blocked, 'cache'))).toContain('class A');
  });

  it('bin/pharos.cjs prints a runtime input, and nothing on stderr (Nx hashes both)', async () => {
    const env = { ...process.env, PHAROS_DEBIAN_MIRROR: 'http://mirror.example/debian' };
    const r = await execa('node', ['packages/nx-pharos/bin/pharos.cjs', 'debian-mirror'], { cwd: WORKSPACE, env, reject: false });
    expect(r).toMatchObject({ exitCode: 0, stdout: 'http://mirror.example/debian', stderr: '' });
  });
});

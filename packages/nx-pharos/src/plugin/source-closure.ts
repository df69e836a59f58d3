import { posix } from 'node:path';

/**
 * The plugin's own source files a module runs: itself and every module it imports, transitively (static, type-only,
 * dynamic `import()` and `require` of relative paths). Package imports are left to Nx's externalDependencies inputs.
 * Pure: `read` returns a file's text, or undefined when there is no such file.
 */
export function moduleClosure(entry: string, read: (path: string) => string | undefined): string[] {
  const seen = new Set<string>();
  const queue = [posix.normalize(entry)];
  while (queue.length) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    const text = read(file);
    if (text === undefined) throw new Error(`${file}: no such module (imported by the plugin's own source)`);
    seen.add(file);
    for (const spec of relativeImports(text)) queue.push(resolveModule(posix.dirname(file), spec, read));
  }
  return [...seen].sort();
}

const IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;

const SCRIPT = /\bjoin\(\s*__dirname\s*,\s*['"]([^'"]+\.(?:sh|c))['"]\s*\)/g;

/**
 * The shell scripts a module runs (and C sources it compiles in a container): by convention a file beside it, named as
 * `join(__dirname, '<name>.sh')`.
 */
export function scriptsBeside(text: string): string[] {
  return [...text.matchAll(SCRIPT)].map((m) => m[1]);
}

export function relativeImports(text: string): string[] {
  return [...text.matchAll(IMPORT)].map((m) => m[1]);
}

function resolveModule(dir: string, spec: string, read: (path: string) => string | undefined): string {
  const base = posix.normalize(posix.join(dir, spec));
  const candidates = [base, `${base}.ts`, `${base}/index.ts`];
  return candidates.find((c) => c.endsWith('.ts') && read(c) !== undefined) ?? `${base}.ts`;
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { moduleClosure, relativeImports, scriptsBeside } from './source-closure';

describe('moduleClosure', () => {
  const tree: Record<string, string> = {
    'executors/deb/executor.ts':
      "import { a } from '../../tools/a';\nimport type { T } from '../../products/t';\nimport x from 'execa';\nconst b = () => import('./b');\n",
    'executors/deb/b.ts': "export const b = require('../../utils/c');\n",
    'tools/a.ts': "import { c } from '../utils/c';\nimport { d } from '../lib/d';\n",
    'products/t.ts': 'export type T = 1;\n',
    'utils/c.ts': 'export const c = 1;\n',
    'lib/d/index.ts': "export { c } from '../../utils/c';\n",
  };
  const read = (p: string) => tree[p];

  it('follows static, type-only, dynamic and require imports to every module, once', () => {
    expect(moduleClosure('executors/deb/executor.ts', read)).toEqual([
      'executors/deb/b.ts',
      'executors/deb/executor.ts',
      'lib/d/index.ts',
      'products/t.ts',
      'tools/a.ts',
      'utils/c.ts',
    ]);
  });

  it('names a module that does not exist', () => {
    expect(() => moduleClosure('tools/a.ts', (p) => (p === 'tools/a.ts' ? "import '../gone';\n" : undefined))).toThrow('gone.ts: no such module');
  });

  it('sees every relative import of the real plugin source', () => {
    const src = join(__dirname, '..');
    const text = readFileSync(join(src, 'executors/deb/executor.ts'), 'utf8');
    const specs = relativeImports(text);
    expect(specs.length).toBe((text.match(/^import .* from '\.{1,2}\//gm) ?? []).length);
  });

  it('finds the scripts a module runs beside it, and only those', () => {
    const text = "export const A = join(__dirname, 'a-check.sh');\nconst B = join( __dirname , \"b.sh\" );\nconst c = 'c.sh';\n";
    expect(scriptsBeside(text)).toEqual(['a-check.sh', 'b.sh']);
  });
});

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatError } from '../utils/errors';
import { readManifest, writeManifest } from './manifest';

const KIND = { what: 'widget', required: ['file', 'sha256'] };
const shown = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return formatError(err);
  }
  throw new Error('expected an error');
};

describe('product manifests', () => {
  const ws = mkdtempSync(join(tmpdir(), 'pharos-manifest-'));
  const file = join(ws, 'dist/w/widget.json');

  it('names the task that makes a missing manifest', () => {
    expect(shown(() => readManifest(file, ws, KIND, 'w:build'))).toBe('pharos: dist/w/widget.json: no widget manifest\n  next: build it: npx nx run w:build');
  });

  it('round-trips what it writes, and says to rebuild a damaged one', async () => {
    await writeManifest(file, { schema: 1, file: 'w.bin', sha256: 'ab' });
    expect(readFileSync(file, 'utf8')).toBe('{\n  "schema": 1,\n  "file": "w.bin",\n  "sha256": "ab"\n}\n');
    expect(readManifest(file, ws, KIND, 'w:build')).toEqual({ schema: 1, file: 'w.bin', sha256: 'ab' });
    writeFileSync(file, '{"schema": 1, "file": "w.bin"}');
    expect(shown(() => readManifest(file, ws, KIND, 'w:build'))).toBe(
      'pharos: dist/w/widget.json: widget manifest lacks "sha256"\n  next: rebuild it: npx nx run w:build --skip-nx-cache',
    );
    writeFileSync(file, '{"schema": 2, "file": "w.bin", "sha256": "ab"}');
    expect(shown(() => readManifest(file, ws, KIND))).toMatch(/unsupported manifest schema 2\n {2}next: rebuild the widget target that writes it$/);
    writeFileSync(file, '{');
    expect(shown(() => readManifest(file, ws, KIND))).toMatch(/^pharos: dist\/w\/widget.json: not valid JSON/);
  });
});

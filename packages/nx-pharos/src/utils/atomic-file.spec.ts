import { execa } from 'execa';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeAtomically } from './atomic-file';

describe('writeAtomically', () => {
  it('renames into place only on success, and leaves nothing on failure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    await writeAtomically(join(dir, 'ok.txt'), async (tmp) => {
      await import('node:fs/promises').then((fs) => fs.writeFile(tmp, 'done'));
    });
    expect(readFileSync(join(dir, 'ok.txt'), 'utf8')).toBe('done');
    await expect(
      writeAtomically(join(dir, 'bad.txt'), async (tmp) => {
        await import('node:fs/promises').then((fs) => fs.writeFile(tmp, 'half'));
        throw new Error('producer failed');
      }),
    ).rejects.toThrow('producer failed');
    expect(readdirSync(dir)).toEqual(['ok.txt']);
  });

  it('removes the temporary file when the process gets SIGINT mid-write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-sigint-'));
    const script = `
      const { writeAtomically } = require(${JSON.stringify(resolve(__dirname, 'atomic-file.ts'))});
      writeAtomically(${JSON.stringify(join(dir, 'image.tar'))}, async (tmp) => {
        require('node:fs').writeFileSync(tmp, 'partial');
        console.log('ready');
        setInterval(() => undefined, 1000); // pending work, as a real producer's I/O would be
        await new Promise(() => undefined);
      });`;
    const child = execa('node', ['-r', '@swc-node/register', '-e', script], { reject: false, cwd: resolve(__dirname, '../../../..') });
    await new Promise<void>((ready) => child.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && ready()));
    expect(readdirSync(dir)).toHaveLength(1); // the temporary file exists while the write is under way
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(130);
    expect(readdirSync(dir)).toEqual([]);
    expect(existsSync(join(dir, 'image.tar'))).toBe(false);
  });
});

import { execa } from 'execa';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nextProduct, writeAtomically } from './atomic-file';
import { treeOwner } from './leftovers';

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

describe('nextProduct', () => {
  const current = (dir: string) => {
    writeFileSync(join(dir, '1.sqf'), 'old sqf');
    writeFileSync(join(dir, '1.sqf.json'), 'old manifest');
    return [join(dir, '1.sqf'), join(dir, '1.sqf.json')];
  };

  it('writes beside the current product under owned names, and replaces it only on publish()', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'next-'));
    const [sqf, manifest] = current(dir);
    const next = await nextProduct([sqf, manifest]);
    expect(basename(next.path(sqf))).toMatch(/^1\.sqf\.new-p\d+@[0-9a-f]{4}-[0-9a-f]{6}$/);
    expect(treeOwner(basename(next.path(sqf)))).toBe(process.pid); // the next run removes it once this process has ended
    writeFileSync(next.path(sqf), 'new sqf');
    expect(() => next.publish()).toThrow(`nothing was written for ${manifest}`);
    expect([readFileSync(sqf, 'utf8'), readFileSync(manifest, 'utf8')]).toEqual(['old sqf', 'old manifest']);
    writeFileSync(next.path(manifest), 'new manifest');
    next.publish();
    await next.discard();
    expect([readFileSync(sqf, 'utf8'), readFileSync(manifest, 'utf8')]).toEqual(['new sqf', 'new manifest']);
    expect(readdirSync(dir).sort()).toEqual(['1.sqf', '1.sqf.json']);
  });

  it('removes the new files and keeps the current product on a failure or on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'next-fail-'));
    const [sqf, manifest] = current(dir);
    const next = await nextProduct([sqf, manifest]);
    writeFileSync(next.path(sqf), 'half');
    await next.discard();
    expect(readdirSync(dir).sort()).toEqual(['1.sqf', '1.sqf.json']);

    const script = `
      const { nextProduct } = require(${JSON.stringify(resolve(__dirname, 'atomic-file.ts'))});
      nextProduct(${JSON.stringify([sqf, manifest])}).then((next) => {
        require('node:fs').writeFileSync(next.path(${JSON.stringify(sqf)}), 'partial');
        console.log('ready');
        setInterval(() => undefined, 1000);
      });`;
    const child = execa('node', ['-r', '@swc-node/register', '-e', script], { reject: false, cwd: resolve(__dirname, '../../../..') });
    await new Promise<void>((ready) => child.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && ready()));
    expect(readdirSync(dir)).toHaveLength(3);
    child.kill('SIGTERM');
    expect((await child).exitCode).toBe(143);
    expect(readdirSync(dir).sort()).toEqual(['1.sqf', '1.sqf.json']);
    expect(readFileSync(sqf, 'utf8')).toBe('old sqf');
  });
});

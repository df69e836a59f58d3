import type { CreateNodesContextV2 } from '@nx/devkit';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../cli';
import { APT_PROXY_ENV } from '../tools/apt-cache';
import { createNodesV2 } from './plugin';

/**
 * The apt cache is transport only (docs/apt-cache.md): however PHAROS_APT_PROXY is set, every target of this workspace
 * is inferred the same, no input names it, and every runtime input (a command whose output Nx hashes) prints the same.
 */
const ROOT = resolve(__dirname, '../../../..');
const VARIANTS = [undefined, 'off', 'http://10.9.8.7:3142', 'http://127.0.0.1:3142'];
const saved = process.env[APT_PROXY_ENV];

function withProxy<T>(value: string | undefined, work: () => T): T {
  if (value === undefined) delete process.env[APT_PROXY_ENV];
  else process.env[APT_PROXY_ENV] = value;
  return work();
}

afterEach(() => {
  if (saved === undefined) delete process.env[APT_PROXY_ENV];
  else process.env[APT_PROXY_ENV] = saved;
});

/**
 * The files Nx would hand the plugin: those its pattern matches, outside what Nx ignores. A walk, not `git ls-files`:
 * the e2e specs run this spec in a copy of the workspace that is no git repository.
 */
function definitionFiles(): string[] {
  const names = new Set(['Dockerfile', 'base-image.yaml', 'container.yaml', 'recipe.yaml', 'vm-image.yaml']);
  const skipped = new Set(['node_modules', 'dist', 'tmp', '.nx', '.git', '.pharos']);
  const walk = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
      const path = dir ? `${dir}/${e.name}` : e.name;
      if (e.isDirectory()) return skipped.has(e.name) ? [] : walk(path);
      return names.has(e.name) || /\.(sh|def|answers)$/.test(e.name) ? [path] : [];
    });
  return walk('').sort();
}

async function inferAll(): Promise<unknown> {
  const context = { workspaceRoot: ROOT, nxJsonConfiguration: JSON.parse(readFileSync(join(ROOT, 'nx.json'), 'utf8')) } as CreateNodesContextV2;
  return createNodesV2[1](definitionFiles(), undefined, context);
}

function runtimeInputs(nodes: unknown): string[] {
  return [...new Set([...JSON.stringify(nodes).matchAll(/"runtime":"([^"]+)"/g)].map((m) => m[1]))].sort();
}

/** A runtime input's output, run in this process (`node …/pharos.cjs <args>` is cli.ts's main). */
async function runtimeOutput(command: string): Promise<string> {
  const args = command.replace(/^node packages\/nx-pharos\/bin\/pharos\.cjs /, '').split(' ');
  let out = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += chunk.toString()), true));
  try {
    await main(args.map((a) => (a.includes('/') ? join(ROOT, a) : a)));
  } finally {
    write.mockRestore();
  }
  return out;
}

describe('PHAROS_APT_PROXY and the cache keys', () => {
  it('infers every target of the workspace the same, and names no proxy in any input', async () => {
    const inferred = [];
    for (const v of VARIANTS) inferred.push(JSON.stringify(await withProxy(v, inferAll)));
    const [text, ...others] = inferred;
    expect(text.length).toBeGreaterThan(10_000);
    for (const other of others) expect(other).toBe(text);
    expect(text).not.toMatch(/APT_PROXY|APT_CACHE|_proxy|_PROXY|:3142/);
  });

  it('leaves every runtime input printing the same', { timeout: 60_000 }, async () => {
    const commands = runtimeInputs(await inferAll());
    expect(commands.some((c) => c.endsWith(' debian-mirror'))).toBe(true);
    for (const command of commands) {
      const outputs = [];
      for (const v of VARIANTS) outputs.push(await withProxy(v, () => runtimeOutput(command)));
      expect(new Set(outputs).size, command).toBe(1);
      expect(outputs[0].length, command).toBeGreaterThan(0);
    }
  });
});

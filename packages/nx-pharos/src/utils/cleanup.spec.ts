import { execa } from 'execa';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** A real process, a real SIGINT: what Nx does to a task on Ctrl-C. */
const dir = mkdtempSync(join(tmpdir(), 'pharos-cleanup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cleanup on interrupt', () => {
  it('removes what the work wrote after the first cleanup pass, then exits 130', { timeout: 60_000 }, async () => {
    const late = join(dir, 'product.new');
    // The first pass takes 600 ms (as removing a container does); meanwhile the work goes on, 300 ms after the signal,
    // and writes the file that pass already looked for. Its own finally runs the cleanup again.
    const program = `
      const { writeFileSync, rmSync } = require('node:fs');
      const { runExecutor } = require(${JSON.stringify(join(__dirname, 'executor.ts'))});
      const { onInterrupt } = require(${JSON.stringify(join(__dirname, 'cleanup.ts'))});
      const file = ${JSON.stringify(late)};
      runExecutor(async () => {
        onInterrupt(() => new Promise((r) => setTimeout(r, 600)));
        const discard = onInterrupt(() => rmSync(file, { force: true }));
        try {
          const interrupted = new Promise((r) => process.once('SIGINT', () => setTimeout(r, 300)));
          setInterval(() => undefined, 1000); // a build's open connection: what keeps its process alive meanwhile
          process.stdout.write('ready\\n');
          await interrupted;
          writeFileSync(file, 'late');
          throw new Error('interrupted');
        } finally {
          await discard();
        }
      }).then(() => process.exit(1));`;
    // No SIGKILL from execa 5 s after our SIGINT: on a loaded machine the unwinding may take longer, and that is no fault.
    const child = execa('node', ['-r', '@swc-node/register', '-e', program], {
      reject: false,
      cwd: resolve(__dirname, '../../../..'),
      forceKillAfterDelay: false,
    });
    await new Promise<void>((ready) => child.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && ready()));
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode, `${r.signal} ${r.stderr}`).toBe(130);
    expect(existsSync(late)).toBe(false);
  });
});

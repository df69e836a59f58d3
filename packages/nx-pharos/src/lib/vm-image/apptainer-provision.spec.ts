import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runStubbed, stubDir } from '../../testing/sh-stubs';

/** packer/hpc/scripts/apptainer.sh with the real sh on a folder standing for the image's root; apt-get and the tools are stubs. */
const SCRIPT = join(__dirname, '../../../../../packer/hpc/scripts/apptainer.sh');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('apptainer.sh (hpc-compute)', () => {
  const run = (stubs: Record<string, string>) => {
    const root = mkdtempSync(join(tmpdir(), 'pharos-image-root-'));
    dirs.push(root);
    return runStubbed(SCRIPT, [], { PHAROS_ROOT: root }, stubDir({ 'apt-get': '', ...stubs }));
  };

  it('adds squashfuse from the archive so a user mounts a SIF instead of extracting it, and says what it installed', async () => {
    const r = await run({ apptainer: 'echo "apptainer version 1.4.5-2"', 'dpkg-query': 'echo 0.1.105-1' });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.calls).toContain('apt-get install -y -q --no-install-recommends squashfuse fuse3');
    expect(r.stdout.trim()).toBe('apptainer: apptainer version 1.4.5-2, squashfuse 0.1.105-1');
  });

  it('stops before touching apt when the workspace apptainer .deb was not installed first', async () => {
    // The host running the spec has no apptainer (it lives in the dev container), so `command -v` finds none.
    const r = await run({});
    expect([r.exitCode, r.stderr.trim(), r.calls]).toEqual([2, 'apptainer: the apptainer .deb is not installed (install-debs.sh runs first)', []]);
  });
});

import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStubbed, stubDir } from '../testing/sh-stubs';
import { NEEDED_MARKER, parseLdconfig, RELOCATE_SCRIPT } from './relocatable';

describe('relocatable trees', () => {
  it('gives every folder an $ORIGIN-relative RPATH, drops libtool archives, and lists what the tree needs from outside', async () => {
    // The real sh, find and od on a tree holding a real ELF file (the host's sh); patchelf and ldd are stand-ins.
    const view = join(mkdtempSync(join(tmpdir(), 'pharos-relocate-')), 'opt/slurm/view');
    for (const d of ['bin', 'lib/slurm']) mkdirSync(join(view, d), { recursive: true });
    copyFileSync('/bin/sh', join(view, 'bin/sinfo'));
    writeFileSync(join(view, 'bin/not-elf'), '#!/bin/sh\n');
    writeFileSync(join(view, 'lib/libslurm.la'), 'libdir=/opt/slurm/view/lib\n');
    const stubs = stubDir({
      patchelf: '',
      ldd: `printf '\\tliblz4.so.1 => /lib/liblz4.so.1 (0x1)\\n\\tlibslurm.so.42 => ${view}/lib/libslurm.so.42 (0x2)\\n'`,
    });
    const run = await runStubbed(RELOCATE_SCRIPT, [view, 'slurm'], {}, stubs);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.calls).toContain(`patchelf --set-rpath $ORIGIN/../lib/slurm:$ORIGIN/../lib ${view}/bin/sinfo`);
    expect(run.calls.filter((c) => c.startsWith('patchelf'))).toHaveLength(1);
    expect(readdirSync(join(view, 'lib'))).toEqual(['slurm']);
    expect(run.stdout).toBe(`${NEEDED_MARKER}\tliblz4.so.1\t/lib/liblz4.so.1`);
  });

  it('reads the sonames a clean system has', () => {
    const out =
      "1234 libs found in cache `/etc/ld.so.cache'\n\tliblz4.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/liblz4.so.1\n\tlibc.so.6 (libc6,x86-64, OS ABI: Linux 3.2.0) => /lib/x86_64-linux-gnu/libc.so.6\n";
    expect(parseLdconfig(out)).toEqual(['libc.so.6', 'liblz4.so.1']);
  });
});

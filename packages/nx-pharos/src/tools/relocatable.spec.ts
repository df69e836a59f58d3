import { describe, expect, it } from 'vitest';
import { parseLdconfig, relocateScript, rpaths } from './relocatable';

describe('relocatable trees', () => {
  it('gives every folder an $ORIGIN-relative RPATH and drops libtool archives', () => {
    const script = relocateScript('/stage/root/opt/slurm/view', 'slurm');
    expect(script).toContain("relocate_dir '/stage/root/opt/slurm/view/bin' '$ORIGIN/../lib/slurm:$ORIGIN/../lib'");
    expect(script).toContain("relocate_dir '/stage/root/opt/slurm/view/lib/slurm' '$ORIGIN:$ORIGIN/..'");
    expect(script).toContain("-name '*.la' -delete");
    expect(Object.values(rpaths('slurm')).every((r) => r.split(':').every((p) => p.startsWith('$ORIGIN')))).toBe(true);
  });

  it('reads the sonames a clean system has', () => {
    const out = '1234 libs found in cache `/etc/ld.so.cache\'\n\tliblz4.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/liblz4.so.1\n\tlibc.so.6 (libc6,x86-64, OS ABI: Linux 3.2.0) => /lib/x86_64-linux-gnu/libc.so.6\n';
    expect(parseLdconfig(out)).toEqual(['libc.so.6', 'liblz4.so.1']);
  });
});

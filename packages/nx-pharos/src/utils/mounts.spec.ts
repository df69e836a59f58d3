import { describe, expect, it } from 'vitest';
import { mountsUnder } from './mounts';

describe('mountsUnder', () => {
  it('finds mounts inside a chroot, deepest first, and nothing outside it', () => {
    const text = [
      'proc /proc proc rw 0 0',
      'proc /tmp/r/proc proc rw 0 0',
      'sysfs /tmp/r/sys sysfs rw 0 0',
      'devpts /tmp/r/dev/pts devpts rw 0 0',
      'x /tmp/rr ext4 rw 0 0',
    ].join('\n');
    expect(mountsUnder('/tmp/r', text)).toEqual(['/tmp/r/dev/pts', '/tmp/r/proc', '/tmp/r/sys']);
  });
});

import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isListening, probeBooted, qemuInProcessGroup, vmArgs } from './qemu';

describe('qemu', () => {
  it('forwards SSH on loopback only, joins the cluster over a loopback socket, and never writes the image', () => {
    const args = vmArgs({
      name: 'hpc-compute',
      disk: '/d/hpc-compute.qcow2',
      seedIso: '/s/seed.iso',
      accelerator: 'tcg',
      memoryMiB: 1024,
      cpus: 1,
      sshPort: 40001,
      serialLog: '/l/serial.log',
      cluster: { mode: 'connect', port: 40002, mac: '52:54:00:42:00:02' },
    }).join(' ');
    expect(args).toContain('-netdev user,id=nat,hostfwd=tcp:127.0.0.1:40001-:22');
    expect(args).toContain('-netdev socket,id=cluster,connect=127.0.0.1:40002 -device virtio-net-pci,netdev=cluster,mac=52:54:00:42:00:02');
    expect(args).toContain('-snapshot');
    expect(args).toContain('-accel tcg -cpu max');
    expect(args).toContain('-serial file:/l/serial.log');
    expect(args).not.toContain('vnc');
  });

  it('calls a probe booted once the kernel hands over to userspace, and reads listening sockets', () => {
    expect(probeBooted('Booting `Debian GNU/Linux`\n')).toBe(false);
    expect(probeBooted('[    2.1] Run /init as init process\n')).toBe(true);
    const proc = '  sl  local_address rem_address   st\n   0: 0100007F:9C42 00000000:0000 0A 00000000\n   1: 0100007F:9C43 0100007F:9C42 01 00000000\n';
    expect(isListening(proc, 0x9c42)).toBe(true);
    expect(isListening(proc, 0x9c43)).toBe(false);
  });

  it('finds a QEMU in a process group from /proc, and no longer once it has ended', async () => {
    // A copy of sleep named like QEMU stands in for it: a real VM takes a minute to boot and needs an image.
    const dir = mkdtempSync(join(tmpdir(), 'pharos-qemu-'));
    const fake = join(dir, 'qemu-system-x86_64');
    copyFileSync('/bin/sleep', fake);
    const vm = execa(fake, ['60'], { detached: true, reject: false });
    try {
      const pgid = vm.pid as number;
      for (let i = 0; i < 50 && !qemuInProcessGroup(pgid); i++) await new Promise((r) => setTimeout(r, 20));
      expect(qemuInProcessGroup(pgid)).toBe(true);
      expect(qemuInProcessGroup(process.pid)).toBe(false);
      vm.kill('SIGKILL');
      await vm;
      expect(qemuInProcessGroup(pgid)).toBe(false);
    } finally {
      vm.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

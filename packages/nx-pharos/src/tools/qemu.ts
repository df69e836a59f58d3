import { constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { access, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { writeAtomically } from '../utils/atomic-file';
import { onInterrupt } from '../utils/cleanup';
import { pharosCacheDir } from '../utils/paths';
import { ownedName } from '../utils/leftovers';
import { commandOutput } from '../utils/command-output';

/**
 * The one module that owns how QEMU is called: its version, and which accelerator really works here. KVM is used
 * only when a probe VM actually boots with it (nested KVM can expose /dev/kvm and then hang), otherwise TCG.
 */

export type Accelerator = 'kvm' | 'tcg';
export const ACCEL_ENV = 'PHAROS_QEMU_ACCEL';

export async function qemuVersion(): Promise<string> {
  const r = await commandOutput('qemu-system-x86_64', ['--version']);
  return /version (\S+)/.exec(r.stdout)?.[1] ?? 'unknown';
}

/** The probe's verdict: the guest kernel handed over to userspace (systemd) in time. */
export function probeBooted(serial: string): boolean {
  return /systemd\[1\]|Welcome to .*Debian|Run \/init as init process/.test(serial);
}

async function kvmUsable(): Promise<boolean> {
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Boots `disk` (read-only, `-snapshot`) with KVM and waits up to `timeoutMs` for the kernel to reach userspace on the
 * serial console. The verdict is kept per host kernel and QEMU version, so the probe runs once per machine.
 */
export async function detectAccelerator(disk: string, log: (t: string) => void, timeoutMs = 30_000): Promise<Accelerator> {
  const forced = process.env[ACCEL_ENV];
  if (forced === 'kvm' || forced === 'tcg') return forced;
  if (!(await kvmUsable())) return 'tcg';
  const key = `${release()} qemu ${await qemuVersion()}`;
  const cacheFile = pharosCacheDir('qemu-accelerator.json');
  const known = existsSync(cacheFile) ? (JSON.parse(readFileSync(cacheFile, 'utf8')) as Record<string, Accelerator>) : {};
  if (known[key]) return known[key];
  log(`probing KVM: booting the base disk for up to ${timeoutMs / 1000} s\n`);
  const dir = join(tmpdir(), ownedName('pharos-kvm-probe'));
  await mkdir(dir);
  const serial = join(dir, 'serial.log');
  const { execa } = await import('execa');
  const vm = execa(
    'qemu-system-x86_64',
    [
      '-accel',
      'kvm',
      '-m',
      '512',
      '-snapshot',
      '-drive',
      `file=${disk},if=virtio,format=qcow2`,
      '-display',
      'none',
      '-serial',
      `file:${serial}`,
      '-nic',
      'none',
      '-no-reboot',
    ],
    { reject: false, stdin: 'ignore' },
  );
  const stop = onInterrupt(async () => {
    vm.kill('SIGKILL');
    await vm.catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  let booted = false;
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && vm.exitCode === null) {
      if (existsSync(serial) && probeBooted(await readFile(serial, 'utf8'))) {
        booted = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    await stop();
  }
  const verdict: Accelerator = booted ? 'kvm' : 'tcg';
  log(`KVM ${booted ? 'boots a VM' : 'did not boot a VM in time'}: using ${verdict}\n`);
  await mkdir(pharosCacheDir(), { recursive: true });
  await writeAtomically(cacheFile, (tmp) => writeFile(tmp, `${JSON.stringify({ ...known, [key]: verdict }, null, 2)}\n`));
  return verdict;
}

export interface VmSpec {
  name: string;
  disk: string;
  /** A cloud-init NoCloud seed ISO (label cidata). */
  seedIso: string;
  accelerator: Accelerator;
  memoryMiB: number;
  cpus: number;
  /** Host port on 127.0.0.1 forwarded to the guest's SSH. */
  sshPort: number;
  serialLog: string;
  /** A second NIC on a private VM-to-VM network over a loopback socket (no host bridge): listen or connect. */
  cluster?: { mode: 'listen' | 'connect'; port: number; mac: string };
}

/** QEMU's arguments for a VM: disk as a throwaway overlay (-snapshot), user-mode NAT with SSH on loopback only. */
export function vmArgs(vm: VmSpec): string[] {
  return [
    '-name',
    `pharos-${vm.name}`,
    '-accel',
    vm.accelerator,
    ...(vm.accelerator === 'tcg' ? ['-cpu', 'max'] : ['-cpu', 'host']),
    '-m',
    String(vm.memoryMiB),
    '-smp',
    String(vm.cpus),
    '-snapshot',
    '-drive',
    `file=${vm.disk},if=virtio,format=qcow2`,
    '-drive',
    `file=${vm.seedIso},media=cdrom,readonly=on`,
    '-netdev',
    `user,id=nat,hostfwd=tcp:127.0.0.1:${vm.sshPort}-:22`,
    '-device',
    'virtio-net-pci,netdev=nat',
    ...(vm.cluster
      ? ['-netdev', `socket,id=cluster,${vm.cluster.mode}=127.0.0.1:${vm.cluster.port}`, '-device', `virtio-net-pci,netdev=cluster,mac=${vm.cluster.mac}`]
      : []),
    '-display',
    'none',
    '-serial',
    `file:${vm.serialLog}`,
    '-no-reboot',
  ];
}

export interface RunningVm {
  spec: VmSpec;
  /** Stops QEMU (SIGTERM, then SIGKILL) and waits for it. */
  stop: () => Promise<void>;
  exited: () => boolean;
}

/** Starts a VM in the background; it is stopped on Ctrl-C, and by `stop()`. */
export async function startVm(vm: VmSpec): Promise<RunningVm> {
  const { execa } = await import('execa');
  const child = execa('qemu-system-x86_64', vmArgs(vm), { reject: false, stdin: 'ignore', all: true });
  let exited = false;
  void child.then(() => (exited = true));
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      await Promise.race([child, new Promise((r) => setTimeout(r, 5000))]);
      if (!exited) child.kill('SIGKILL');
    }
    await child.catch(() => undefined);
  };
  const release = onInterrupt(stop);
  return { spec: vm, stop: release, exited: () => exited };
}

/** A seed ISO (NoCloud, label cidata) from user-data and meta-data, with xorriso. */
export async function makeSeedIso(dir: string, iso: string): Promise<void> {
  const { execa } = await import('execa');
  await execa('xorriso', [
    '-as',
    'genisoimage',
    '-quiet',
    '-output',
    iso,
    '-volid',
    'cidata',
    '-joliet',
    '-rock',
    join(dir, 'user-data'),
    join(dir, 'meta-data'),
  ]);
}

/** A free TCP port on 127.0.0.1, for an SSH forward or the cluster socket. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Whether /proc/net/tcp's text shows 127.0.0.1:`port` (or any address) in LISTEN state. */
export function isListening(procNetTcp: string, port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return procNetTcp.split('\n').some((l) => {
    const [, local, , state] = l.trim().split(/\s+/);
    return !!local?.endsWith(hex) && state === '0A';
  });
}

/** Waits for a QEMU socket netdev to listen; read from /proc, since a test connection would take QEMU's one peer. */
export async function waitListening(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (isListening(readFileSync('/proc/net/tcp', 'utf8'), port)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

/**
 * Whether a QEMU runs in process group `pgid` (a Packer build's), from /proc: no tool to start every few seconds, and
 * a process we cannot read is not one of ours.
 */
export function qemuInProcessGroup(pgid: number): boolean {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return false;
  }
  return pids.some((pid) => {
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces and parentheses, so split after the last ')'.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      return pgrp === pgid && comm.startsWith('qemu-system');
    } catch {
      return false;
    }
  });
}

import { execa } from 'execa';

/**
 * The one module that owns how Pharos runs commands in a VM: OpenSSH's client as the workspace key, to a port QEMU
 * forwards on loopback. Host keys are per boot (the images carry none), so they are not recorded.
 */
export interface SshTarget {
  port: number;
  user: string;
  privateKey: string;
}

export function sshArgs(target: SshTarget, command: string): string[] {
  return [
    '-i', target.privateKey,
    '-p', String(target.port),
    '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'LogLevel=ERROR',
    '-o', 'BatchMode=yes',
    '-o', 'ConnectTimeout=10',
    `${target.user}@127.0.0.1`,
    command,
  ];
}

export async function ssh(target: SshTarget, command: string, timeoutMs = 120_000): Promise<{ exitCode: number; output: string }> {
  const r = await execa('ssh', sshArgs(target, command), { reject: false, all: true, stdin: 'ignore', timeout: timeoutMs });
  return { exitCode: r.exitCode ?? 255, output: (r.all ?? '').trim() };
}

/** Polls until the guest answers SSH (and cloud-init has finished), or the time is up. */
export async function waitForSsh(target: SshTarget, timeoutMs: number, alive: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && alive()) {
    const r = await ssh(target, 'cloud-init status --wait >/dev/null 2>&1; true', 600_000);
    if (r.exitCode === 0) return true;
    await new Promise((res) => setTimeout(res, 5000));
  }
  return false;
}

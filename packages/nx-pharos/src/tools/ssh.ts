import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { shellQuote } from '../utils/shell';

/**
 * The one module that owns how Pharos runs commands in a VM: OpenSSH's client as the workspace key, to a port QEMU
 * forwards on loopback. Host keys are per boot (the images carry none), so they are not recorded. What runs in the
 * guest is a script file of the plugin, fed to `sh -s` on stdin, with its values as positional arguments.
 */
export interface SshTarget {
  port: number;
  user: string;
  privateKey: string;
}

const WAIT_CLOUD_INIT = join(__dirname, 'wait-cloud-init.sh');

export function sshArgs(target: SshTarget, command: string): string[] {
  return [
    '-i',
    target.privateKey,
    '-p',
    String(target.port),
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=ERROR',
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=10',
    `${target.user}@127.0.0.1`,
    command,
  ];
}

/** The remote command that runs a script read from stdin: SSH hands the guest's shell one string, so each argument is quoted. */
export function remoteScriptCommand(args: string[]): string {
  return ['sh', '-s', '--', ...args.map(shellQuote)].join(' ');
}

/** Runs `script` (a local file) in the guest with `args`; its output, stdout and stderr in order, trimmed. */
export async function sshScript(target: SshTarget, script: string, args: string[] = [], timeoutMs = 120_000): Promise<{ exitCode: number; output: string }> {
  const r = await execa('ssh', sshArgs(target, remoteScriptCommand(args)), {
    reject: false,
    all: true,
    input: readFileSync(script, 'utf8'),
    timeout: timeoutMs,
  });
  return { exitCode: r.exitCode ?? 255, output: (r.all ?? '').trim() };
}

/**
 * Streams a local file into `guestPath` (the login user's write), for products too big for an argument: the guest
 * command is fixed here, the path a quoted argument of it. The caller checks the digest in the guest.
 */
export async function sshSendFile(target: SshTarget, file: string, guestPath: string, timeoutMs = 30 * 60_000): Promise<{ exitCode: number; output: string }> {
  const r = await execa('ssh', sshArgs(target, `cat >${shellQuote(guestPath)}`), { reject: false, all: true, inputFile: file, timeout: timeoutMs });
  return { exitCode: r.exitCode ?? 255, output: (r.all ?? '').trim() };
}

/** Polls until the guest answers SSH (and cloud-init has finished), or the time is up. */
export async function waitForSsh(target: SshTarget, timeoutMs: number, alive: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && alive()) {
    const r = await sshScript(target, WAIT_CLOUD_INIT, [], 600_000);
    if (r.exitCode === 0) return true;
    await new Promise((res) => setTimeout(res, 5000));
  }
  return false;
}

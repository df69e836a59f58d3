import { execa } from 'execa';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remoteScriptCommand, sshArgs, sshScript } from './ssh';
import { ed25519Keypair } from './ssh-key';

/** An executable stub on PATH, standing in for a tool that needs a guest to run. */
function stub(dir: string, name: string, body: string): void {
  writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
  chmodSync(join(dir, name), 0o755);
}

describe('ssh', () => {
  let dir: string;
  const path = process.env.PATH;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pharos-ssh-'));
  });
  afterAll(() => {
    process.env.PATH = path;
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs in on loopback only, with the key, recording no host key', () => {
    const args = sshArgs({ port: 2222, user: 'admin', privateKey: '/k' }, 'true');
    expect(args.slice(0, 4)).toEqual(['-i', '/k', '-p', '2222']);
    expect(args).toContain('UserKnownHostsFile=/dev/null');
    expect(args).toContain('BatchMode=yes');
    expect(args.slice(-2)).toEqual(['admin@127.0.0.1', 'true']);
  });

  it('runs a script file in the guest with its values as positional arguments, never as script text', async () => {
    expect(remoteScriptCommand(['a b', "it's"])).toBe(`sh -s -- 'a b' 'it'\\''s'`);
    // The stub ssh plays the guest: like sshd, it hands the last argument to a shell, with stdin passed through.
    stub(dir, 'ssh', 'for last; do :; done; exec sh -c "$last"');
    writeFileSync(join(dir, 'args.sh'), 'printf "[%s]" "$@"; echo; echo oops >&2; exit 3\n');
    process.env.PATH = `${dir}:${path}`;
    const r = await sshScript({ port: 1, user: 'u', privateKey: '/k' }, join(dir, 'args.sh'), ['a b', "it's", '$(id)']);
    expect(r).toEqual({ exitCode: 3, output: "[a b][it's][$(id)]\noops" });
  });

  it('wait-cloud-init.sh waits for cloud-init and succeeds whatever its verdict (stub cloud-init on PATH)', async () => {
    stub(dir, 'cloud-init', `echo "$@" > ${join(dir, 'cloud-init.args')}; echo degraded; exit 2`);
    const r = await execa('sh', [join(__dirname, 'wait-cloud-init.sh')], { env: { PATH: `${dir}:${path}` }, reject: false, all: true });
    expect([r.exitCode, r.all]).toEqual([0, '']);
    expect(readFileSync(join(dir, 'cloud-init.args'), 'utf8')).toBe('status --wait\n');
  });

  it('makes an ed25519 keypair once, with the real ssh-keygen (fails where openssh-client is missing)', async () => {
    const key = join(dir, 'keys', 'id_ed25519');
    const first = await ed25519Keypair(key);
    expect(first.publicKey).toMatch(/^ssh-ed25519 \S+ pharos-workspace$/);
    expect(await ed25519Keypair(key)).toEqual(first);
  });
});

import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PharosError } from '../utils/errors';

/**
 * The workspace's SSH keypair (ed25519) that Packer and the VM checks log in with: made once with ssh-keygen, kept
 * in `.pharos/ssh/` (git-ignored, never committed), and handed to guests only through the cloud-init seed.
 */
export const WORKSPACE_KEY_DIR = '.pharos/ssh';

export function workspaceKeypair(workspaceRoot: string): Promise<{ privateKey: string; publicKey: string }> {
  return ed25519Keypair(join(workspaceRoot, WORKSPACE_KEY_DIR, 'id_ed25519'));
}

/** An ed25519 keypair at `privateKey` (and `.pub`), made with ssh-keygen when it does not exist yet. */
export async function ed25519Keypair(privateKey: string): Promise<{ privateKey: string; publicKey: string }> {
  if (!existsSync(privateKey) || !existsSync(`${privateKey}.pub`)) {
    await mkdir(dirname(privateKey), { recursive: true, mode: 0o700 });
    const tmp = `${privateKey}.tmp-${process.pid}`;
    await rm(tmp, { force: true });
    await rm(`${tmp}.pub`, { force: true });
    const r = await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'pharos-workspace', '-f', tmp], { reject: false, stdin: 'ignore' });
    if (r.exitCode !== 0) throw new PharosError(`ssh-keygen failed: ${r.stderr.trim()}`, { step: 'workspace SSH key', next: 'install openssh-client' });
    await rename(`${tmp}.pub`, `${privateKey}.pub`);
    await rename(tmp, privateKey);
  }
  return { privateKey, publicKey: readFileSync(`${privateKey}.pub`, 'utf8').trim() };
}

import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runStubbed, stubDir } from '../../testing/sh-stubs';

/**
 * The VM images' BeeGFS provision scripts (packer/hpc/scripts) with the real sh, on a folder standing for the image's
 * root (PHAROS_ROOT); systemctl, apt-get and dkms are stubs. What a booted cluster would run is judged the way
 * BeeGFS 7.4's beegfs-ctl reads its config (ctl/source/app/config/Config.cpp, AbstractConfig::initConnAuthHash).
 */
const SCRIPTS = join(__dirname, '../../../../../packer/hpc/scripts');
const AUTH = '/etc/beegfs/connauthfile';
// The keys as upstream 7.4.7's shipped config files spell them, empty until a site sets them.
const UPSTREAM_CONF = 'sysMgmtdHost                 =\nconnAuthFile                 =\nconnDisableAuthentication    = false\n';

function parseConf(text: string): Record<string, string> {
  const conf: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && !line.trimStart().startsWith('#')) conf[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return conf;
}

/** What a bare `beegfs-ctl` on this root refuses with, as the real one: it reads beegfs-client.conf only when it exists. */
function ctlRefusal(root: string): string | undefined {
  const file = join(root, 'etc/beegfs/beegfs-client.conf');
  const conf = existsSync(file) ? parseConf(readFileSync(file, 'utf8')) : {};
  if (!conf.connAuthFile && conf.connDisableAuthentication !== 'true') return 'Unrecoverable error: No connAuthFile configured';
  if (!conf.sysMgmtdHost) return 'Error: Management host undefined';
  return undefined;
}

const roots: string[] = [];
afterEach(() => {
  for (const d of roots.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tree(files: Record<string, string>, executables: string[] = []): string {
  const root = mkdtempSync(join(tmpdir(), 'pharos-image-root-'));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  for (const path of executables) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), `#!/bin/sh\necho "${path.split('/').pop()} $*" >> "${root}/setup.log"\n`);
    chmodSync(join(root, path), 0o755);
  }
  return root;
}

const read = (root: string, path: string) => parseConf(readFileSync(join(root, path), 'utf8'));

describe('beegfs-server.sh (hpc-controller)', () => {
  const SERVERS = ['mgmtd', 'meta', 'storage'];
  const controller = (
    extra: Record<string, string> = {},
    executables = SERVERS.flatMap((s) => [`opt/beegfs/sbin/beegfs-${s}`, `opt/beegfs/sbin/beegfs-setup-${s}`]),
  ) =>
    tree(
      { 'etc/hostname': 'hpc-controller\n', ...Object.fromEntries(SERVERS.map((s) => [`etc/beegfs/beegfs-${s}.conf`, UPSTREAM_CONF])), ...extra },
      executables,
    );
  const run = (root: string) => runStubbed(join(SCRIPTS, 'beegfs-server.sh'), [], { PHAROS_ROOT: root }, stubDir({ systemctl: '' }));

  it('gives beegfs-ctl a config with the connAuthFile on a server without the client package (as BeeGFS 7.4.7 refused it)', async () => {
    const root = controller();
    const r = await run(root);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(ctlRefusal(root)).toBeUndefined();
    expect(read(root, 'etc/beegfs/beegfs-client.conf')).toMatchObject({ sysMgmtdHost: 'hpc-controller', connAuthFile: AUTH });
    for (const s of SERVERS) {
      expect(read(root, `etc/beegfs/beegfs-${s}.conf`).connAuthFile).toBe(AUTH);
      expect(readFileSync(join(root, `etc/systemd/system/beegfs-${s}.service.d/pharos-auth.conf`), 'utf8')).toBe(`[Unit]\nConditionPathExists=${AUTH}\n`);
    }
    expect(r.calls).toEqual(SERVERS.map((s) => `systemctl enable beegfs-${s}`));
    expect(readFileSync(join(root, 'setup.log'), 'utf8').split('\n')).toEqual([
      'beegfs-setup-mgmtd -p /srv/beegfs/mgmtd',
      'beegfs-setup-meta -p /srv/beegfs/meta -s 2 -m hpc-controller',
      'beegfs-setup-storage -p /srv/beegfs/storage -s 3 -i 301 -m hpc-controller',
      '',
    ]);
  });

  it("sets the keys in the client package's own config when there is one, keeping the rest, and adds a key a config lacks", async () => {
    const root = controller({ 'etc/beegfs/beegfs-client.conf': `# upstream\n${UPSTREAM_CONF}logLevel = 3\n`, 'etc/beegfs/beegfs-meta.conf': 'logLevel = 3\n' });
    const r = await run(root);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(read(root, 'etc/beegfs/beegfs-client.conf')).toEqual({
      sysMgmtdHost: 'hpc-controller',
      connAuthFile: AUTH,
      connDisableAuthentication: 'false',
      logLevel: '3',
    });
    expect(readFileSync(join(root, 'etc/beegfs/beegfs-client.conf'), 'utf8')).toMatch(/^# upstream\n/);
    expect(read(root, 'etc/beegfs/beegfs-meta.conf')).toEqual({ logLevel: '3', connAuthFile: AUTH });
  });

  it('stops, naming the daemon, when a server package is missing', async () => {
    const r = await run(controller({}, ['opt/beegfs/sbin/beegfs-mgmtd']));
    expect([r.exitCode, r.stderr.trim()]).toEqual([2, 'beegfs-server: beegfs-meta is not installed']);
  });
});

describe('beegfs-client.sh (hpc-compute)', () => {
  const run = (conf?: string, helperd: string | null = UPSTREAM_CONF) => {
    const root = tree({
      'usr/src/beegfs-7.4.7/dkms.conf': '',
      ...(conf === undefined ? {} : { 'etc/beegfs/beegfs-client.conf': conf }),
      ...(helperd === null ? {} : { 'etc/beegfs/beegfs-helperd.conf': helperd }),
    });
    const upload = tree({ 'slurm.conf': 'ClusterName=hpc\nSlurmctldHost=hpc-controller\n' });
    const stubs = stubDir({ 'apt-get': '', dkms: 'echo "beegfs/7.4.7: installed"', systemctl: '' });
    return runStubbed(join(SCRIPTS, 'beegfs-client.sh'), [], { PHAROS_ROOT: root, PHAROS_UPLOAD: upload }, stubs).then((r) => ({ ...r, root }));
  };

  it('points the client and beegfs-ctl at the controller with the connAuthFile, adding keys the config lacks', async () => {
    for (const conf of [UPSTREAM_CONF, 'logLevel = 3\n']) {
      const r = await run(conf);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(ctlRefusal(r.root)).toBeUndefined();
      expect(read(r.root, 'etc/beegfs/beegfs-client.conf')).toMatchObject({ sysMgmtdHost: 'hpc-controller', connAuthFile: AUTH });
      expect(r.calls.find((c) => c.startsWith('dkms status'))).toMatch(/^dkms status -m beegfs -v 7\.4\.7 -k \S+$/);
      expect(r.stdout).toContain('beegfs-client: beegfs 7.4.7 built by DKMS');
    }
  });

  it('runs helperd with the connAuthFile and mounts /mnt/beegfs on first access, once the connAuthFile exists', async () => {
    const r = await run(UPSTREAM_CONF);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(read(r.root, 'etc/beegfs/beegfs-helperd.conf').connAuthFile).toBe(AUTH);
    expect(readFileSync(join(r.root, 'etc/systemd/system/beegfs-helperd.service.d/pharos-auth.conf'), 'utf8')).toBe(`[Unit]\nConditionPathExists=${AUTH}\n`);
    const mount = readFileSync(join(r.root, 'etc/systemd/system/mnt-beegfs.mount'), 'utf8');
    for (const line of [
      'What=beegfs_nodev',
      'Where=/mnt/beegfs',
      'Type=beegfs',
      'Options=cfgFile=/etc/beegfs/beegfs-client.conf,_netdev',
      'Requires=beegfs-helperd.service',
      `ConditionPathExists=${AUTH}`,
    ])
      expect(mount.split('\n')).toContain(line);
    const automount = readFileSync(join(r.root, 'etc/systemd/system/mnt-beegfs.automount'), 'utf8');
    expect(automount.split('\n')).toEqual(expect.arrayContaining(['Where=/mnt/beegfs', 'WantedBy=remote-fs.target', `ConditionPathExists=${AUTH}`]));
    expect(existsSync(join(r.root, 'mnt/beegfs'))).toBe(true);
    expect(r.calls).toContain('systemctl enable beegfs-helperd mnt-beegfs.automount');
  });

  it('stops, naming why, when beegfs-helperd is not installed (the 7.4 client cannot mount without it)', async () => {
    const r = await run(UPSTREAM_CONF, null);
    expect([r.exitCode, r.stderr.trim(), r.calls]).toEqual([
      2,
      'beegfs-client: beegfs-helperd is not installed (no /etc/beegfs/beegfs-helperd.conf); the 7.4 client cannot mount without it',
      [],
    ]);
  });

  it('stops before installing anything when the client package left no config', async () => {
    const r = await run();
    expect([r.exitCode, r.stderr.trim(), r.calls]).toEqual([2, 'beegfs-client: beegfs-client-dkms installed no /etc/beegfs/beegfs-client.conf', []]);
  });
});

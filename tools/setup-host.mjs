#!/usr/bin/env zx
// Host setup for Pharos, run by both README commands. Idempotent: it installs only what is missing and starts a
// Docker daemon only when none answers, and it says what it did. Everything else (the toolchain) lives in the dev
// container, so the host needs just these.
import { existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { $, sleep } from 'zx';
import Docker from 'dockerode';

$.verbose = false;
const say = (msg) => console.log(`setup: ${msg}`);
// The daemons started here (dockerd, the Nx cache, the team store, the apt cache) outlive this run, so they must not
// keep its temporary folder: a test run's TMPDIR is removed when the run ends, and a dockerd restarted inside one
// (lost-engine.spec) then failed every later `docker exec` (runc writes its process file in TMPDIR). They use the
// system's.
delete process.env.TMPDIR;

/** Debian package → the command that shows it is present (any provider counts, e.g. docker-ce for docker.io). */
const HOST_PACKAGES = [
  { pkg: 'docker.io', command: 'dockerd', why: 'the Docker engine (builds and runs every image)' },
  { pkg: 'debootstrap', command: 'debootstrap', why: 'base images from the Debian archive when no registry answers' },
  { pkg: 'qemu-system-x86', command: 'qemu-system-x86_64', why: 'VM images and their boot checks' },
  { pkg: 'qemu-utils', command: 'qemu-img', why: 'qcow2 handling' },
  { pkg: 'packer', command: 'packer', why: 'VM image builds' },
  { pkg: 'squashfs-tools', command: 'mksquashfs', why: 'Apptainer images' },
  { pkg: 'fdisk', command: 'sfdisk', why: "the VM base disk's partition table (no loop devices needed)" },
  { pkg: 'xorriso', command: 'xorriso', why: "Packer's cd_files (the cloud-init NoCloud seed)" },
  { pkg: 'openssh-client', command: 'ssh-keygen', why: 'the workspace SSH key and the VM checks (ssh)' },
  { pkg: 'util-linux', command: 'flock', why: 'the locks that keep an overlay in use from being replaced (pharos exec)' },
  { pkg: 'docker-registry', command: 'docker-registry', why: 'the team store: products shared by digest (docs/store.md)' },
  { pkg: 'skopeo', command: 'skopeo', why: 'pushes and fetches team store blobs' },
  { pkg: 'apache2-utils', command: 'htpasswd', why: "the team store's bcrypt password file" },
  {
    pkg: 'apt-cacher-ng',
    command: 'apt-cacher-ng',
    why: 'the apt cache every container, VM and base image fetches Debian packages through (docs/apt-cache.md)',
  },
];

const has = async (cmd) => (await $`command -v ${cmd}`.nothrow()).exitCode === 0 || existsSync(`/usr/sbin/${cmd}`) || existsSync(`/usr/bin/${cmd}`);
const isRoot = process.getuid?.() === 0;
const canSudo = !isRoot && (await has('sudo')) && (await $`sudo -n true`.nothrow()).exitCode === 0;
const asRoot = (args) => (isRoot ? $`${args}` : $`sudo -n ${args}`);

/** Stops and disables a package's own service, which Pharos replaces with its own instance. */
async function stopPackageService(service, listens) {
  const stop = existsSync('/run/systemd/system')
    ? [['systemctl', 'disable', '--now', `${service}.service`]]
    : [
        [`/etc/init.d/${service}`, 'stop'],
        ['update-rc.d', service, 'disable'],
      ];
  for (const cmd of stop) await asRoot(cmd).nothrow();
  say(`stopped and disabled the ${service} package's own service (${listens}); Pharos starts its own`);
}

async function daemonAnswers() {
  try {
    await new Docker().ping();
    return true;
  } catch {
    return false;
  }
}

const missing = [];
for (const p of HOST_PACKAGES) if (!(await has(p.command))) missing.push(p);
const dockerRunning = await daemonAnswers();
// A running engine (docker-ce, rootless, remote DOCKER_HOST) is fine: never install docker.io over it.
const toInstall = missing.filter((p) => !(p.pkg === 'docker.io' && dockerRunning));

if (toInstall.length === 0) {
  say('host packages present');
} else if (!(await has('apt-get'))) {
  console.error(`setup: this is not a Debian or Ubuntu host, so Pharos cannot install its host tools itself.
Install these with your system's package manager, then run the command again:
${toInstall.map((p) => `  - ${p.command} (Debian package ${p.pkg}): ${p.why}`).join('\n')}`);
  process.exit(1);
} else if (!isRoot && !canSudo) {
  console.error(`setup: missing host packages, and installing them needs root (no passwordless sudo here). Run:
  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${toInstall.map((p) => p.pkg).join(' ')}
then run the command again.`);
  process.exit(1);
} else {
  const names = toInstall.map((p) => p.pkg);
  say(`installing ${names.join(', ')}`);
  // Through env(1), so it survives sudo's environment reset.
  const apt = ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get'];
  const update = await asRoot([...apt, 'update', '-qq']).nothrow();
  if (update.exitCode !== 0) {
    console.error(`setup: apt-get update failed:\n${update.stderr}\nnext: check the apt sources and the network, then run again.`);
    process.exit(1);
  }
  const install = await asRoot([...apt, 'install', '-y', '-qq', '--no-install-recommends', ...names]).nothrow();
  if (install.exitCode !== 0) {
    console.error(`setup: apt-get install ${names.join(' ')} failed:\n${install.stderr.trim().split('\n').slice(-15).join('\n')}
next: packer is not in every distribution's archive (Ubuntu: use HashiCorp's apt repository); install what is missing, then run again.`);
    process.exit(1);
  }
  say(`installed ${names.join(', ')}`);
  // Both packages start their own service on every interface, on the port Pharos' own instance would take; Pharos
  // starts its own below, on loopback (and the Docker bridge), with its own config.
  if (names.includes('docker-registry')) {
    // docker-registry's also points at an htpasswd path that does not work.
    await stopPackageService('docker-registry', ':5000');
  }
  if (names.includes('apt-cacher-ng')) await stopPackageService('apt-cacher-ng', ':3142 on every interface');
}

if (dockerRunning) {
  say('Docker daemon answers');
} else {
  if (!isRoot && !canSudo) {
    console.error(
      'setup: no Docker daemon answers and starting one needs root. Start it (e.g. `sudo systemctl start docker`), or set DOCKER_HOST, then run again.',
    );
    process.exit(1);
  }
  if (existsSync('/run/systemd/system')) {
    say('starting docker.service');
    await asRoot(['systemctl', 'start', 'docker']).nothrow();
  } else {
    // No init system to own it (a container or CI sandbox): start dockerd in the background, detached from us.
    const log = '/var/log/pharos-dockerd.log';
    say(`starting dockerd in the background (log: ${log})`);
    const out = openSync(log, 'a');
    const cmd = isRoot ? ['dockerd'] : ['sudo', '-n', 'dockerd'];
    spawn(cmd[0], cmd.slice(1), { detached: true, stdio: ['ignore', out, out] }).unref();
  }
  let ok = false;
  for (let i = 0; i < 60 && !ok; i++) {
    ok = await daemonAnswers();
    if (!ok) await sleep(500);
  }
  if (!ok) {
    console.error('setup: the Docker daemon did not answer within 30 s. next: read /var/log/pharos-dockerd.log (or `journalctl -u docker`).');
    process.exit(1);
  }
  say('Docker daemon started and answers');
}

const info = await new Docker().info();
say(`Docker ${info.ServerVersion}, storage driver ${info.Driver}`);
if (!isRoot && process.env.DOCKER_HOST === undefined && !(await $`id -nG`.nothrow()).stdout.split(/\s+/).includes('docker')) {
  say('note: you are not in the docker group; add yourself (sudo usermod -aG docker $USER) if the engine refuses you');
}

// The shared Nx cache (docs/shared-cache.md): its two tokens written once (0600), and its server started on loopback
// unless one answers. Nx uses it only where NX_SELF_HOSTED_REMOTE_CACHE_SERVER is set, so nothing else changes here.
const pharosCli = ['node', new URL('../packages/nx-pharos/bin/pharos.cjs', import.meta.url).pathname];
const cacheHome = join(homedir(), '.cache', 'pharos');
const cacheUrl = 'http://127.0.0.1:7420';
const tokenDir = join(homedir(), '.config', 'pharos', 'nx-remote-cache');
const tokenArgs = ['--read-token-file', join(tokenDir, 'read-token'), '--write-token-file', join(tokenDir, 'write-token')];
const cacheAnswers = async () => (await fetch(`${cacheUrl}/health`).catch(() => undefined))?.ok === true;
await $`${pharosCli} cache-tokens ${tokenArgs}`;
if (await cacheAnswers()) {
  say(`shared Nx cache answers at ${cacheUrl}`);
} else {
  mkdirSync(cacheHome, { recursive: true });
  const log = join(cacheHome, 'nx-remote-cache.log');
  const dir = join(cacheHome, 'nx-remote-cache');
  const out = openSync(log, 'a');
  const args = ['cache-server', '--dir', dir, ...tokenArgs, '--host', '127.0.0.1', '--port', '7420'];
  const server = spawn(pharosCli[0], [...pharosCli.slice(1), ...args], { detached: true, stdio: ['ignore', out, out] });
  writeFileSync(join(cacheHome, 'nx-remote-cache.pid'), `${server.pid}\n`);
  server.unref();
  let ok = false;
  for (let i = 0; i < 40 && !ok; i++) {
    ok = await cacheAnswers();
    if (!ok) await sleep(250);
  }
  if (!ok) {
    console.error(`setup: the shared Nx cache did not answer within 10 s. next: read ${log}`);
    process.exit(1);
  }
  say(`started the shared Nx cache at ${cacheUrl} (entries: ${dir}; log: ${log})`);
}

// The team store (docs/store.md#the-team-store): Debian's docker-registry on loopback, a read-only door on :7421 (what
// every machine reads by default) and a read-write one on :7422 (CI), over ~/.cache/pharos/registry, each started
// unless it answers; its credentials files written once (0600) in ~/.config/pharos/registry. A site that sets
// PHAROS_REGISTRY uses its own registry instead, and this one just sits idle.
const registry = await $`${pharosCli} registry-start`.nothrow();
// Not fatal: without it a machine still builds everything itself, and a blob it lacks is the error naming the target.
if (registry.exitCode !== 0) say(`warning: the team store did not start; blobs are not shared until it does:\n${registry.stderr.trim()}`);
else for (const line of registry.stdout.trim().split('\n')) say(line);

// The apt cache (docs/apt-cache.md): apt-cacher-ng on 127.0.0.1:3142 and the Docker bridge's gateway, so debootstrap,
// Docker builds and containers, and QEMU guests (through slirp's 10.0.2.2) fetch each Debian package once. Transport
// only: never a cache input. Not fatal: without it every client fetches from the mirror directly, as before.
const aptCache = await $`${pharosCli} apt-cache-start`.nothrow();
if (aptCache.exitCode !== 0) say(`warning: the apt cache did not start; apt clients fetch from the mirror directly:\n${aptCache.stderr.trim()}`);
else for (const line of aptCache.stdout.trim().split('\n')) say(line);

#!/usr/bin/env zx
// Host setup for Pharos, run by both README commands. Idempotent: it installs only what is missing and starts a
// Docker daemon only when none answers, and it says what it did. Everything else (the toolchain) lives in the dev
// container, so the host needs just these.
import { existsSync, openSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { $, sleep } from 'zx';
import Docker from 'dockerode';

$.verbose = false;
const say = (msg) => console.log(`setup: ${msg}`);

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
];

const has = async (cmd) => (await $`command -v ${cmd}`.nothrow()).exitCode === 0 || existsSync(`/usr/sbin/${cmd}`) || existsSync(`/usr/bin/${cmd}`);
const isRoot = process.getuid?.() === 0;
const canSudo = !isRoot && (await has('sudo')) && (await $`sudo -n true`.nothrow()).exitCode === 0;
const asRoot = (args) => (isRoot ? $`${args}` : $`sudo -n ${args}`);

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

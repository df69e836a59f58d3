import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStubbed, scriptFolder, stubDir } from '../../testing/sh-stubs';
import { INSTALL_DEBS_SCRIPT } from '../../lib/source-build/verify-products';
import { GPG_VERIFY_SCRIPT } from '../../tools/gpg';
import { CLUSTER_CHECK_SCRIPT, DEB_CHECK_SCRIPT, MPI_RING_SOURCE, TARBALL_CHECK_SCRIPT, tarballCheck } from './executor';

/**
 * The check scripts with the real sh, laid out as in the container's /pharos. What needs the suite's container as root
 * (apt-get, the cluster, Lmod) is a stand-in: these prove the order and the arguments; the cluster itself is proven by
 * npm run test:slurm, and cluster-check.sh's provenance failure by executor.docker.spec.ts.
 */
describe('slurm checks', () => {
  it('installs the cluster packages with apt, then runs the cluster check on the .debs', async () => {
    const dir = scriptFolder([DEB_CHECK_SCRIPT], { 'install-debs.sh': 'echo "install-debs $*"', 'cluster-check.sh': 'echo "cluster-check $*"' });
    const r = await runStubbed(join(dir, 'deb-check.sh'), ['slurm-smd_1_amd64.deb', 'slurm-smd-client_1_amd64.deb'], {}, stubDir({}));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      'install-debs slurm-smd_1_amd64.deb slurm-smd-client_1_amd64.deb',
      'pharos-check: ok   installed 2 packages with apt in a clean container',
      'cluster-check deb',
    ]);
    expect([INSTALL_DEBS_SCRIPT, CLUSTER_CHECK_SCRIPT].every((s) => s.endsWith('.sh'))).toBe(true);
  });

  it('checks the signature before anything is unpacked, and stops on a bad one', async () => {
    const file = 'slurm-24.11.5-trixie-x86_64-software.tar.gz';
    const signed = tarballCheck({ file, variants: ['gpu'], signature: { file: `${file}.asc`, publicKey: `${file}.pub.asc`, fingerprint: 'F'.repeat(40) } });
    expect(signed.env).toEqual({ VARIANTS: 'gpu', COMPONENTS: '', MODULE_LAYOUT: 'flat' });
    const dir = scriptFolder([TARBALL_CHECK_SCRIPT], { 'gpg-verify.sh': 'echo "gpg-verify $*"; exit 1' });
    const r = await runStubbed(join(dir, 'tarball-check.sh'), signed.args, signed.env ?? {}, stubDir({ 'apt-get': '', tar: '' }));
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain(`gpg-verify /tarball/${file}.pub.asc /tarball/${file}.asc /tarball/${file}`);
    expect(r.stdout).toContain(`pharos-check: FAIL ${file}.asc does not verify against ${file}.pub.asc`);
    expect(r.calls.some((c) => c.startsWith('tar'))).toBe(false);
    expect(tarballCheck({ file, variants: [] }).args).toEqual([file]);
    expect(GPG_VERIFY_SCRIPT).toMatch(/gpg-verify\.sh$/);
  });

  it('refuses a gpu build without the NVML plugin, after unpacking it under another prefix', async () => {
    const dir = scriptFolder([TARBALL_CHECK_SCRIPT]);
    const root = join(dir, 'relocated');
    const r = await runStubbed(join(dir, 'tarball-check.sh'), ['s.tar.gz'], { VARIANTS: 'gpu', RELOCATED_ROOT: root }, stubDir({ 'apt-get': '', tar: '' }));
    expect(r.exitCode).toBe(1);
    expect(r.calls).toContain(`tar -C ${root} -xzf /tarball/s.tar.gz`);
    expect(r.stdout).toContain(`pharos-check: ok   unpacked s.tar.gz under ${root}, not /opt/slurm`);
    expect(r.stdout).toContain('pharos-check: FAIL the gpu variant has no lib/slurm/gpu_nvml.so');
  });

  it("passes what the manifest says is in the tarball, and installs a compiler for Open MPI's mpicc", async () => {
    const check = tarballCheck({
      file: 's.tar.gz',
      variants: [],
      components: [{ name: 'openmpi', version: '5.0.7', source: { file: 'o.tar.xz', sha256: 'a'.repeat(64) }, configureFlags: [] }],
      modules: { layout: 'hierarchy', files: [] },
    });
    expect(check.env).toEqual({ VARIANTS: '', COMPONENTS: 'openmpi/5.0.7', MODULE_LAYOUT: 'hierarchy' });
    const dir = scriptFolder([TARBALL_CHECK_SCRIPT]);
    // Stops at Lmod's init, which only the container has: the packages asked for are what this proves.
    const r = await runStubbed(
      join(dir, 'tarball-check.sh'),
      check.args,
      { ...check.env, RELOCATED_ROOT: join(dir, 'r') },
      stubDir({ 'apt-get': '', tar: '' }),
    );
    expect(r.exitCode).not.toBe(0);
    expect(r.calls).toContain('apt-get install -y -q --no-install-recommends lmod gcc libc6-dev');
    expect(MPI_RING_SOURCE).toMatch(/mpi-ring\.c$/);
  });

  it('refuses a tarball built without Open MPI that has it all the same', async () => {
    const dir = scriptFolder([TARBALL_CHECK_SCRIPT]);
    const root = join(dir, 'relocated');
    mkdirSync(join(root, 'view/bin'), { recursive: true });
    writeFileSync(join(root, 'view/bin/mpicc'), '');
    const env = { VARIANTS: 'minimal', COMPONENTS: '', RELOCATED_ROOT: root };
    const r = await runStubbed(join(dir, 'tarball-check.sh'), ['s.tar.gz'], env, stubDir({ 'apt-get': '', tar: '' }));
    expect(r.exitCode).toBe(1);
    expect(r.calls).toContain('apt-get install -y -q --no-install-recommends lmod');
    expect(r.stdout).toContain('pharos-check: FAIL bin/mpicc is in a tarball built without Open MPI');
  });
});

import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureOutput, executorContext } from '../../e2e/harness';
import { failureOf } from '../testing/failure';
import { PharosError } from '../utils/errors';
import { HostApptainer } from './apptainer-host';
import { apptainerForTask, apptainerPlace } from './apptainer-runner';

describe('apptainerPlace', () => {
  it('is the dev container (through Docker) by default, the host inside a Slurm job or when asked', () => {
    expect(apptainerPlace({}).where).toBe('dev-container');
    expect(apptainerPlace({ PHAROS_APPTAINER: '' }).where).toBe('dev-container');
    expect(apptainerPlace({ SLURM_JOB_ID: '42' })).toEqual({ where: 'host', why: 'inside Slurm job 42' });
    expect(apptainerPlace({ PHAROS_APPTAINER: 'host' })).toEqual({ where: 'host', why: 'PHAROS_APPTAINER=host' });
    expect(apptainerPlace({ PHAROS_APPTAINER: 'host', SLURM_JOB_ID: '7' }).why).toBe('inside Slurm job 7');
  });

  it('refuses a PHAROS_APPTAINER that is not a place, naming what is', () => {
    expect(() => apptainerPlace({ PHAROS_APPTAINER: 'docker' })).toThrow(PharosError);
    expect(() => apptainerPlace({ PHAROS_APPTAINER: 'docker' })).toThrow('PHAROS_APPTAINER is "docker", which is not a place to run Apptainer');
  });
});

/** Runs `fn` with DOCKER_HOST at a port nothing listens on: a call that asks Docker fails. */
async function withoutDocker<T>(fn: () => Promise<T>): Promise<T> {
  const dockerHost = process.env.DOCKER_HOST;
  process.env.DOCKER_HOST = 'tcp://127.0.0.1:1';
  try {
    return await fn();
  } finally {
    if (dockerHost === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = dockerHost;
  }
}

describe('apptainerForTask', () => {
  const projects = { 'dev-container': { root: 'tools/dev-container', name: 'dev-container' }, demo: { root: 'containers/demo', name: 'demo' } };

  it("inside a Slurm job is this host's Apptainer with the dev container's SIF, and never asks Docker", async () => {
    const ws = mkdtempSync(join(tmpdir(), 'pharos-runner-'));
    const dir = join(ws, 'dist/tools/dev-container');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'dev-container.sif'), 'sif');
    const manifest = { schema: 1, project: 'dev-container', sif: 'dev-container.sif', sha256: 'ab', bytes: 3, mksquashfsArgs: '', apptainerVersion: '1.4.1' };
    writeFileSync(join(dir, 'dev-container.sif.json'), JSON.stringify(manifest));
    const { result, stdout } = await withoutDocker(() =>
      captureOutput(() =>
        apptainerForTask(executorContext(ws, 'demo', 'overlay', projects), 'dev-container', { env: { SLURM_JOB_ID: '42', PHAROS_STORE: join(ws, 'store') } }),
      ),
    );
    expect(result).toBeInstanceOf(HostApptainer);
    // This machine's store, bound beside the workspace for the tools run in the dev container's SIF.
    expect(existsSync(join(ws, 'store'))).toBe(true);
    expect(stdout).toMatch(/^pharos: apptainer on .+ \(inside Slurm job 42\); other tools from dist\/tools\/dev-container\/dev-container\.sif\n$/);
  });

  it('without the SIF says which target makes it', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'pharos-runner-'));
    const err = await failureOf(apptainerForTask(executorContext(ws, 'demo', 'overlay', projects), 'dev-container', { env: { PHAROS_APPTAINER: 'host' } }));
    expect(err).toBeInstanceOf(PharosError);
    expect(err.details.next).toMatch('npx nx run dev-container:sif');
  });

  it('outside a Slurm job is the dev container through Docker, as before', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'pharos-runner-'));
    const err = await failureOf(withoutDocker(() => apptainerForTask(executorContext(ws, 'demo', 'overlay', projects), 'dev-container', { env: {} })));
    expect(err.message).toMatch('no Docker daemon answers at tcp://127.0.0.1:1');
  });
});

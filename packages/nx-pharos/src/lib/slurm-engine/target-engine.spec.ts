import type { ExecutorContext } from '@nx/devkit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PharosError } from '../../utils/errors';
import type { JobRequest } from './run-as-job';
import { jobResourcesOf, slurmJobIfChosen, withDefaultResources, type JobResourceOptions } from './target-engine';
import { nodeBinary, workspaceSlurmOptions } from './workspace-options';

const DEFAULTS = { cpusPerTask: 2, memoryMiB: 4096, timeMinutes: 60 };

function contextWith(pluginOptions?: object): ExecutorContext {
  return {
    root: '/nonexistent-ws',
    cwd: '/nonexistent-ws',
    isVerbose: false,
    projectName: 'samtools-1.21',
    targetName: 'sif',
    projectsConfigurations: { version: 2, projects: {} },
    nxJsonConfiguration: { plugins: ['other', ...(pluginOptions ? [{ plugin: '@pharos/nx-plugin', options: pluginOptions }] : ['@pharos/nx-plugin'])] },
    projectGraph: { nodes: {}, dependencies: {} },
  };
}

describe('jobResourcesOf', () => {
  it('reads cpus, memory and time in sbatch words, each defaulted', () => {
    expect(jobResourcesOf({})).toEqual(DEFAULTS);
    expect(jobResourcesOf({ cpus: 8, memory: '512m', time: '90' })).toEqual({ cpusPerTask: 8, memoryMiB: 512, timeMinutes: 90 });
    expect(jobResourcesOf({ memory: '8000', time: '1-00:00:00' })).toEqual({ cpusPerTask: 2, memoryMiB: 8000, timeMinutes: 1440 });
  });

  it('names the option that is not what sbatch takes, and its default', () => {
    const err = (o: JobResourceOptions) => {
      try {
        jobResourcesOf(o);
      } catch (e) {
        return (e as PharosError).format();
      }
      throw new Error('no error');
    };
    expect(err({ memory: '4X' })).toContain('the option memory is "4X", which is not a Slurm size above 0');
    expect(err({ memory: '4X' })).toContain('or leave it out for the default (4G)');
    expect(err({ time: 'soon' })).toContain('the option time is "soon", which is not a Slurm time limit');
    expect(err({ cpus: 0 })).toContain('the option cpus is 0, which is not a whole number of CPUs above 0');
  });
});

describe('withDefaultResources', () => {
  it("fills what a script leaves out, and never adds CPUs to a script's task count", () => {
    expect(withDefaultResources({})).toEqual(DEFAULTS);
    expect(withDefaultResources({ tasks: 4 })).toEqual({ tasks: 4, memoryMiB: 4096, timeMinutes: 60 });
    expect(withDefaultResources({ cpusPerTask: 16, memoryMiB: 100, timeMinutes: 5, gpus: 1 })).toEqual({
      cpusPerTask: 16,
      memoryMiB: 100,
      timeMinutes: 5,
      gpus: 1,
    });
  });
});

describe('the workspace options', () => {
  it("reads the plugin's Slurm options from the context's nx.json, and none when the plugin is named without options", () => {
    expect(workspaceSlurmOptions(contextWith())).toEqual({});
    expect(workspaceSlurmOptions(contextWith({ engine: 'slurm', partition: 'short', overlayBase: 'x' }))).toEqual({ engine: 'slurm', partition: 'short' });
    expect(() => workspaceSlurmOptions(contextWith({ engine: 'cloud' }))).toThrow('"engine" must be one of local, slurm');
  });

  it('runs the node with PHAROS_SLURM_NODE_BIN, else the plugin option, else node', () => {
    expect(nodeBinary({}, {})).toBe('node');
    expect(nodeBinary({ slurmNode: '/opt/node/bin/node' }, {})).toBe('/opt/node/bin/node');
    expect(nodeBinary({ slurmNode: '/opt/node/bin/node' }, { PHAROS_SLURM_NODE_BIN: '/sw/node22/bin/node' })).toBe('/sw/node22/bin/node');
  });
});

describe('slurmJobIfChosen', () => {
  let stderr: string;
  let submitted: JobRequest[];
  const runAsJob = async (req: JobRequest) => (submitted.push(req), { success: true });

  beforeEach(() => {
    stderr = '';
    submitted = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((t) => ((stderr += String(t)), true));
  });
  afterEach(() => vi.restoreAllMocks());

  it('leaves the target to run here by default, inside a job, and when the target says local', () => {
    expect(slurmJobIfChosen('def-sif', {}, contextWith(), undefined, { env: {}, runAsJob })).toBeUndefined();
    expect(slurmJobIfChosen('def-sif', {}, contextWith(), undefined, { env: { PHAROS_ENGINE: 'slurm', SLURM_JOB_ID: '7' }, runAsJob })).toBeUndefined();
    expect(slurmJobIfChosen('def-sif', { engine: 'local' }, contextWith(), undefined, { env: { PHAROS_ENGINE: 'slurm' }, runAsJob })).toBeUndefined();
    expect(submitted).toEqual([]);
  });

  it('submits the target with its options, sized by them, when Slurm is chosen', async () => {
    const options = { definition: 'x.def', cpus: 4, partition: 'short' };
    expect(await slurmJobIfChosen('def-sif', options, contextWith(), undefined, { env: { PHAROS_ENGINE: 'slurm' }, runAsJob })).toEqual({ success: true });
    expect(submitted).toHaveLength(1);
    expect(submitted[0]).toMatchObject({
      executor: 'def-sif',
      options,
      resources: { cpusPerTask: 4, memoryMiB: 4096, timeMinutes: 60 },
      partition: 'short',
      why: 'PHAROS_ENGINE=slurm',
    });
  });

  it("takes a script's request from the executor's own reader, with the defaults for what it leaves out", async () => {
    const other = [{ flag: '--qos', value: 'high', line: 2 }];
    const job = () => ({ resources: { tasks: 2 }, other, file: 'a.sh' });
    await slurmJobIfChosen('overlay', {}, contextWith({ engine: 'slurm' }), job, { env: {}, runAsJob });
    expect(submitted[0]).toMatchObject({ resources: { tasks: 2, memoryMiB: 4096, timeMinutes: 60 }, other, file: 'a.sh' });
    expect(submitted[0].why).toMatch(/the workspace's engine option/);
  });

  it("fails the task with the message of a mistake in choosing or sizing, as an executor's failure", async () => {
    expect(await slurmJobIfChosen('def-sif', {}, contextWith(), undefined, { env: { PHAROS_ENGINE: 'cluster' }, runAsJob })).toEqual({ success: false });
    expect(stderr).toContain('PHAROS_ENGINE is "cluster", which is not an engine');
    const badScript = () => {
      throw new PharosError('#SBATCH --mem=lots: "lots" is not a Slurm size', { file: 'a.sh', line: 3 });
    };
    expect(await slurmJobIfChosen('overlay', {}, contextWith(), badScript, { env: { PHAROS_ENGINE: 'slurm' }, runAsJob })).toEqual({ success: false });
    expect(stderr).toContain('a.sh:3: #SBATCH --mem=lots');
    expect(submitted).toEqual([]);
  });
});

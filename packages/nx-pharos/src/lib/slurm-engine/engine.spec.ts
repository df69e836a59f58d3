import { describe, expect, it } from 'vitest';
import { PharosError } from '../../utils/errors';
import { chooseEngine } from './engine';

describe('chooseEngine', () => {
  it('runs locally unless told otherwise', () => {
    expect(chooseEngine({ env: {} })).toEqual({ engine: 'local', why: 'the default' });
    expect(chooseEngine({ env: { PHAROS_ENGINE: '' } }).engine).toBe('local');
  });

  it('weighs the target option over PHAROS_ENGINE over the workspace option', () => {
    expect(chooseEngine({ workspaceOption: 'slurm', env: {} })).toMatchObject({ engine: 'slurm', why: expect.stringMatching('nx.json') });
    expect(chooseEngine({ workspaceOption: 'slurm', env: { PHAROS_ENGINE: 'local' } })).toEqual({ engine: 'local', why: 'PHAROS_ENGINE=local' });
    expect(chooseEngine({ workspaceOption: 'local', env: { PHAROS_ENGINE: 'slurm' } }).engine).toBe('slurm');
    expect(chooseEngine({ targetOption: 'local', workspaceOption: 'slurm', env: { PHAROS_ENGINE: 'slurm' } })).toEqual({
      engine: 'local',
      why: "the target's engine option",
    });
    expect(chooseEngine({ targetOption: 'slurm', env: { PHAROS_ENGINE: 'local' } }).engine).toBe('slurm');
  });

  it('never nests: inside a Slurm job, whatever the options say, targets run locally', () => {
    const choice = chooseEngine({ targetOption: 'slurm', workspaceOption: 'slurm', env: { PHAROS_ENGINE: 'slurm', SLURM_JOB_ID: '42' } });
    expect(choice).toEqual({ engine: 'local', why: 'inside Slurm job 42 (SLURM_JOB_ID): targets run where they are, never as nested jobs' });
  });

  it('refuses a PHAROS_ENGINE that is not an engine, naming the two that are', () => {
    let err: unknown;
    try {
      chooseEngine({ env: { PHAROS_ENGINE: 'slrum' } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PharosError);
    const text = (err as PharosError).format();
    expect(text).toMatch('pharos: choose the engine: PHAROS_ENGINE is "slrum", which is not an engine');
    expect(text).toMatch('set PHAROS_ENGINE to local (run targets on this machine) or slurm (run them as Slurm jobs)');
  });
});

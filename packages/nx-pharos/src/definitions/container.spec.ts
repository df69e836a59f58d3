import { describe, expect, it } from 'vitest';
import { parseError } from '../testing/parse-error';
import { parseContainerDefinition } from './container';

const FILE = 'containers/x/container.yaml';

const errorOf = (text: string) => parseError(parseContainerDefinition, text, FILE);

describe('container.yaml', () => {
  it('is optional in every part', () => {
    expect(parseContainerDefinition('', FILE)).toEqual({ buildArgs: {}, artifacts: [], sif: {}, test: { runtimes: ['docker', 'apptainer'], checks: [] } });
  });

  it('reads build args, artifacts, SIF settings and checks', () => {
    const def = parseContainerDefinition(
      [
        'buildArgs: { SLURM_VERSION: "24.11.5" }',
        'artifacts:',
        '  - project: slurm',
        '    target: deb',
        '    files: dist/third-party/slurm/*.deb',
        'sif: { compression: gzip, compressionLevel: 9, sign: true }',
        'test:',
        '  checks:',
        '    - command: mpirun -n 2 hello',
        '      expectOutputContains: [rank 0, rank 1]',
        '      runtimes: [apptainer]',
      ].join('\n'),
      FILE,
    );
    expect(def.buildArgs).toEqual({ SLURM_VERSION: '24.11.5' });
    expect(def.artifacts).toEqual([{ project: 'slurm', target: 'deb', files: ['dist/third-party/slurm/*.deb'], into: 'artifacts/slurm' }]);
    expect(def.sif).toEqual({ compression: 'gzip', compressionLevel: 9, sign: true });
    expect(def.test.checks[0]).toEqual({ command: 'mpirun -n 2 hello', expectOutputContains: ['rank 0', 'rank 1'], runtimes: ['apptainer'] });
  });

  it("reads a check's time limit, and names the line of one that is not a duration", () => {
    const def = parseContainerDefinition('test:\n  checks:\n    - command: sleep 5\n      timeout: 90s\n', FILE);
    expect(def.test.checks[0]).toEqual({ command: 'sleep 5', timeout: '90s' });
    const err = errorOf('test:\n  checks:\n    - command: sleep 5\n      timeout: 2 hours\n');
    expect(err.details).toMatchObject({ file: FILE, line: 4 });
    expect(err.message).toBe('"test.checks[0].timeout" must be a duration such as 90s, 10m or 1h30m, got "2 hours"');
  });

  it('names the file, the line and the full key of an unknown option', () => {
    const err = errorOf('test:\n  checks:\n    - command: "true"\n      expectOuput: x\n');
    expect(err.details).toMatchObject({ file: FILE, line: 4 });
    expect(err.message).toContain('unknown key "test.checks[0].expectOuput"');
    expect(err.message).toContain('expectOutput');
  });

  it('rejects wrong types and values with their line', () => {
    expect(errorOf('sif:\n  compression: brotli\n').message).toBe('"sif.compression" must be one of gzip, lz4, lzo, xz, zstd, got "brotli"');
    expect(errorOf('sif:\n  compression: brotli\n').details.line).toBe(2);
    expect(errorOf('test:\n  checks:\n    - name: no command\n').message).toBe('"test.checks[0]" lacks "command"');
    expect(errorOf('buildArgs: [a]\n').message).toBe('"buildArgs" must be a mapping');
    expect(errorOf('test: [\n').message).toMatch(/^invalid YAML/);
  });
});

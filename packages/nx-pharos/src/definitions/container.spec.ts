import { describe, expect, it } from 'vitest';
import { parseError } from '../testing/parse-error';
import { checkArtifactSources, parseContainerDefinition } from './container';

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

  it('refuses an artifact of a project or target the graph does not have, at its line', () => {
    const projects = { slurm: { targets: { build: {}, tarball: {} } }, empty: {} };
    const text = (artifact: string) => `buildArgs:\n  A: b\nartifacts:\n  - files: [dist/x]\n${artifact}`;
    const check = (t: string) => parseError((x, f) => checkArtifactSources(x, f, projects), text(t), FILE);
    expect(() => checkArtifactSources(text('    project: slurm\n    target: tarball\n'), FILE, projects)).not.toThrow();
    expect(() => checkArtifactSources(text('    project: slurm\n'), FILE, projects)).not.toThrow();
    const noProject = check('    project: slurn\n');
    expect(noProject.details).toMatchObject({ file: FILE, line: 5, next: 'name a project of this workspace (npx nx show projects lists them)' });
    expect(noProject.message).toBe('"artifacts[0].project" names no project: "slurn"');
    const noTarget = check('    project: slurm\n    target: debs\n');
    expect(noTarget.details).toMatchObject({ line: 6, next: 'name one of its targets: build, tarball' });
    expect(noTarget.message).toBe('"artifacts[0].target": project slurm has no target "debs"');
    const noDefault = check('    project: empty\n');
    expect(noDefault.details).toMatchObject({ line: 5, next: 'name one of its targets: (it has none)' });
    expect(noDefault.message).toBe('"artifacts[0].target": project empty has no target "build" (the default)');
  });
});

import { describe, expect, it } from 'vitest';
import { PharosError } from '../utils/errors';
import { overlayPathClashes, parseOverlayPath } from './overlay-path';

function errorOf(file: string): PharosError {
  try {
    parseOverlayPath(file);
  } catch (err) {
    if (err instanceof PharosError) return err;
    throw err;
  }
  throw new Error(`expected ${file} to be refused`);
}

describe('parseOverlayPath', () => {
  it('names a build script and a definition file <name>-<version>', () => {
    expect(parseOverlayPath('containers/overlays/samtools/1.21.sh')).toEqual({
      file: 'containers/overlays/samtools/1.21.sh',
      name: 'samtools',
      version: '1.21',
      kind: 'script',
      key: 'samtools/1.21',
      projectName: 'samtools-1.21',
    });
    expect(parseOverlayPath('containers/overlays/bioinfo-base/2024.1.def')).toMatchObject({
      kind: 'def',
      key: 'bioinfo-base/2024.1',
      projectName: 'bioinfo-base-2024.1',
    });
    expect(parseOverlayPath('containers/overlays/htslib/1.21+ds.sh').projectName).toBe('htslib-1.21+ds');
    expect(parseOverlayPath('containers/overlays/star/2.7.11b.sh').projectName).toBe('star-2.7.11b');
    expect(parseOverlayPath('containers/overlays/tool/1.0~rc1.sh').version).toBe('1.0~rc1');
  });

  it('refuses another layout, naming the file and the layout', () => {
    const nested = errorOf('containers/overlays/grch38/genome/47.sh');
    expect(nested.message).toBe('an overlay build script is containers/overlays/<name>/<version>.sh, or .def for an Apptainer definition file');
    expect(nested.details.file).toBe('containers/overlays/grch38/genome/47.sh');
    expect(errorOf('containers/overlays/samtools/1.21').message).toContain('<version>.sh');
    expect(errorOf('containers/overlays/samtools.sh').message).toContain('<version>.sh');
  });

  it('refuses a name Nx would not take and characters that are not safe in a project name', () => {
    expect(errorOf('containers/overlays/3dslicer/5.0.sh').message).toContain('must start with a letter');
    expect(errorOf('containers/overlays/my tool/1.0.sh').message).toContain('"my tool"');
    expect(errorOf('containers/overlays/tool/1:0.sh').message).toContain('the version "1:0"');
    expect(errorOf('containers/overlays/tool/.sh').message).toContain('<version>.sh');
  });
});

describe('overlayPathClashes', () => {
  it('refuses two scripts for one name/version and two paths that make one project name', () => {
    const paths = [
      'containers/overlays/x/1.sh',
      'containers/overlays/x/1.def',
      'containers/overlays/a-b/1.sh',
      'containers/overlays/a/b-1.sh',
      'containers/overlays/y/1.sh',
    ].map(parseOverlayPath);
    expect(overlayPathClashes(paths).map((e) => [e.details.file, e.message])).toEqual([
      ['containers/overlays/a/b-1.sh', 'containers/overlays/a/b-1.sh and containers/overlays/a-b/1.sh would both be the Nx project a-b-1'],
      ['containers/overlays/x/1.sh', 'containers/overlays/x/1.sh and containers/overlays/x/1.def are both x/1'],
    ]);
    expect(overlayPathClashes(paths.slice(4))).toEqual([]);
  });
});

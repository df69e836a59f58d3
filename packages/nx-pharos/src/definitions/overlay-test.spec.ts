import { describe, expect, it } from 'vitest';
import { parseError } from '../testing/parse-error';
import { overlayTestFile, parseOverlayTest } from './overlay-test';

const FILE = 'containers/overlays/samtools/1.16.1.test.yaml';

describe('<version>.test.yaml', () => {
  it('sits beside its script', () => {
    expect(overlayTestFile('containers/overlays/samtools/1.16.1.sh')).toBe(FILE);
  });

  it("reads container.yaml's check shape, and an empty file as no checks", () => {
    const text = 'checks:\n  - name: v\n    command: samtools --version\n    expectOutputContains: samtools 1.16.1\n    timeout: 1m\n';
    expect(parseOverlayTest(text, FILE).checks).toEqual([
      { name: 'v', command: 'samtools --version', expectOutputContains: ['samtools 1.16.1'], timeout: '1m' },
    ]);
    expect(parseOverlayTest('', FILE).checks).toEqual([]);
  });

  it('refuses runtimes (an overlay runs in Apptainer only) and unknown keys, with the line', () => {
    const err = parseError(parseOverlayTest, 'checks:\n  - command: "true"\n    runtimes: [docker]\n', FILE);
    expect(err.details).toMatchObject({ file: FILE, line: 3 });
    expect(err.message).toContain('unknown key');
  });
});

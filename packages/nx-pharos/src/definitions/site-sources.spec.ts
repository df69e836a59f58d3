import { describe, expect, it } from 'vitest';
import { parseError } from '../testing/parse-error';
import { parseSiteSources, setSitePin } from './site-sources';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const FILE = '/home/u/.config/pharos/sources.yaml';

describe('setSitePin', () => {
  it("adds the pin and keeps the site's comments, blank lines, quoting, order and mirrors", () => {
    const text = [
      '# Site sources: checked by hand, see the wiki.',
      '',
      'mirrors: [file:///srv/mirror, "file:///srv/other mirror"] # the lab NAS first',
      '',
      '# digests we checked',
      'pins:',
      '  # from the 2024 audit',
      `  slurm-25.05.0.tar.bz2: '${A}'`,
      '# end',
      '',
    ].join('\n');
    const out = setSitePin(text, 'beegfs-7.4.7.tar.gz', B, FILE);
    // The yaml Document keeps every comment; it sets a comment after the last pin apart with a blank line.
    expect(out).toBe(text.replace(`'${A}'\n# end`, `'${A}'\n  beegfs-7.4.7.tar.gz: ${B}\n\n# end`));
    expect(setSitePin(out, 'x.tar.gz', A, FILE)).toBe(out.replace(`${B}\n`, `${B}\n  x.tar.gz: ${A}\n`));
    expect(parseSiteSources(out, FILE)).toEqual({
      mirrors: ['file:///srv/mirror', 'file:///srv/other mirror'],
      pins: { 'slurm-25.05.0.tar.bz2': A, 'beegfs-7.4.7.tar.gz': B },
    });
  });

  it('starts the pins where there are none: an empty file, a comment only, `pins:` or `pins: {}`', () => {
    expect(setSitePin('', 'x.tar.gz', A, FILE)).toBe(`pins:\n  x.tar.gz: ${A}\n`);
    expect(setSitePin('# mine\n', 'x.tar.gz', A, FILE)).toBe(`# mine\n\npins:\n  x.tar.gz: ${A}\n`);
    expect(setSitePin('mirrors: []\npins:\n', 'x.tar.gz', A, FILE)).toBe(`mirrors: []\npins:\n  x.tar.gz: ${A}\n`);
    expect(setSitePin('pins: {} # none yet\n', 'x.tar.gz', A, FILE)).toBe(`pins:\n  x.tar.gz: ${A}\n  # none yet\n`);
  });

  it('leaves the text alone when the pin is there, and refuses to replace another digest', () => {
    const text = `pins:\n  x.tar.gz: ${A} # ours\n`;
    expect(setSitePin(text, 'x.tar.gz', A, FILE)).toBe(text);
    expect(() => setSitePin(text, 'x.tar.gz', B, FILE)).toThrow(`x.tar.gz is already pinned to ${A}, not ${B}`);
  });

  it('refuses a sources config it could not read back, naming file and line', () => {
    const err = parseError((t, f) => setSitePin(t, 'y.tar.gz', A, f), 'mirrors: []\npins:\n  x.tar.gz: nope\n', FILE);
    expect([err.details.file, err.details.line]).toEqual([FILE, 3]);
    expect(err.message).toContain('be a sha256 digest');
  });
});

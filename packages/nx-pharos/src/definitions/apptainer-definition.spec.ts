import { describe, expect, it } from 'vitest';
import { parseError } from '../testing/parse-error';
import { definitionSummary, parseApptainerDefinition } from './apptainer-definition';

const FILE = 'containers/overlays/site-shell/1.0.def';
const parse = (text: string) => parseApptainerDefinition(text, FILE);
const refused = (text: string) => parseError(parseApptainerDefinition, text, FILE);

const GOOD = `# A comment before the header
Bootstrap: localimage
From: dist/containers/base-tools/base-tools.sif   # the Pharos SIF

%help
    A shell for the site.
    More text.

%post -c /bin/sh
    echo hi > /etc/hi
%environment
    export SITE=x
%runscript
    exec cat /etc/hi
%labels
    Author pharos
%apprun hello
    echo hello
`;

describe('parseApptainerDefinition', () => {
  it('reads the header keywords with their lines, and the sections in order with their arguments', () => {
    const def = parse(GOOD);
    expect(def.bootstrap).toEqual({ key: 'bootstrap', value: 'localimage', line: 2 });
    expect(def.from).toEqual({ key: 'from', value: 'dist/containers/base-tools/base-tools.sif', line: 3 });
    expect(def.sections.map((s) => [s.name, s.args, s.line])).toEqual([
      ['help', '', 5],
      ['post', '-c /bin/sh', 9],
      ['environment', '', 11],
      ['runscript', '', 13],
      ['labels', '', 15],
      ['apprun', 'hello', 17],
    ]);
    expect(def.sections[1].body).toEqual(['    echo hi > /etc/hi']);
    expect(definitionSummary(def)).toBe('A shell for the site.');
  });

  it('reads keywords case-insensitively, CRLF files and continued values, as Apptainer does', () => {
    const def = parse('BootStrap: localimage\r\nFROM: a\\\n  b\r\n%post\r\n  true\r\n');
    expect(def.bootstrap.value).toBe('localimage');
    expect(def.from).toEqual({ key: 'from', value: 'ab', line: 2 });
    expect(parse('Bootstrap: localimage\nOtherURL1: x\n').header.otherurl1.value).toBe('x');
    expect(definitionSummary(parse('Bootstrap: scratch\n'))).toBeUndefined();
  });

  it('takes a section whose line is indented, as Apptainer finds it by the first word', () => {
    expect(parse('Bootstrap: localimage\n  %post\n    true\n').sections[0]).toMatchObject({ name: 'post', line: 2 });
  });

  it('refuses a header line that is no Keyword: value, an unknown keyword and a keyword given twice', () => {
    const e = refused('Bootstrap: localimage\nlocalimage\n');
    expect([e.message, e.details.line]).toEqual(['"localimage" is not a header line', 2]);
    expect(refused('Bootstrap: localimage\nFormat: x\n').message).toBe('Format: is not an Apptainer header keyword');
    const twice = refused('Bootstrap: localimage\nFrom: a\nfrom: b\n');
    expect([twice.message, twice.details.line]).toEqual(['from: is given twice (line 2 and here)', 3]);
  });

  it('refuses a definition without Bootstrap:, naming the file', () => {
    const e = refused('From: x\n%post\n  true\n');
    expect(e.message).toBe('the definition has no Bootstrap: header');
    expect(e.details).toMatchObject({ file: FILE, line: 1 });
  });

  it('refuses an unknown section, an app section without its app, and a second stage', () => {
    const typo = refused('Bootstrap: localimage\n%enviroment\n  A=1\n');
    expect([typo.message, typo.details.line]).toEqual(['%enviroment is not an Apptainer section', 2]);
    expect(typo.details.next).toContain('%environment');
    expect(refused('Bootstrap: localimage\n%apprun\n  true\n').message).toBe('%apprun names no app');
    const stages = refused('Bootstrap: localimage\nFrom: a\n%post\n  true\nBootstrap: localimage\nFrom: b\n');
    expect([stages.message, stages.details.line]).toEqual(['a second Bootstrap: starts another build stage, and a .def here is one stage', 5]);
  });

  it('refuses %setup and %files: what they read from the build host is not in the cache key', () => {
    const files = refused('Bootstrap: localimage\nFrom: a\n%files\n  data.txt /opt/data.txt\n');
    expect([files.message, files.details.line]).toEqual([
      '%files: %files copies files from the build host, and they are not in the cache key, so an edit of one would not rebuild the image',
      3,
    ]);
    expect(files.details.next).toContain('%post');
    expect(refused('Bootstrap: localimage\nFrom: a\n%setup\n  touch x\n').message).toMatch(/^%setup: %setup runs on the build host/);
  });
});

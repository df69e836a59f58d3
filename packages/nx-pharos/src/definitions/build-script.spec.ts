import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseError } from '../testing/parse-error';
import { expandEnvValue, parseBuildScript } from './build-script';

const FIXTURES = join(__dirname, 'fixtures/build-scripts');
const fixture = (path: string) => parseBuildScript(readFileSync(join(FIXTURES, path), 'utf8'), `containers/overlays/${path}`);

const FILE = 'containers/overlays/x/1.0.sh';
const INSTALL = '\ninstall() {\n  true\n}\n';
const script = (header: string) => parseBuildScript(`#!/usr/bin/bash\n${header}\n${INSTALL}`, FILE);
const errorOf = (header: string) => parseError(parseBuildScript, `#!/usr/bin/bash\n${header}\n${INSTALL}`, FILE);
const NO_OTHER = { slurm: [], pbs: [], lsf: [] };
const SHA = 'c'.repeat(64);

describe('condatainer-style headers (fixtures)', () => {
  it('reads htslib: whatis, its URL, a pinned source, an env var with its note and Slurm long flags', () => {
    expect(fixture('htslib/1.21.sh')).toEqual({
      file: 'containers/overlays/htslib/1.21.sh',
      type: 'app',
      whatis: 'C library for high-throughput sequencing data formats (SAM/BAM/CRAM, VCF/BCF)',
      url: 'https://www.htslib.org/',
      deps: [],
      env: [{ key: 'HTSLIB_ROOT', value: '$app_root', note: 'htslib install prefix (headers in include/, libhts in lib/)', line: 6 }],
      interactive: [],
      sources: [
        {
          location: { kind: 'url', url: 'file:///srv/mirror/debian/pool/main/h/htslib/htslib_1.21.orig.tar.bz2' },
          sha256: '1'.repeat(64),
          file: 'htslib_1.21.orig.tar.bz2',
          line: 4,
        },
      ],
      scheduler: {
        resources: { cpusPerTask: 4, memoryMiB: 4096, timeMinutes: 30 },
        other: {
          slurm: [
            { flag: '--job-name', value: 'htslib-build', line: 12 },
            { flag: '--output', value: '%x-%j.log', line: 13 },
          ],
          pbs: [],
          lsf: [],
        },
      },
      installLine: 15,
    });
  });

  it('reads samtools: a #DEP range without its comment, once, and Slurm short flags', () => {
    const s = fixture('samtools/1.21.sh');
    expect(s.deps).toEqual([{ name: 'htslib', version: '1.21', range: { op: '>=', min: '1.17' }, line: 2, text: 'htslib/1.21>=1.17' }]);
    expect(s.scheduler).toEqual({
      resources: { cpusPerTask: 4, memoryMiB: 8000, timeMinutes: 60 },
      other: { ...NO_OTHER, slurm: [{ flag: '--partition', value: 'short', line: 12 }] },
    });
  });

  it('reads the reference-data overlay: #TYPE:data and PBS resources', () => {
    const s = fixture('toy-genome/1.0.sh');
    expect(s.type).toBe('data');
    expect(s.deps).toEqual([{ name: 'samtools', version: '1.21', range: { op: '>=', min: '1.10' }, line: 3, text: 'samtools/1.21>=1.10' }]);
    expect(s.env).toEqual([{ key: 'GENOME_FASTA', value: '$app_root/genome.fa', note: 'genome FASTA; genome.fa.fai beside it', line: 6 }]);
    expect(s.scheduler).toEqual({
      resources: { nodes: 1, tasks: 1, cpusPerTask: 2, memoryMiB: 2048, timeMinutes: 20 },
      other: { ...NO_OTHER, pbs: [{ flag: '-N', value: 'toy-genome', line: 11 }] },
    });
  });

  it("reads condatainer's newer spellings, LSF and an interactive prompt", () => {
    const s = fixture('vendor-aligner/2.0.sh');
    expect(s.whatis).toBe('A vendor aligner whose download link expires daily');
    expect(s.interactive).toEqual([{ prompt: "The vendor's links are valid for one day.\nPaste the tar.gz link from https://example.org/downloads", line: 6 }]);
    expect(s.env).toEqual([
      { key: 'ALIGNER_HOME', value: '{prefix}', note: 'where the aligner is installed', line: 8 },
      { key: 'ALIGNER_REF_DIR', value: '{prefix}/ref', line: 9 },
    ]);
    expect(s.scheduler).toEqual({
      resources: { nodes: 1, tasks: 8, memoryMiB: 16000, timeMinutes: 240 },
      other: {
        ...NO_OTHER,
        lsf: [
          { flag: '-J', value: 'vendor-aligner', line: 14 },
          { flag: '-q', value: 'normal', line: 15 },
        ],
      },
    });
    expect(s.installLine).toBe(17);
  });
});

describe('directives', () => {
  it('are read from column 0 only; an indented one and an unknown #KEY: are ordinary comments', () => {
    const s = script(' #DEP:a/1\n\t#SBATCH --mem=1G\n#TODO: something\n#LICENSE:MIT\n##SBATCH --bogus\n#SBATCHX --bogus');
    expect(s.deps).toEqual([]);
    expect(s.scheduler.resources).toEqual({});
  });

  it('read name=version, name@version and > as condatainer does', () => {
    expect(script('#DEP:a=1\n#DEP:b@2.0\n#DEP:c/3>2').deps.map((d) => [d.name, d.version, d.range])).toEqual([
      ['a', '1', undefined],
      ['b', '2.0', undefined],
      ['c', '3', { op: '>', min: '2' }],
    ]);
  });

  it('refuse a #DEP that names a file, no version, a nested name or a range nothing can satisfy', () => {
    expect(errorOf('#DEP:overlays/tool.sqf').message).toContain('names an overlay file');
    expect(errorOf('#DEP:./env.img').message).toContain('names an overlay file');
    expect(errorOf('#DEP:samtools').message).toBe('#DEP:samtools names no version');
    const nested = errorOf('#DEP:grch38/genome/gencode');
    expect(nested.message).toContain('"grch38/genome" is not an overlay name');
    expect(nested.details.line).toBe(2);
    expect(errorOf('#DEP:samtools/1.10>=1.21').message).toBe('#DEP:samtools/1.10>=1.21 accepts versions >= 1.21 up to 1.10, and no version is both');
    expect(errorOf('#DEP:samtools/1.21>1.21').message).toContain('no version is both');
    expect(script('#DEP:samtools/1.21>=1.21').deps[0].range).toEqual({ op: '>=', min: '1.21' });
    expect(errorOf('#DEP:').message).toBe('#DEP: names nothing');
  });

  it('keep one #ENV per key, ignore an exact repeat and refuse a contradicting one', () => {
    expect(script('#ENV:A=$app_root\n#ENV:A=$app_root # again').env).toEqual([{ key: 'A', value: '$app_root', line: 2 }]);
    const err = errorOf('#ENV:A=1\n#ENV:B=2\n#ENV:A=3');
    expect(err.message).toBe('#ENV:A=3 contradicts line 2 (A=1)');
    expect(err.details.line).toBe(4);
    expect(errorOf('#ENV:A').message).toContain('is not KEY=value');
    expect(errorOf('#ENV:1A=x').message).toContain('"1A" is not an environment variable name');
  });

  it('take #ENVNOTE only on the line after its #ENV', () => {
    expect(script('#ENV:A=1\n#ENVNOTE:the a # with a hash').env[0].note).toBe('the a # with a hash');
    expect(errorOf('#ENV:A=1\n\n#ENVNOTE:late').message).toContain('documents the #ENV: line just above it');
    expect(errorOf('#ENVNOTE:first').details.line).toBe(2);
    expect(errorOf('#ENV:A=1   ## inline\n#ENVNOTE:other').message).toBe('the note on A contradicts line 2 ("inline")');
  });

  it('keep one description (#WHATIS: or #DESC:), one #URL: and one #TYPE', () => {
    expect(script('#WHATIS:a tool\n#DESC:a tool').whatis).toBe('a tool');
    expect(errorOf('#WHATIS:a tool\n#WHATIS:another').message).toBe('#WHATIS: "another" contradicts line 2 ("a tool")');
    // Free text, kept whole: a URL may hold a # (a fragment).
    expect(script('#URL:https://www.htslib.org/#download\n#URL:https://www.htslib.org/#download').url).toBe('https://www.htslib.org/#download');
    expect(script('#URL:').url).toBeUndefined();
    expect(errorOf('#URL:https://a.example\n#URL:https://b.example').message).toBe('#URL: "https://b.example" contradicts line 2 ("https://a.example")');
    expect(script('').type).toBe('app');
    expect(script('#TYPE:DATA # reference data').type).toBe('data');
    expect(errorOf('#TYPE:ref').message).toBe('#TYPE:ref is not app or data');
  });

  it('record #INTERACTIVE prompts in order, once each', () => {
    expect(script('#INTERACTIVE:Accept the EULA? (yes/no)\n#INTERACTIVE:Paste the link\n#INTERACTIVE:Paste the link').interactive).toEqual([
      { prompt: 'Accept the EULA? (yes/no)', line: 2 },
      { prompt: 'Paste the link', line: 3 },
    ]);
    expect(errorOf('#INTERACTIVE:  ').message).toBe('#INTERACTIVE: has no prompt');
  });

  it('read #NETWORK:yes once, and refuse any other value at its line', () => {
    expect(script('').network).toBeUndefined();
    expect(script('#NETWORK:no').network).toBeUndefined();
    expect(script('#WHATIS:x\n#NETWORK:YES   # fetches its models\n#NETWORK:yes').network).toEqual({ line: 3 });
    const bad = errorOf('#NETWORK:true');
    expect(bad.message).toBe('#NETWORK:true is not yes or no');
    expect(bad.details).toMatchObject({ file: FILE, line: 2 });
    expect(errorOf('#NETWORK:yes\n#NETWORK:no').message).toBe('#NETWORK: "no" contradicts line 2 ("yes")');
  });

  it('read the #ANSWERS:sha256: pin of the answers kept outside the tree', () => {
    expect(script(`#INTERACTIVE:Licence key\n#ANSWERS:sha256:${SHA}  # site-wide key`).answers).toEqual({ sha256: SHA, line: 3 });
    expect(script('').answers).toBeUndefined();
    const bad = errorOf(`#ANSWERS:${SHA}`);
    expect(bad.message).toBe(`#ANSWERS:${SHA} is not sha256: followed by 64 lower-case hex digits`);
    expect(bad.details.line).toBe(2);
    expect(errorOf(`#ANSWERS:sha256:${SHA}\n#ANSWERS:sha256:${'d'.repeat(64)}`).message).toContain('contradicts line 2');
  });

  it('read #SRC:<url> sha256:<hex>, naming the line of a bad digest or URL', () => {
    expect(script(`#SRC:https://example.org/a/x%201.0.tar.gz?raw=1 sha256:${SHA}  # upstream`).sources).toEqual([
      { location: { kind: 'url', url: 'https://example.org/a/x%201.0.tar.gz?raw=1' }, sha256: SHA, file: 'x 1.0.tar.gz', line: 2 },
    ]);
    const digest = errorOf(`#WHATIS:x\n#SRC:https://example.org/x.tar.gz sha256:${SHA.toUpperCase()}`);
    expect(digest.message).toContain('is not sha256: followed by 64 lower-case hex digits');
    expect(digest.details.line).toBe(3);
    expect(errorOf(`#SRC:ftp://example.org/x.tar.gz sha256:${SHA}`).message).toContain('is not an http, https or file URL');
    expect(errorOf('#SRC:https://example.org/x.tar.gz').message).toContain('is not "<url> sha256:<hex>"');
    expect(errorOf(`#SRC:https://example.org/ sha256:${SHA}`).message).toContain('does not end in a file name');
  });

  it('read #SRC:debian-orig:<package>/<file>, a pool file of whatever archive this host uses', () => {
    expect(script(`#SRC:debian-orig:htslib/htslib_1.16+ds.orig.tar.bz2 sha256:${SHA}`).sources).toEqual([
      { location: { kind: 'debian-orig', package: 'htslib' }, sha256: SHA, file: 'htslib_1.16+ds.orig.tar.bz2', line: 2 },
    ]);
    expect(errorOf(`#SRC:debian-orig:htslib_1.16.orig.tar.bz2 sha256:${SHA}`).message).toContain('is not debian-orig:<source package>/<file>');
    expect(errorOf(`#SRC:debian-orig:HTSlib/h.tar.bz2 sha256:${SHA}`).message).toContain('is not a Debian source package name');
    const digest = errorOf('#SRC:debian-orig:htslib/h.tar.bz2 sha256:abc');
    expect(digest.details.next).toContain('apt-cache showsrc htslib');
    const line = `#SRC:debian-orig:htslib/h.tar.bz2 sha256:${SHA}`;
    expect(errorOf(`${line}\n#SRC:https://example.org/h.tar.bz2 sha256:${SHA}`).message).toContain('both would be h.tar.bz2');
  });

  it('ignore a repeated #SRC and refuse two that would be one file', () => {
    const line = `#SRC:https://example.org/x.tar.gz sha256:${SHA}`;
    expect(script(`${line}\n${line}`).sources).toHaveLength(1);
    expect(errorOf(`${line}\n#SRC:https://mirror.example.org/x.tar.gz sha256:${SHA}`).message).toContain('both would be x.tar.gz');
    expect(errorOf(`${line}\n#SRC:https://example.org/x.tar.gz sha256:${'d'.repeat(64)}`).message).toContain('contradicts line 2');
  });

  it("refuse condatainer's templates, #SOURCE and #INPUT, saying what to write instead", () => {
    const ph = errorOf('#PH:version:1.0,2.0\n#TARGET:tool/{version}');
    expect(ph.message).toContain('#PH: templates');
    expect(ph.details.next).toBe('write one script per version, containers/overlays/<name>/<version>.sh');
    expect(errorOf('#SOURCE:src https://example.org/x.tar.gz').details.next).toContain('#SRC:<url> sha256:');
    expect(errorOf('#INPUT:Paste the link').details.next).toBe('write #INTERACTIVE:<prompt>');
  });

  it('name the file and line of a scheduler flag Pharos cannot map', () => {
    const err = errorOf('#SBATCH --cpus-per-task=2\n#SBATCH --hint=nomultithread');
    expect(err.details).toMatchObject({ file: FILE, line: 3 });
    expect(err.message).toContain('Pharos cannot map --hint');
  });
});

describe('install()', () => {
  it('is found in each way bash defines a function', () => {
    for (const body of ['install() {\n}', 'install () {\n}', 'install()\n{\n}', 'function install {\n}', 'function install() {\n}']) {
      expect(parseBuildScript(`#!/bin/bash\n#WHATIS:x\n${body}\n`, FILE).installLine).toBe(3);
    }
  });

  it('must be defined, and a comment or another function does not count', () => {
    const err = parseError(parseBuildScript, '#!/bin/bash\n# install() {\ninstaller() {\n  true\n}\n', FILE);
    expect(err.message).toBe('the build script defines no install() function');
    expect(err.details.file).toBe(FILE);
    expect(err.details.line).toBeUndefined();
  });

  it('reads CRLF files as their lines', () => {
    expect(parseBuildScript('#!/bin/bash\r\n#DEP:a/1\r\n#ENV:A=1\r\n#ENVNOTE:x\r\ninstall() {\r\n}\r\n', FILE)).toMatchObject({
      deps: [{ name: 'a', version: '1' }],
      env: [{ key: 'A', value: '1', note: 'x' }],
      installLine: 5,
    });
  });
});

describe('expandEnvValue', () => {
  it('replaces $app_root, ${app_root} and {prefix} with the install prefix', () => {
    expect(expandEnvValue('$app_root/bin:${app_root}/sbin:{prefix}/lib:$app_rooted', '/cnt/x/1.0')).toBe(
      '/cnt/x/1.0/bin:/cnt/x/1.0/sbin:/cnt/x/1.0/lib:$app_rooted',
    );
  });
});

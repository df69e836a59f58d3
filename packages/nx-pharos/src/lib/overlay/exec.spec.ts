import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { OverlayManifest } from '../../products/overlay';
import type { SifManifest } from '../../products/sif';
import { assertOverlaysAgree, checkBase, execShellCommand, mountOrder, parseExecArgs } from './exec';

const BASE = { project: 'overlay-build-base', sif: 'overlay-build-base.sif', sha256: 'b'.repeat(64) };

function manifest(overlay: string, sha: string, deps: Array<[string, string]> = [], base = BASE): { overlay: string; manifest: OverlayManifest } {
  const project = overlay.replace('/', '-');
  return {
    overlay,
    manifest: {
      overlay,
      project,
      sha256: sha.repeat(64),
      base,
      deps: deps.map(([o, s]) => ({ overlay: o, project: o.replace('/', '-'), sha256: s.repeat(64) })),
    } as OverlayManifest,
  };
}

describe('pharos exec arguments', () => {
  it('takes overlays, the base, the network and the command after -- or at the first word', () => {
    expect(parseExecArgs(['-o', 'samtools/1.16.1', '--overlay=htslib/1.16', '--base', 'base-tools', '--network', '--', 'samtools', '--version'])).toEqual({
      help: false,
      overlays: ['samtools/1.16.1', 'htslib/1.16'],
      base: 'base-tools',
      network: true,
      command: ['samtools', '--version'],
    });
    expect(parseExecArgs(['-o', 'samtools/1.16.1', 'samtools', 'view', '-h', 'x.bam']).command).toEqual(['samtools', 'view', '-h', 'x.bam']);
    expect(parseExecArgs(['-o', 'samtools/1.16.1'])).toEqual({ help: false, overlays: ['samtools/1.16.1'], network: false, command: [] });
    expect(parseExecArgs(['--help']).help).toBe(true);
  });

  it('refuses what it cannot take, saying what to write', () => {
    expect(() => parseExecArgs(['samtools', '--version'])).toThrow('name at least one overlay with -o <name/version>');
    expect(() => parseExecArgs(['-o', 'samtools'])).toThrow('-o takes an overlay as name/version (e.g. samtools/1.16.1), got "samtools"');
    expect(() => parseExecArgs(['-o', '../../etc/1'])).toThrow('got "../../etc/1"');
    expect(() => parseExecArgs(['-o'])).toThrow('got nothing');
    expect(() => parseExecArgs(['-o', 'a/1', '--base'])).toThrow('--base takes a container project');
    expect(() => parseExecArgs(['-o', 'a/1', '--net'])).toThrow('unknown option --net');
  });
});

describe('what pharos exec mounts', () => {
  const deps: Record<string, string[]> = {
    'htslib/1.16': [],
    'samtools/1.16.1': ['htslib/1.16'],
    'bcftools/1.16': ['htslib/1.16'],
    'genome/1': ['htslib/1.16', 'samtools/1.16.1'],
  };
  const depsOf = (o: string) => deps[o];

  it('puts each overlay after its #DEP closure, each once, in the order asked', () => {
    expect(mountOrder(['samtools/1.16.1'], depsOf)).toEqual(['htslib/1.16', 'samtools/1.16.1']);
    expect(mountOrder(['genome/1', 'bcftools/1.16'], depsOf)).toEqual(['htslib/1.16', 'samtools/1.16.1', 'genome/1', 'bcftools/1.16']);
    expect(mountOrder(['samtools/1.16.1', 'htslib/1.16', 'genome/1'], depsOf)).toEqual(['htslib/1.16', 'samtools/1.16.1', 'genome/1']);
  });

  it('refuses overlays built on different base SIFs, naming each group and how to rebuild', () => {
    const other = { project: 'base-tools', sif: 'base-tools.sif', sha256: 'c'.repeat(64) };
    expect(() => assertOverlaysAgree([manifest('htslib/1.16', '1'), manifest('bcftools/1.16', '2', [['htslib/1.16', '1']], other)])).toThrow(
      "the overlays were built on different base SIFs: htslib/1.16 on overlay-build-base's overlay-build-base.sif (sha256 bbbbbbbbbbbb…); bcftools/1.16 on base-tools's base-tools.sif (sha256 cccccccccccc…)",
    );
  });

  it('refuses an overlay built on another build of a dependency than the one there now', () => {
    const run = () => assertOverlaysAgree([manifest('htslib/1.16', '9'), manifest('samtools/1.16.1', '2', [['htslib/1.16', '1']])]);
    expect(run).toThrow('samtools/1.16.1 was built on htslib/1.16 sha256 111111111111…, and the htslib/1.16 built now is 999999999999…');
    expect(run).toThrow(
      expect.objectContaining({
        details: expect.objectContaining({ next: 'rebuild it on the current one: npx nx run-many -t overlay --projects=samtools-1.16.1' }),
      }),
    );
    expect(assertOverlaysAgree([manifest('htslib/1.16', '1'), manifest('samtools/1.16.1', '2', [['htslib/1.16', '1']])])).toEqual(BASE);
  });

  it("refuses a changed SIF of the overlays' own base, and only warns for another project's SIF asked for with --base", () => {
    const sif = (project: string, sha: string) => ({ project, manifest: { sif: `${project}.sif`, sha256: sha.repeat(64) } as SifManifest });
    const overlays = ['htslib/1.16', 'samtools/1.16.1'];
    expect(checkBase(BASE, sif('overlay-build-base', 'b'), overlays)).toBeUndefined();
    expect(() => checkBase(BASE, sif('overlay-build-base', 'd'), overlays)).toThrow(
      "the overlays were built on overlay-build-base's overlay-build-base.sif (sha256 bbbbbbbbbbbb…), which is now sha256 dddddddddddd…",
    );
    expect(() => checkBase(BASE, sif('overlay-build-base', 'd'), overlays, 'overlay-build-base')).toThrow('which is now');
    expect(checkBase(BASE, sif('python-science', 'e'), overlays, 'python-science')).toBe(
      "pharos: warning: the overlays were built on overlay-build-base's overlay-build-base.sif (sha256 bbbbbbbbbbbb…), and run on python-science's python-science.sif: their binaries may not load on its libraries",
    );
  });

  it('runs the words as given, or a shell from a terminal', async () => {
    expect(execShellCommand(['samtools', 'view', "it's $HOME"], false)).toBe("exec 'samtools' 'view' 'it'\\''s $HOME'");
    expect((await execa('sh', ['-c', execShellCommand(['printf', '%s|', "it's $HOME", 'a b'], false)])).stdout).toBe("it's $HOME|a b|"); // real sh
    expect(execShellCommand([], true)).toContain('exec bash -i');
    expect(() => execShellCommand([], false)).toThrow('no command was given, and a shell needs a terminal');
  });
});

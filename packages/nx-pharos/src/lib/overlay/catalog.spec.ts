import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readOverlayScripts } from '../../definitions/overlay-tree';
import type { OverlayManifest } from '../../products/overlay';
import type { SifManifest } from '../../products/sif';
import { PharosError } from '../../utils/errors';
import { formatImageInfo, imageInfo } from './catalog-image';
import {
  catalogRows,
  filterRows,
  findOverlay,
  formatCatalog,
  formatOverlayInfo,
  formatResources,
  overlayInfo,
  type CatalogInput,
  type ProductState,
} from './catalog';

/** The tree's real htslib and samtools scripts; manifests shaped as the overlay executor writes them. */
const WORKSPACE = resolve(__dirname, '../../../../..');
const HTSLIB = 'containers/overlays/htslib/1.16.sh';
const SAMTOOLS = 'containers/overlays/samtools/1.16.1.sh';
const REAL: Record<string, string> = { [HTSLIB]: readFileSync(join(WORKSPACE, HTSLIB), 'utf8'), [SAMTOOLS]: readFileSync(join(WORKSPACE, SAMTOOLS), 'utf8') };
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const BASE_SHA = '67eed982b0f56a363f4340767db588e6fd6bb0e43016625fdb08efab3572ffe9';
const HTSLIB_SQF = '3ec4601faf37e2caa207ce4385b1bf3767dfde921103d0ae8d1763780daf6898';
const MKSQUASHFS = '-noappend -keep-as-directory -all-root -processors 2 -b 128K -comp zstd -Xcompression-level 3 -no-progress'.split(' ');

function manifest(key: string, over: Partial<OverlayManifest> = {}): OverlayManifest {
  const [name, version] = key.split('/');
  const script = `containers/overlays/${key}.sh`;
  return {
    schema: 1,
    project: `${name}-${version}`,
    overlay: key,
    type: 'app',
    sqf: `${version}.sqf`,
    env: `${version}.env`,
    sha256: key === 'htslib/1.16' ? HTSLIB_SQF : '5139d537ea1ffc5721a2c2faffa29484d00ff0be1552d2b98cf2fa2a26c8f323',
    bytes: key === 'htslib/1.16' ? 8069120 : 1417216,
    script: { file: script, sha256: REAL[script] ? sha(REAL[script]) : 'f'.repeat(64) },
    sources: [],
    base: { project: 'overlay-build-base', sif: 'overlay-build-base.sif', sha256: BASE_SHA },
    deps: key === 'samtools/1.16.1' ? [{ overlay: 'htslib/1.16', project: 'htslib-1.16', sha256: HTSLIB_SQF }] : [],
    mksquashfsArgs: MKSQUASHFS,
    apptainerVersion: '1.4.5',
    ...over,
  };
}

const built = (m: OverlayManifest): ProductState => ({ kind: 'present', manifest: m, fileBytes: m.bytes });
const BUILT = { 'htslib/1.16': built(manifest('htslib/1.16')), 'samtools/1.16.1': built(manifest('samtools/1.16.1')) };

function catalog(
  opts: { scripts?: Record<string, string>; products?: Record<string, ProductState>; images?: Record<string, ProductState<SifManifest>>; base?: string } = {},
): CatalogInput {
  const scripts = opts.scripts ?? REAL;
  const tree = readOverlayScripts(Object.keys(scripts), (f) => scripts[f]);
  return {
    ...tree,
    scriptDigests: new Map(Object.entries(scripts).map(([f, text]) => [f, sha(text)])),
    products: new Map(Object.entries(opts.products ?? {})),
    images: new Map(Object.entries(opts.images ?? {})),
    baseDigests: new Map([
      ['overlay-build-base', opts.base ?? BASE_SHA],
      ['base-tools', opts.base ?? BASE_SHA],
    ]),
  };
}

const script = (header: string) => `#!/usr/bin/bash\n${header}\ninstall() {\n  true\n}\n`;

describe('pharos avail (overlays): the rows', () => {
  it('lists every script, not built until dist/ has its manifest', () => {
    expect(catalogRows(catalog())).toEqual([
      {
        overlay: 'htslib/1.16',
        type: 'app',
        status: 'not built',
        reasons: [],
        whatis: 'C library for high-throughput sequencing data formats (SAM/BAM/CRAM, VCF/BCF), with bgzip, tabix and htsfile',
        script: HTSLIB,
      },
      {
        overlay: 'samtools/1.16.1',
        type: 'app',
        status: 'not built',
        reasons: [],
        whatis: 'Tools for reading, writing, indexing and viewing SAM/BAM/CRAM alignments',
        script: SAMTOOLS,
      },
    ]);
  });

  it('says built, with the size its manifest records, when script, #DEP overlays and base are what it was built from', () => {
    const rows = catalogRows(catalog({ products: BUILT }));
    expect(rows.map((r) => [r.overlay, r.status, r.bytes, r.reasons])).toEqual([
      ['htslib/1.16', 'built', 8069120, []],
      ['samtools/1.16.1', 'built', 1417216, []],
    ]);
  });

  it('sorts by name, then version as sort -V does, and reads a data overlay as data', () => {
    const scripts = {
      ...REAL,
      'containers/overlays/htslib/1.9.sh': script('#WHATIS:old'),
      'containers/overlays/htslib/1.10.sh': script(''),
      'containers/overlays/grch38-fasta/1.0.sh': script('#DEP:samtools/1.16.1\n#TYPE:data'),
    };
    const rows = catalogRows(catalog({ scripts }));
    expect(rows.map((r) => r.overlay)).toEqual(['grch38-fasta/1.0', 'htslib/1.9', 'htslib/1.10', 'htslib/1.16', 'samtools/1.16.1']);
    expect(rows[0].type).toBe('data');
  });

  it('says stale, and why, when what it was built from has changed since', () => {
    const edited = { ...REAL, [HTSLIB]: `${REAL[HTSLIB]}# edited\n` };
    expect(catalogRows(catalog({ scripts: edited, products: BUILT })).map((r) => [r.overlay, r.status, r.reasons])).toEqual([
      ['htslib/1.16', 'stale', ['the script has changed since the build']],
      ['samtools/1.16.1', 'built', []],
    ]);

    const rebuiltHtslib = { ...BUILT, 'htslib/1.16': built(manifest('htslib/1.16', { sha256: 'c'.repeat(64) })) };
    expect(catalogRows(catalog({ products: rebuiltHtslib }))[1].reasons).toEqual(['htslib/1.16 has been rebuilt since']);
    const noHtslib = { 'samtools/1.16.1': BUILT['samtools/1.16.1'] };
    expect(catalogRows(catalog({ products: noHtslib }))[1].reasons).toEqual(['htslib/1.16, built under it, is not built now']);

    expect(catalogRows(catalog({ products: BUILT, base: 'b'.repeat(64) })).map((r) => r.reasons)).toEqual([
      ['the base SIF (overlay-build-base) has been rebuilt since'],
      ['the base SIF (overlay-build-base) has been rebuilt since'],
    ]);

    // A newer htslib in the tree satisfies samtools' #DEP now: same script, another closure.
    const ranged = {
      ...REAL,
      [SAMTOOLS]: REAL[SAMTOOLS].replace('#DEP:htslib/1.16', '#DEP:htslib/1.17>=1.16'),
      'containers/overlays/htslib/1.17.sh': script(''),
    };
    const samtools = built(manifest('samtools/1.16.1', { script: { file: SAMTOOLS, sha256: sha(ranged[SAMTOOLS]) } }));
    const row = catalogRows(catalog({ scripts: ranged, products: { ...BUILT, 'samtools/1.16.1': samtools } })).find((r) => r.overlay === 'samtools/1.16.1');
    expect(row?.reasons).toEqual(['its #DEP overlays are now htslib/1.17; it was built with htslib/1.16']);
  });

  it('says damaged when the manifest cannot be read, or the .sqf is missing or of another size', () => {
    const error = new PharosError('not valid JSON (Unexpected end of JSON input)', { file: 'dist/containers/overlays/htslib/1.16.sqf.json' });
    const products: Record<string, ProductState> = {
      'htslib/1.16': { kind: 'unreadable', error },
      'samtools/1.16.1': { kind: 'present', manifest: manifest('samtools/1.16.1'), fileBytes: 100 },
    };
    expect(catalogRows(catalog({ products })).map((r) => [r.status, r.bytes, r.reasons])).toEqual([
      ['damaged', undefined, ['dist/containers/overlays/htslib/1.16.sqf.json: not valid JSON (Unexpected end of JSON input)']],
      ['damaged', 1417216, ['dist/containers/overlays/samtools/1.16.1.sqf is 100 bytes, its manifest says 1417216']],
    ]);
    const noSqf = { 'htslib/1.16': { kind: 'present', manifest: manifest('htslib/1.16') } as ProductState };
    expect(catalogRows(catalog({ products: noSqf }))[0].reasons).toEqual(['dist/containers/overlays/htslib/1.16.sqf is missing; its manifest is there']);
  });

  it('says invalid, with the error, for a script that cannot be built as it is', () => {
    const rows = catalogRows(catalog({ scripts: { ...REAL, [SAMTOOLS]: REAL[SAMTOOLS].replace('#DEP:htslib/1.16', '#DEP:htslib/1.20') } }));
    expect(rows[1]).toMatchObject({
      overlay: 'samtools/1.16.1',
      status: 'invalid',
      reasons: ['#DEP:htslib/1.20: no script provides htslib/1.20; the tree has htslib 1.16'],
    });
    const misplaced = catalogRows(catalog({ scripts: { 'containers/overlays/build.sh': script('') } }));
    expect(misplaced[0]).toMatchObject({ overlay: 'containers/overlays/build.sh', status: 'invalid' });
    expect(misplaced[0].type).toBeUndefined();
  });
});

describe('pharos avail (overlays): filters and the table', () => {
  const rows = catalogRows(catalog({ products: BUILT, scripts: { ...REAL, 'containers/overlays/htslib/1.9.sh': script('') } }));

  it('keeps what contains a term, or matches a wildcard whole; every term must match', () => {
    expect(filterRows(rows, ['SAM']).map((r) => r.overlay)).toEqual(['samtools/1.16.1']);
    expect(filterRows(rows, ['1.16']).map((r) => r.overlay)).toEqual(['htslib/1.16', 'samtools/1.16.1']);
    expect(filterRows(rows, ['htslib/*']).map((r) => r.overlay)).toEqual(['htslib/1.9', 'htslib/1.16']);
    expect(filterRows(rows, ['hts*']).map((r) => r.overlay)).toEqual(['htslib/1.9', 'htslib/1.16']);
    expect(filterRows(rows, ['htslib/1.1?']).map((r) => r.overlay)).toEqual(['htslib/1.16']);
    expect(filterRows(rows, ['lib', '1.16']).map((r) => r.overlay)).toEqual(['htslib/1.16']);
    expect(filterRows(rows, ['samtools.'])).toEqual([]);
    expect(filterRows(rows, [])).toEqual(rows);
  });

  it('prints aligned columns, and why under a row that is not plainly built or not', () => {
    const stale = catalogRows(
      catalog({ products: BUILT, scripts: { ...REAL, [HTSLIB]: `${REAL[HTSLIB]}\n`, 'containers/overlays/htslib/1.9.sh': script('#TYPE:data') } }),
    );
    expect(formatCatalog(stale)).toBe(
      [
        'OVERLAY          TYPE  STATUS     SIZE     WHATIS',
        'htslib/1.9       data  not built  -',
        'htslib/1.16      app   stale      7.7 MiB  C library for high-throughput sequencing data formats (SAM/BAM/CRAM, VCF/BCF), with bgzip, tabix and htsfile',
        '    stale: the script has changed since the build',
        'samtools/1.16.1  app   built      1.4 MiB  Tools for reading, writing, indexing and viewing SAM/BAM/CRAM alignments',
        '',
      ].join('\n'),
    );
    expect(formatCatalog([])).toBe('');
  });
});

describe('pharos info', () => {
  it('finds an overlay by name/version or by project, else lists the versions or names there are', () => {
    const scripts = { ...REAL, 'containers/overlays/htslib/1.9.sh': script('') };
    const c = catalog({ scripts });
    expect(findOverlay(c, 'samtools/1.16.1')).toBe(SAMTOOLS);
    expect(findOverlay(c, 'htslib-1.16')).toBe(HTSLIB);
    const error = (wanted: string) => {
      try {
        findOverlay(c, wanted);
      } catch (err) {
        return (err as PharosError).format();
      }
      throw new Error(`found ${wanted}`);
    };
    expect(error('htslib/1.21')).toBe('pharos: info: no overlay htslib/1.21; the tree has htslib/1.9, htslib/1.16\n  next: pharos info htslib/1.16');
    expect(error('htslib')).toBe('pharos: info: name the version too: htslib/<version>; the tree has htslib/1.9, htslib/1.16\n  next: pharos info htslib/1.16');
    expect(error('samtool/1.16.1')).toBe('pharos: info: no overlay named samtool; did you mean samtools?\n  next: pharos avail samtools');
    expect(error('htslb/1.16')).toContain('did you mean htslib?');
    expect(error('bwa/0.7.17')).toBe('pharos: info: no overlay named bwa in containers/overlays/ (the tree has htslib, samtools)\n  next: pharos avail');
  });

  it("gathers the header, the #DEP closure, the product's manifest and the command to use it", () => {
    const info = overlayInfo(catalog({ products: BUILT }), SAMTOOLS);
    expect(info).toEqual({
      overlay: 'samtools/1.16.1',
      project: 'samtools-1.16.1',
      script: SAMTOOLS,
      whatis: 'Tools for reading, writing, indexing and viewing SAM/BAM/CRAM alignments',
      url: 'https://www.htslib.org/',
      type: 'app',
      appRoot: '/cnt/samtools/1.16.1',
      status: 'built',
      reasons: [],
      deps: [{ dep: 'htslib/1.16', line: 2, resolved: 'htslib/1.16' }],
      closure: [{ overlay: 'htslib/1.16', status: 'built' }],
      env: [{ key: 'SAMTOOLS_ROOT', value: '/cnt/samtools/1.16.1', note: 'samtools install prefix' }],
      resources: { cpusPerTask: 2, memoryMiB: 2048, timeMinutes: 30 },
      ncpus: 2,
      schedulerOther: [],
      sources: [
        {
          source: 'debian-orig:samtools/samtools_1.16.1.orig.tar.gz',
          file: 'samtools_1.16.1.orig.tar.gz',
          sha256: '70a7f358088929272d8c22d6063290ac8420f5351fba237a99fe17851a45d8be',
          line: 5,
        },
      ],
      product: {
        sqf: 'dist/containers/overlays/samtools/1.16.1.sqf',
        env: 'dist/containers/overlays/samtools/1.16.1.env',
        manifest: 'dist/containers/overlays/samtools/1.16.1.sqf.json',
        bytes: 1417216,
        sha256: '5139d537ea1ffc5721a2c2faffa29484d00ff0be1552d2b98cf2fa2a26c8f323',
        base: { project: 'overlay-build-base', sif: 'overlay-build-base.sif', sha256: BASE_SHA },
        deps: [{ overlay: 'htslib/1.16', project: 'htslib-1.16', sha256: HTSLIB_SQF }],
        apptainerVersion: '1.4.5',
        mksquashfsArgs: MKSQUASHFS,
      },
      exec: 'pharos exec -o samtools/1.16.1 -- <command>',
    });
  });

  it('prints it in sections, the product only once built', () => {
    const text = formatOverlayInfo(overlayInfo(catalog({ products: BUILT }), SAMTOOLS));
    expect(text).toContain(
      [
        'samtools/1.16.1 — Tools for reading, writing, indexing and viewing SAM/BAM/CRAM alignments',
        '  project:  samtools-1.16.1',
        '  script:   containers/overlays/samtools/1.16.1.sh',
        '  url:      https://www.htslib.org/',
        '  type:     app (installed and mounted at /cnt/samtools/1.16.1)',
        '  status:   built',
        '',
        'dependencies (#DEP)',
        '  line 2: #DEP:htslib/1.16 → htslib/1.16',
        '  mounted under it, in order: htslib/1.16 (built)',
        '',
        'environment (#ENV)',
        '  SAMTOOLS_ROOT=/cnt/samtools/1.16.1  # samtools install prefix',
        '',
        'build resources (#SBATCH, #PBS, #BSUB)',
        "  cpus per task 2, memory 2 GiB per node, time 30m; $NCPUS 2 (at most this machine's CPUs)",
        '',
        'sources (#SRC)',
        '  debian-orig:samtools/samtools_1.16.1.orig.tar.gz',
        '    sha256 70a7f358088929272d8c22d6063290ac8420f5351fba237a99fe17851a45d8be',
        '',
        'product',
        '  sqf:         dist/containers/overlays/samtools/1.16.1.sqf (1,417,216 bytes, 1.4 MiB)',
        '  sha256:      5139d537ea1ffc5721a2c2faffa29484d00ff0be1552d2b98cf2fa2a26c8f323',
      ].join('\n'),
    );
    expect(text).toContain(
      `  base SIF:    overlay-build-base.sif (project overlay-build-base), sha256 ${BASE_SHA}\n  built on:    htslib/1.16 sha256 ${HTSLIB_SQF}\n`,
    );
    expect(text).toContain(`  mksquashfs:  ${MKSQUASHFS.join(' ')}\n`);
    expect(text.endsWith('use it\n  pharos exec -o samtools/1.16.1 -- <command>\n')).toBe(true);

    const unbuilt = formatOverlayInfo(overlayInfo(catalog(), HTSLIB));
    expect(unbuilt).toContain('product\n  not built: npx nx run htslib-1.16:overlay\n');
    expect(unbuilt).not.toContain('dependencies');
  });

  it('shows a #DEP that resolves to nothing, the directives kept for a scheduler, and a script it cannot read', () => {
    const scripts = {
      ...REAL,
      [SAMTOOLS]: REAL[SAMTOOLS].replace('#DEP:htslib/1.16', '#DEP:htslib/1.20').replace(
        '#SBATCH --time=30',
        '#SBATCH --time=30\n#SBATCH --partition=short\n#PBS -q workq',
      ),
    };
    const info = overlayInfo(catalog({ scripts }), SAMTOOLS);
    expect(info).toMatchObject({ status: 'invalid', deps: [{ dep: 'htslib/1.20', line: 2 }], closure: [] });
    expect(info.deps[0].resolved).toBeUndefined();
    expect(info.schedulerOther).toEqual([
      { directive: '#SBATCH --partition=short', line: 13 },
      { directive: '#PBS -q workq', line: 14 },
    ]);
    expect(formatOverlayInfo(info)).toContain('  line 2: #DEP:htslib/1.20 → nothing in the tree\n');
    expect(() => overlayInfo(catalog({ scripts: { [HTSLIB]: '#!/bin/bash\n' } }), HTSLIB)).toThrow('the build script defines no install() function');
  });

  it('writes the resource request in the units a person would', () => {
    expect(formatResources({})).toBe('none requested');
    expect(formatResources({ nodes: 2, tasks: 8, cpusPerTask: 4, memoryMiB: 1536, timeMinutes: 90, gpus: 2, gpuType: 'a100' })).toBe(
      'nodes 2, tasks 8, cpus per task 4, memory 1536 MiB per node, time 1h30m, gpus 2 (a100) per node',
    );
  });
});

const SITE_SHELL = 'containers/overlays/site-shell/1.0.def';
const DEF = readFileSync(join(WORKSPACE, SITE_SHELL), 'utf8');
const SIF_SHA = '9'.repeat(64);

function sifManifest(over: Partial<SifManifest> = {}): SifManifest {
  return {
    schema: 1,
    project: 'site-shell-1.0',
    sif: '1.0.sif',
    sha256: SIF_SHA,
    bytes: 52_000_000,
    definition: { file: SITE_SHELL, sha256: sha(DEF) },
    base: { project: 'base-tools', sif: 'base-tools.sif', sha256: BASE_SHA },
    mksquashfsArgs: '-comp zstd -Xcompression-level 1',
    apptainerVersion: '1.4.5',
    ...over,
  };
}

describe('.def images in pharos avail and info', () => {
  const scripts = { ...REAL, [SITE_SHELL]: DEF };
  /** `fileBytes` null: no .sif beside the manifest. */
  const image = (m: SifManifest, fileBytes: number | null = m.bytes): Record<string, ProductState<SifManifest>> => ({
    'site-shell/1.0': { kind: 'present', manifest: m, ...(fileBytes === null ? {} : { fileBytes }) },
  });
  const row = (c: CatalogInput) => catalogRows(c).find((r) => r.overlay === 'site-shell/1.0');

  it('lists one as an image, with its %help line, and its status from <version>.sif.json', () => {
    expect(row(catalog({ scripts }))).toEqual({
      overlay: 'site-shell/1.0',
      type: 'image',
      status: 'not built',
      reasons: [],
      whatis: 'base-tools with site-info, which says what the image is and which tools it carries.',
      script: SITE_SHELL,
    });
    expect(row(catalog({ scripts, images: image(sifManifest()) }))).toMatchObject({ status: 'built', bytes: 52_000_000, reasons: [] });
  });

  it('says stale when the definition or the base SIF has changed, damaged when the .sif is not the one recorded', () => {
    const edited = { ...scripts, [SITE_SHELL]: `${DEF}\n` };
    expect(row(catalog({ scripts: edited, images: image(sifManifest()) }))?.reasons).toEqual(['the definition has changed since the build']);
    expect(row(catalog({ scripts, images: image(sifManifest()), base: 'b'.repeat(64) }))?.reasons).toEqual([
      'the base SIF (base-tools) has been rebuilt since',
    ]);
    expect(row(catalog({ scripts, images: image(sifManifest(), null) }))).toMatchObject({
      status: 'damaged',
      reasons: ['dist/containers/overlays/site-shell/1.0.sif is missing; its manifest is there'],
    });
  });

  it('shows its Bootstrap:, From:, the base SIF and its digest, and what the manifest records', () => {
    const info = imageInfo(catalog({ scripts, images: image(sifManifest()) }), SITE_SHELL);
    expect(info).toMatchObject({
      overlay: 'site-shell/1.0',
      project: 'site-shell-1.0',
      type: 'image',
      status: 'built',
      bootstrap: { value: 'localimage', line: 3 },
      from: { value: 'dist/containers/base-tools/base-tools.sif', line: 4 },
      base: { project: 'base-tools', sha256: BASE_SHA },
      product: { sif: 'dist/containers/overlays/site-shell/1.0.sif', sha256: SIF_SHA, definitionSha256: sha(DEF) },
      run: 'apptainer run dist/containers/overlays/site-shell/1.0.sif',
    });
    const text = formatImageInfo(info);
    expect(text).toContain(
      [
        'built on',
        '  Bootstrap:  localimage (line 3)',
        `  From:       dist/containers/base-tools/base-tools.sif (line 4) (project base-tools; its SIF has sha256 ${BASE_SHA})`,
      ].join('\n'),
    );
    expect(text).toContain(`  base SIF:    base-tools.sif (project base-tools), sha256 ${BASE_SHA}\n`);
    expect(formatImageInfo(imageInfo(catalog({ scripts }), SITE_SHELL))).toContain('product\n  not built: npx nx run site-shell-1.0:sif\n');
  });
});

describe('pharos info: the network and the questions', () => {
  const VENDOR = 'containers/overlays/vendor-tool/2.0.sh';
  const header = `#INTERACTIVE:Accept the EULA? (yes/no)\n#INTERACTIVE:Licence key\n#ANSWERS:sha256:${'a'.repeat(64)}\n#NETWORK:yes`;
  const scripts = { ...REAL, [VENDOR]: script(header) };

  it('says loudly that a build has the network, and which questions it asks and where the answers come from', () => {
    const vendor = manifest('vendor-tool/2.0', { network: true, answers: { file: '$PHAROS_ANSWERS_DIR/vendor-tool/2.0.answers', sha256: 'a'.repeat(64) } });
    const info = overlayInfo(catalog({ scripts, products: { 'vendor-tool/2.0': built(vendor) } }), VENDOR);
    expect(info.network).toEqual({ line: 5 });
    expect(info.questions).toEqual({
      prompts: [
        { prompt: 'Accept the EULA? (yes/no)', line: 2 },
        { prompt: 'Licence key', line: 3 },
      ],
      answers: 'containers/overlays/vendor-tool/2.0.answers, or $PHAROS_ANSWERS_DIR/vendor-tool/2.0.answers',
      pinned: 'a'.repeat(64),
    });
    const text = formatOverlayInfo(info);
    expect(text).toContain('  network:  WITH NETWORK (#NETWORK:yes, line 5): builds are not reproducible from pinned sources\n');
    expect(text).toContain(
      'questions (#INTERACTIVE)\n  line 2: Accept the EULA? (yes/no)\n  line 3: Licence key\n' +
        '  answered from containers/overlays/vendor-tool/2.0.answers, or $PHAROS_ANSWERS_DIR/vendor-tool/2.0.answers, one a line\n',
    );
    expect(text).toContain(`  answers:     $PHAROS_ANSWERS_DIR/vendor-tool/2.0.answers, sha256 ${'a'.repeat(64)}\n`);
    expect(text).toContain('  network:     yes: install() could reach the network\n');
    expect(formatOverlayInfo(overlayInfo(catalog(), HTSLIB))).not.toMatch(/network|questions/);
  });
});

import type { ExecutorContext, ProjectConfiguration, TargetConfiguration } from '@nx/devkit';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { normalizeOptions } from './normalize-options';

describe('source-build options', () => {
  let ws: string;
  const source = `    sources:\n      - { kind: url, url: "file:///x.tar.gz", sha256: ${'a'.repeat(64)} }\n`;
  beforeAll(() => {
    ws = mkdtempSync(join(tmpdir(), 'pharos-normalize-'));
    for (const [name, extra] of [
      ['slurm', 'variants:\n  gpu:\n    configureFlags: [--with-nvml]\n'],
      ['beegfs', 'deb:\n  suites: [bookworm]\n'],
      [
        'apptainer',
        `deb:\n  buildFrom:\n    - { suite: sid, packages: [golang-*] }\n`.replace(
          /^/,
          `    packaging:\n      - { kind: debian-pool, package: apptainer, file: apptainer_2-1.debian.tar.xz, sha256: unpinned }\n`,
        ),
      ],
    ]) {
      mkdirSync(join(ws, `third-party/${name}`), { recursive: true });
      writeFileSync(join(ws, `third-party/${name}/recipe.yaml`), `name: ${name}\ndefaultVersion: "2"\nversions:\n  "1":\n${source}  "2":\n${source}${extra}`);
    }
  });
  const targets: Record<string, TargetConfiguration> = {
    'deb-bookworm': { options: { suite: 'bookworm' } },
    'deb-trixie': { options: { suite: 'trixie' } },
    tarball: { options: { suite: 'trixie' } },
  };
  const context = (project: string, target: string, configurationName?: string): ExecutorContext =>
    ({
      root: ws,
      cwd: ws,
      isVerbose: false,
      projectName: project,
      targetName: target,
      configurationName,
      target: (project === 'slurm' ? targets : { 'deb-bookworm': targets['deb-bookworm'] })[target],
      projectsConfigurations: {
        version: 2,
        projects: {
          [project]: {
            root: `third-party/${project}`,
            targets: project === 'slurm' ? targets : { 'deb-bookworm': targets['deb-bookworm'] },
          } as ProjectConfiguration,
        },
      },
      nxJsonConfiguration: {},
      projectGraph: { nodes: {}, dependencies: {} },
    }) as ExecutorContext;

  it('resolves the recipe, version, suite, variants, jobs, owner and product folders once, with one default each', () => {
    const b = normalizeOptions({ recipe: 'third-party/slurm/recipe.yaml', gpu: true }, context('slurm', 'tarball'), 'tarball');
    expect(b).toMatchObject({
      label: 'slurm:tarball',
      project: 'slurm',
      recipeFile: 'third-party/slurm/recipe.yaml',
      release: '2',
      suite: 'trixie',
      variantNames: ['gpu'],
      jobs: availableParallelism(),
    });
    expect(b.uid).toBe(process.getuid?.());
    expect(b.tarballDir).toBe(join(ws, 'dist/third-party/slurm/2/tarball-trixie'));
    expect(b.debsDir).toBe(join(ws, 'dist/third-party/slurm/2/trixie'));
    expect(b.releaseDir).toBe(join(ws, 'dist/third-party/slurm/2'));
    expect(b.debsProducer).toBe('slurm:deb-trixie');
    // Nx parses --release=1 as a number; outputPath moves only the executor's own product.
    const d = normalizeOptions(
      { recipe: 'third-party/slurm/recipe.yaml', release: 1, suite: 'bookworm', jobs: 3, outputPath: 'out/{projectRoot}' },
      context('slurm', 'deb-bookworm'),
      'deb',
    );
    expect(d).toMatchObject({
      release: '1',
      suite: 'bookworm',
      jobs: 3,
      debsDir: join(ws, 'out/third-party/slurm'),
      tarballDir: join(ws, 'dist/third-party/slurm/1/tarball-bookworm'),
    });
    // A recipe that builds for fewer suites defaults to its first.
    expect(normalizeOptions({ recipe: 'third-party/beegfs/recipe.yaml' }, context('beegfs', 'deb-bookworm'), 'fetch').suite).toBe('bookworm');
  });

  it('refuses another --suite on a target made for one suite, naming the target to run instead', () => {
    expect(() => normalizeOptions({ recipe: 'third-party/slurm/recipe.yaml', suite: 'trixie' }, context('slurm', 'deb-bookworm'), 'deb')).toThrow(
      expect.objectContaining({
        message: 'slurm:deb-bookworm builds for bookworm, not --suite=trixie',
        details: expect.objectContaining({ next: 'npx nx run slurm:deb-trixie' }),
      }),
    );
    expect(() => normalizeOptions({ recipe: 'third-party/beegfs/recipe.yaml', suite: 'trixie' }, context('beegfs', 'deb-bookworm'), 'deb')).toThrow(
      'beegfs:deb-bookworm builds for bookworm, not --suite=trixie: beegfs is built for bookworm only',
    );
    // The tarball's suite is an option, not the target's identity.
    expect(normalizeOptions({ recipe: 'third-party/slurm/recipe.yaml', suite: 'bookworm' }, context('slurm', 'tarball'), 'tarball').suite).toBe('bookworm');
  });

  it("gives the version's packaging with the site's pins, and refuses a tarball of a version built with packaging or other suites", () => {
    const sitePins = join(ws, 'sources.yaml');
    writeFileSync(sitePins, `pins:\n  apptainer_2-1.debian.tar.xz: ${'b'.repeat(64)}\n`);
    const saved = process.env.PHAROS_SOURCES_CONFIG;
    process.env.PHAROS_SOURCES_CONFIG = sitePins;
    try {
      const b = normalizeOptions({ recipe: 'third-party/apptainer/recipe.yaml' }, context('apptainer', 'deb-bookworm'), 'fetch');
      expect(b.packaging).toEqual([
        expect.objectContaining({ file: 'apptainer_2-1.debian.tar.xz', sha256: 'b'.repeat(64), location: { kind: 'debian-pool', package: 'apptainer' } }),
      ]);
      expect(normalizeOptions({ recipe: 'third-party/slurm/recipe.yaml' }, context('slurm', 'tarball'), 'fetch').packaging).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.PHAROS_SOURCES_CONFIG;
      else process.env.PHAROS_SOURCES_CONFIG = saved;
    }
    expect(() => normalizeOptions({ recipe: 'third-party/apptainer/recipe.yaml', suite: 'trixie' }, context('apptainer', 'tarball'), 'tarball')).toThrow(
      'the tarball build of apptainer 2 does not support versions.2.packaging or deb.buildFrom: only the deb build uses them',
    );
  });

  it('refuses a configuration, and names unknown versions and variants', () => {
    expect(() => normalizeOptions({ recipe: 'third-party/slurm/recipe.yaml' }, context('slurm', 'deb-bookworm', 'sid'), 'deb')).toThrow(
      "slurm:deb-bookworm has no configuration 'sid'; pick the suite with deb-<suite> (or --suite for tarball)",
    );
    expect(() => normalizeOptions({ recipe: 'third-party/slurm/recipe.yaml', release: '9' }, context('slurm', 'tarball'), 'tarball')).toThrow(
      'unknown slurm version 9 (known: 1, 2)',
    );
    expect(() => normalizeOptions({ recipe: 'third-party/beegfs/recipe.yaml', gpu: true }, context('beegfs', 'deb-bookworm'), 'fetch')).toThrow(
      'beegfs has no build variant "gpu"',
    );
  });
});

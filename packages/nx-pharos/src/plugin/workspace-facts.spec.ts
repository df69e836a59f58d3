import { describe, expect, it } from 'vitest';
import { workspaceFacts } from './workspace-facts';

const FILES: Record<string, string> = {
  'containers/debian-trixie/base-image.yaml': 'suite: trixie\n',
  'containers/debian-bookworm/base-image.yaml': 'suite: bookworm\n',
  'containers/custom/base-image.yaml': 'suite: bookworm\ntag: site/debian:bookworm\n',
  'containers/broken/base-image.yaml': 'suite: [\n',
  'tools/dev/Dockerfile': 'FROM debian:trixie\n',
  'third-party/slurm/recipe.yaml': `name: slurm\ndefaultVersion: 24.11.5\nversions:\n  24.11.5:\n    sources: [{ kind: url, url: "file:///s.tar.gz", sha256: unpinned }]\n  26.05.5:\n    sources: [{ kind: url, url: "file:///t.tar.gz", sha256: unpinned }]\n`,
  'third-party/broken/recipe.yaml': 'name: broken\n',
};

describe('workspaceFacts', () => {
  it('collects tags, suites and package releases from all definition files, leaving out the ones that do not parse', () => {
    const facts = workspaceFacts(Object.keys(FILES), (file) => FILES[file]);
    expect(facts.suites).toEqual(['bookworm', 'trixie']);
    expect(Object.fromEntries(facts.producers)).toEqual({
      'debian:trixie': 'debian-trixie',
      'debian:bookworm': 'debian-bookworm',
      'site/debian:bookworm': 'custom',
      'pharos/dev:latest': 'dev',
    });
    expect(facts.packages).toEqual({ slurm: { root: 'third-party/slurm', release: '24.11.5' } });
  });
});

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDeb822Sources, parseOneLineSources, pickDebianMirror, resolveDebianMirror } from './debian-mirror';

// Placeholder hosts: the project never names a real archive host.
const DEB822 = `Types: deb
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
`;

describe('apt sources', () => {
  it('parses one-line and deb822 entries', () => {
    expect(
      parseOneLineSources('# x\ndeb [arch=amd64] http://m.example/debian trixie main contrib\ndeb-src http://m.example/debian trixie main\n', 'f'),
    ).toEqual([{ uri: 'http://m.example/debian', suites: ['trixie'], components: ['main', 'contrib'], file: 'f' }]);
    expect(parseDeb822Sources(DEB822, 'f').map((s) => s.suites[0])).toEqual(['bookworm', 'bookworm-security']);
  });

  it('picks the Debian archive, not third-party or security sources', () => {
    const sources = [
      ...parseOneLineSources('deb https://vendor.example/apt nodistro main\n', 'a'),
      ...parseDeb822Sources(DEB822.split('\n\n').reverse().join('\n\n'), 'b'),
    ];
    expect(pickDebianMirror(sources)).toBe('http://mirror.example/debian');
  });

  it('prefers PHAROS_DEBIAN_MIRROR, then the host files, then fails with the next step', () => {
    const root = mkdtempSync(join(tmpdir(), 'apt-'));
    mkdirSync(join(root, 'sources.list.d'));
    expect(() => resolveDebianMirror({}, root)).toThrow(
      expect.objectContaining({ details: expect.objectContaining({ next: expect.stringMatching(/^set PHAROS_DEBIAN_MIRROR=/) }) }),
    );
    writeFileSync(join(root, 'sources.list.d', 'debian.sources'), DEB822);
    writeFileSync(join(root, 'sources.list.d', 'off.list.disabled'), 'deb http://other.example/debian sid main\n');
    expect(resolveDebianMirror({}, root)).toBe('http://mirror.example/debian');
    expect(resolveDebianMirror({ PHAROS_DEBIAN_MIRROR: 'http://local.example/deb/' }, root)).toBe('http://local.example/deb');
  });
});

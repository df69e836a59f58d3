/**
 * A Debian source control file (.dsc): which files make the source package and their sha256. Pure: text in, data out.
 * The PGP armour is skipped, not checked: the digests are pinned on first use, like `pharos pin` (docs/third-party.md).
 */
export interface Dsc {
  source: string;
  version: string;
  format: string;
  binaries: string[];
  files: Array<{ name: string; sha256: string; bytes: number }>;
}

export function parseDsc(text: string, file: string): Dsc {
  const fields = new Map<string, string>();
  let current: string | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('-----BEGIN PGP SIGNATURE')) break;
    if (/^(-----BEGIN PGP SIGNED|Hash:)/.test(line)) continue;
    const field = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
    if (field) fields.set((current = field[1]), field[2]);
    else if (/^\s/.test(line) && current) fields.set(current, `${fields.get(current)}\n${line.trim()}`);
  }
  const need = (name: string) => {
    const v = fields.get(name)?.trim();
    if (!v) throw new Error(`${file}: no ${name} field; is it a Debian source control file?`);
    return v;
  };
  const files = need('Checksums-Sha256')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((p) => p.length === 3 && /^[0-9a-f]{64}$/.test(p[0]))
    .map(([sha256, bytes, name]) => ({ name, sha256, bytes: Number(bytes) }));
  return {
    source: need('Source'),
    version: need('Version'),
    format: need('Format'),
    binaries: need('Binary')
      .split(/[,\s]+/)
      .filter(Boolean),
    files,
  };
}

/** The upstream part of a Debian version: no epoch, no Debian revision. */
export function upstreamVersion(debianVersion: string): string {
  return debianVersion.replace(/^[0-9]+:/, '').replace(/-[^-]+$/, '');
}

/**
 * The recipe's source and packaging: a 3.0 (quilt) package's orig tarball and its .debian.tar.*; a native package's one
 * tarball, which carries debian/. Other formats (1.0's .diff.gz) are refused, naming the file.
 */
export function recipeSourcesOf(
  dsc: Dsc,
  file: string,
): { source: { kind: string; file: string; sha256: string }; packaging?: { file: string; sha256: string } } {
  const pick = (re: RegExp) => dsc.files.find((f) => re.test(f.name));
  if (dsc.format === '3.0 (quilt)') {
    const orig = pick(/\.orig\.tar\.[a-z0-9]+$/);
    const debian = pick(/\.debian\.tar\.[a-z0-9]+$/);
    if (!orig || !debian)
      throw new Error(`${file}: a 3.0 (quilt) package without an orig tarball and a .debian.tar (files: ${dsc.files.map((f) => f.name).join(', ')})`);
    return { source: { kind: 'debian-orig', file: orig.name, sha256: orig.sha256 }, packaging: { file: debian.name, sha256: debian.sha256 } };
  }
  if (dsc.format === '3.0 (native)') {
    const tar = pick(/\.tar\.[a-z0-9]+$/);
    if (!tar) throw new Error(`${file}: a native package without a tarball`);
    return { source: { kind: 'debian-pool', file: tar.name, sha256: tar.sha256 } };
  }
  throw new Error(`${file}: source format "${dsc.format}" is not supported (3.0 (quilt) and 3.0 (native) are); write the recipe by hand (docs/third-party.md)`);
}

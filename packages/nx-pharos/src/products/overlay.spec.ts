import { describe, expect, it } from 'vitest';
import { appRoot, envFileText, overlayManifestPath, overlayProductPaths } from './overlay';

describe('overlay products', () => {
  it('lives in dist/containers/overlays/<name>/ as <version>.sqf, .env and .sqf.json', () => {
    expect(overlayManifestPath('samtools', '1.16.1')).toBe('dist/containers/overlays/samtools/1.16.1.sqf.json');
    expect(overlayProductPaths('/w/dist/containers/overlays/htslib', '1.16')).toEqual({
      sqf: '/w/dist/containers/overlays/htslib/1.16.sqf',
      env: '/w/dist/containers/overlays/htslib/1.16.env',
      manifest: '/w/dist/containers/overlays/htslib/1.16.sqf.json',
    });
    expect(appRoot('htslib', '1.16')).toBe('/cnt/htslib/1.16');
  });

  it('writes each #ENV with $app_root expanded, quoted to be taken as written, its note above it', () => {
    const text = envFileText(
      [
        { key: 'HTSLIB_ROOT', value: '$app_root', note: 'install prefix', line: 3 },
        { key: 'GREETING', value: "it's $HOME, {prefix}/x", line: 5 },
      ],
      '/cnt/htslib/1.16',
    );
    expect(text).toBe(`# install prefix\nHTSLIB_ROOT='/cnt/htslib/1.16'\nGREETING='it'\\''s $HOME, /cnt/htslib/1.16/x'\n`);
  });
});

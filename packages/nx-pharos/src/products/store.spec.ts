import { homedir } from 'node:os';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PharosError } from '../utils/errors';
import {
  anchorPath,
  belongsInStore,
  blobLinkText,
  blobPath,
  DEFAULT_STORE_THRESHOLD,
  parseBlobLink,
  parseExportArgs,
  parseStoreThreshold,
  STORE_IN_SHALLOW_MOUNTS,
  storeDir,
} from './store';

const HEX = 'ab'.padEnd(64, '0');
const WS = '/work/ws';

describe('the store folder', () => {
  it("is PHAROS_STORE, else pharos/store in the user's cache folder, whatever PHAROS_CACHE_DIR says", () => {
    expect(storeDir({ PHAROS_STORE: '/srv/store/' })).toBe('/srv/store');
    expect(storeDir({ PHAROS_STORE: ' ', PHAROS_CACHE_DIR: '/c', XDG_CACHE_HOME: '/home/ann/.xdg' })).toBe('/home/ann/.xdg/pharos/store');
    expect(storeDir({ PHAROS_CACHE_DIR: '/c' })).toBe(join(homedir(), '.cache/pharos/store'));
  });

  it('refuses a relative PHAROS_STORE, which would be another folder from every working directory', () => {
    expect(() => storeDir({ PHAROS_STORE: 'store' })).toThrow(PharosError);
    expect(() => storeDir({ PHAROS_STORE: 'store' })).toThrow('PHAROS_STORE is "store", which is not an absolute path');
  });

  it('keeps a blob under sha256/<first two hex>/<digest>, and refuses what is not a digest', () => {
    expect(blobPath('/s', HEX)).toBe(`/s/sha256/ab/${HEX}`);
    expect(() => blobPath('/s', 'AB'.padEnd(64, '0'))).toThrow('is not a sha256 digest');
    expect(() => blobPath('/s', '../x')).toThrow('is not a sha256 digest');
  });
});

describe('the threshold (PHAROS_STORE_THRESHOLD)', () => {
  it('is 8 MiB when unset, and takes bytes with binary units, 0 and off', () => {
    expect(parseStoreThreshold(undefined)).toBe(DEFAULT_STORE_THRESHOLD);
    expect(parseStoreThreshold('')).toBe(8 * 1024 * 1024);
    expect(parseStoreThreshold('0')).toBe(0);
    expect(parseStoreThreshold('4096')).toBe(4096);
    expect(parseStoreThreshold('512b')).toBe(512);
    expect(parseStoreThreshold('64M')).toBe(64 * 1024 ** 2);
    expect(parseStoreThreshold('64m')).toBe(64 * 1024 ** 2);
    expect(parseStoreThreshold('512k')).toBe(512 * 1024);
    expect(parseStoreThreshold('1GiB')).toBe(1024 ** 3);
    expect(parseStoreThreshold('2 GB')).toBe(2 * 1024 ** 3);
    expect(parseStoreThreshold('OFF')).toBe('off');
  });

  it('names the variable and the forms it takes when it is not a size', () => {
    for (const bad of ['-1', '1.5M', 'lots', '8X', '8ib']) {
      expect(() => parseStoreThreshold(bad), bad).toThrow(`PHAROS_STORE_THRESHOLD is "${bad}", which is not a size`);
    }
  });

  it('stores files of at least the threshold, everything at 0, nothing when off', () => {
    expect(belongsInStore(1024, 1024)).toBe(true);
    expect(belongsInStore(1023, 1024)).toBe(false);
    expect(belongsInStore(0, 0)).toBe(true);
    expect(belongsInStore(10 ** 12, 'off')).toBe(false);
  });
});

describe('product links', () => {
  it('are relative, through the anchor, from any depth', () => {
    expect(anchorPath(WS)).toBe(`${WS}/.pharos/store`);
    expect(blobLinkText(`${WS}/dist/x/y/file.sif`, WS, HEX)).toBe(`../../../.pharos/store/sha256/ab/${HEX}`);
    expect(blobLinkText(`${WS}/dist/third-party/slurm/24.11/trixie/slurm.deb`, WS, HEX)).toBe(`../../../../../.pharos/store/sha256/ab/${HEX}`);
    expect(blobLinkText(`${WS}/dist/image.tar`, `${WS}/`, HEX)).toBe(`../.pharos/store/sha256/ab/${HEX}`);
  });

  it('resolve, from where they are, to the blob under the anchor', () => {
    const link = `${WS}/dist/containers/base-tools/image.tar`;
    expect(posix.resolve(posix.dirname(link), blobLinkText(link, WS, HEX))).toBe(`${WS}/.pharos/store/sha256/ab/${HEX}`);
  });

  it('are read back: the anchor they go through and the digest; any other link is not one', () => {
    const link = `${WS}/dist/x/y/file.sif`;
    expect(parseBlobLink(link, blobLinkText(link, WS, HEX))).toEqual({ anchor: `${WS}/.pharos/store`, sha256: HEX });
    expect(parseBlobLink(link, `/elsewhere/${HEX}`)).toBeUndefined();
    expect(parseBlobLink(link, '../../../.pharos/store/sha256/cd/' + HEX)).toBeUndefined();
    expect(parseBlobLink(link, 'file.sif.real')).toBeUndefined();
  });

  it('land on /.pharos/store from a product folder mounted one level deep in a container', () => {
    for (const link of [`${WS}/dist/third-party/slurm/24.11/trixie/slurm.deb`, `${WS}/dist/a/image.tar`]) {
      const inContainer = posix.join('/debs', posix.basename(link));
      expect(posix.resolve('/debs', blobLinkText(link, WS, HEX)), inContainer).toBe(`${STORE_IN_SHALLOW_MOUNTS}/sha256/ab/${HEX}`);
    }
  });
});

describe('pharos export arguments', () => {
  it('takes a product, a destination and --force; --help asks for the usage', () => {
    expect(parseExportArgs(['dist/a/image.tar', '/tmp/x'])).toEqual({ product: 'dist/a/image.tar', dest: '/tmp/x', force: false });
    expect(parseExportArgs(['--force', 'a', 'b'])).toEqual({ product: 'a', dest: 'b', force: true });
    expect(parseExportArgs(['--help'])).toBeUndefined();
    expect(() => parseExportArgs(['a'])).toThrow('export takes a product file and a destination');
    expect(() => parseExportArgs(['--bogus', 'a', 'b'])).toThrow('unknown option --bogus');
  });
});

/** `debs.json`, written last next to the .debs a `deb` target built: the product contract of a suite's packages. */
export const DEBS_MANIFEST = 'debs.json';

export interface DebsManifest {
  schema: 1;
  project: string;
  version: string;
  suite: string;
  source: { file: string; sha256: string };
  builtOn: string;
  debs: Array<{ file: string; package: string; version: string; architecture: string; sha256: string; bytes: number }>;
}

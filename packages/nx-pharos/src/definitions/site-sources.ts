import { parseYamlFile, STRINGS, type Shape } from './validate';

/**
 * A site's sources config (`~/.config/pharos/sources.yaml`, or the file PHAROS_SOURCES_CONFIG names): the mirrors tried
 * before upstream, and the site's own sha256 pins (file name → digest) for sources the recipe could not pin.
 */
export interface SiteSources {
  mirrors: string[];
  pins: Record<string, string>;
}

const SITE_SOURCES_YAML: Shape = {
  kind: 'map',
  fields: {
    mirrors: STRINGS,
    pins: { kind: 'dict', of: { kind: 'string', pattern: /^[0-9a-f]{64}$/, expect: 'be a sha256 digest (64 lower-case hex digits)' } },
  },
};

export function parseSiteSources(text: string, file: string): SiteSources {
  const { data } = parseYamlFile<Partial<SiteSources>>(text, file, SITE_SOURCES_YAML);
  return { mirrors: data.mirrors ?? [], pins: data.pins ?? {} };
}

import { isMap, YAMLMap } from 'yaml';
import { PharosError } from '../utils/errors';
import { parseYamlFile, parseYamlText, STRINGS, type Shape } from './validate';

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

/**
 * The sources config's text with `pins.<file>: <sha256>` set, everything else as it was: comments, order, quoting and
 * the mirrors a site keeps there. The text must be a valid sources config (its errors name file and line); a pin that
 * already names another digest is refused, since only a person can tell which of the two is right.
 */
export function setSitePin(text: string, file: string, sha256: string, configFile: string): string {
  const existing = parseSiteSources(text, configFile).pins[file];
  if (existing === sha256) return text;
  if (existing)
    throw new PharosError(`${file} is already pinned to ${existing}, not ${sha256}`, {
      file: configFile,
      next: `check both by your own means; if the new digest is right, remove the old pin of ${file} and pin again`,
    });
  const { doc } = parseYamlText(text, configFile);
  const pins = doc.get('pins', true);
  // `pins:` with nothing under it is no map yet; `pins: {}` grows as a block, one pin a line.
  if (!isMap(pins)) doc.set('pins', new YAMLMap());
  else if (pins.flow && pins.items.length === 0) pins.flow = false;
  doc.setIn(['pins', file], sha256);
  // No folding or padding: lines the site wrote are printed as they were.
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

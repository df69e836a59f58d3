import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PharosError } from '../utils/errors';

/**
 * Where the Debian archive is. Never written into the project: it comes from the environment or from this host's
 * own apt configuration, so an air-gapped site's internal mirror is used without editing anything.
 */
export const DEBIAN_MIRROR_ENV = 'PHAROS_DEBIAN_MIRROR';

const DEBIAN_SUITES = new Set([
  'buster',
  'bullseye',
  'bookworm',
  'trixie',
  'forky',
  'duke',
  'sid',
  'oldoldstable',
  'oldstable',
  'stable',
  'testing',
  'unstable',
  'experimental',
]);

export interface AptSource {
  uri: string;
  suites: string[];
  components: string[];
  file: string;
}

/** One-line `deb [opts] uri suite comp…` entries. */
export function parseOneLineSources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (m) out.push({ uri: m[1], suites: [m[2]], components: m[3].split(/\s+/).filter(Boolean), file });
  }
  return out;
}

/** deb822 `.sources` stanzas. */
export function parseDeb822Sources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields: Record<string, string> = {};
    let last = '';
    for (const raw of stanza.split('\n')) {
      if (raw.startsWith('#')) continue;
      if (/^\s/.test(raw) && last) {
        fields[last] += ` ${raw.trim()}`;
        continue;
      }
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(raw);
      if (m) fields[(last = m[1].toLowerCase())] = m[2];
    }
    if (!fields.uris || !(fields.types ?? '').split(/\s+/).includes('deb')) continue;
    if ((fields.enabled ?? 'yes').toLowerCase() === 'no') continue;
    const suites = (fields.suites ?? '').split(/\s+/).filter(Boolean);
    const components = (fields.components ?? '').split(/\s+/).filter(Boolean);
    for (const uri of fields.uris.split(/\s+/).filter(Boolean)) out.push({ uri, suites, components, file });
  }
  return out;
}

function isDebianArchive(s: AptSource): boolean {
  return s.components.includes('main') && s.suites.some((suite) => DEBIAN_SUITES.has(suite.replace(/-(updates|backports|proposed-updates)$/, '')));
}

/** The first Debian archive (not the security archive) among the host's sources. */
export function pickDebianMirror(sources: AptSource[]): string | undefined {
  const archive = sources.find(isDebianArchive);
  return archive?.uri.replace(/\/+$/, '');
}

export function readHostAptSources(root = '/etc/apt'): AptSource[] {
  const sources: AptSource[] = [];
  const read = (file: string, parse: (t: string, f: string) => AptSource[]) => {
    try {
      sources.push(...parse(readFileSync(file, 'utf8'), file));
    } catch {
      // A missing file is normal (deb822-only hosts have no sources.list).
    }
  };
  read(join(root, 'sources.list'), parseOneLineSources);
  let entries: string[];
  try {
    entries = readdirSync(join(root, 'sources.list.d')).sort();
  } catch {
    entries = [];
  }
  for (const name of entries) {
    const file = join(root, 'sources.list.d', name);
    if (name.endsWith('.list')) read(file, parseOneLineSources);
    else if (name.endsWith('.sources')) read(file, parseDeb822Sources);
  }
  return sources;
}

export function resolveDebianMirror(env: NodeJS.ProcessEnv = process.env, aptRoot = '/etc/apt'): string {
  const fromEnv = env[DEBIAN_MIRROR_ENV]?.trim();
  if (fromEnv) return fromEnv.replace(/\/+$/, '');
  const mirror = pickDebianMirror(readHostAptSources(aptRoot));
  if (mirror) return mirror;
  throw new PharosError('no Debian mirror found', {
    step: 'resolve Debian mirror',
    next:
      `set ${DEBIAN_MIRROR_ENV}=<URL of a Debian archive mirror> (for example your site's internal mirror), ` +
      `or add a Debian "main" source to ${aptRoot}/sources.list.d/`,
  });
}

/** For uses where the Debian archive is one source among others: no mirror is not an error there. */
export function optionalDebianMirror(): string | undefined {
  try {
    return resolveDebianMirror();
  } catch {
    return undefined;
  }
}

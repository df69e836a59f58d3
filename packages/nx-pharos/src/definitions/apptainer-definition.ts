import { PharosError } from '../utils/errors';

/**
 * An Apptainer definition file (`containers/overlays/<name>/<version>.def`) as far as Pharos needs it: the header
 * keywords (`Bootstrap:`, `From:`, …) with their lines, and which sections it has. Read the way Apptainer 1.4 reads it
 * (pkg/build/types/parser/deffile.go): the header is everything before the first line whose first word starts with
 * `%`; a header line is `Keyword: value`, the keyword case-insensitive, a trailing `# comment` dropped, a value ending
 * in `\` continued on the next line; a new stage starts at a `Bootstrap:` in column 0. Pure: text and path in, data
 * out; a mistake is a PharosError naming the file and line.
 *
 * Refused here, with what to write instead, because the build could not be what the file says:
 * - a second stage: one `.def` is one image, built on one SIF the graph knows;
 * - `%setup`, which runs on the build host, and `%files`, which copies from it: what they read is outside the file,
 *   so the cache key could not see it change.
 */

export interface DefinitionHeader {
  /** Lower-case, as Apptainer keys it. */
  key: string;
  value: string;
  line: number;
}

export interface DefinitionSection {
  /** Lower-case, without the `%`: `post`, `appinstall`. */
  name: string;
  /** What follows the name on its line: `-c /bin/bash`, an app's name. */
  args: string;
  line: number;
  /** The lines up to the next section, as written. */
  body: string[];
}

export interface ApptainerDefinition {
  file: string;
  header: Record<string, DefinitionHeader>;
  bootstrap: DefinitionHeader;
  from?: DefinitionHeader;
  sections: DefinitionSection[];
}

/** Apptainer 1.4's own lists (deffile.go validSections, appSections, validHeaders). */
const SECTIONS = new Set(['help', 'setup', 'files', 'labels', 'environment', 'pre', 'post', 'runscript', 'test', 'startscript', 'arguments']);
const APP_SECTIONS = new Set(['appinstall', 'applabels', 'appfiles', 'appenv', 'apptest', 'apphelp', 'apprun', 'appstart']);
const HEADERS = new Set([
  'bootstrap',
  'from',
  'includecmd',
  'mirrorurl',
  'updateurl',
  'osversion',
  'include',
  'library',
  'registry',
  'namespace',
  'stage',
  'product',
  'user',
  'regcode',
  'productpgp',
  'registerurl',
  'modules',
  'fingerprints',
  'confurl',
  'setopt',
]);
/** `OtherURL0`, `OtherURL1`, … (zypper bootstraps). */
const NUMBERED_HEADER = /^otherurl\d+$/;

export const UNSUPPORTED_SECTIONS: Record<string, { why: string; next: string }> = {
  setup: {
    why: '%setup runs on the build host, outside the image, and what it reads is not in the cache key',
    next: 'do the work in %post, inside the image',
  },
  files: {
    why: '%files copies files from the build host, and they are not in the cache key, so an edit of one would not rebuild the image',
    next: 'write the file from %post (a here-document), or ship it in an overlay (a .sh build script with #SRC:)',
  },
};

const SECTION_START = /^\s*%(\S*)\s*(.*)$/;

/** The definition's header and sections; an error naming the line for anything Apptainer or Pharos would refuse. */
export function parseApptainerDefinition(text: string, file: string): ApptainerDefinition {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const header: Record<string, DefinitionHeader> = {};
  const sections: DefinitionSection[] = [];
  let continued: DefinitionHeader | undefined;
  lines.forEach((raw, index) => {
    const line = index + 1;
    const fail = (message: string, next: string): never => {
      throw new PharosError(message, { file, line, next });
    };
    const section = SECTION_START.exec(raw);
    if (section) {
      const name = section[1].toLowerCase();
      if (!SECTIONS.has(name) && !APP_SECTIONS.has(name)) {
        fail(`%${section[1]} is not an Apptainer section`, `use one of %${[...SECTIONS].join(', %')}, or an app section (%${[...APP_SECTIONS].join(', %')})`);
      }
      const unsupported = UNSUPPORTED_SECTIONS[name];
      if (unsupported) fail(`%${name}: ${unsupported.why}`, unsupported.next);
      if (APP_SECTIONS.has(name) && !section[2]) fail(`%${name} names no app`, `write %${name} <app name>`);
      sections.push({ name, args: section[2], line, body: [] });
      return;
    }
    if (sections.length) {
      if (/^bootstrap:/i.test(raw)) {
        fail('a second Bootstrap: starts another build stage, and a .def here is one stage', 'build the image in one stage, From: the Pharos SIF');
      }
      sections[sections.length - 1].body.push(raw);
      return;
    }
    const trimmed = raw.trim();
    if (!trimmed || trimmed.startsWith('#')) {
      continued = undefined;
      return;
    }
    const value = trimmed.split('#')[0].trim();
    if (continued) {
      continued.value += value;
    } else {
      const colon = value.indexOf(':');
      if (colon < 0) fail(`"${value}" is not a header line`, 'write Keyword: value (Bootstrap: localimage, From: <path>) before the first %section');
      const key = value.slice(0, colon).trim().toLowerCase();
      if (!HEADERS.has(key) && !NUMBERED_HEADER.test(key)) {
        fail(
          `${value.slice(0, colon).trim()}: is not an Apptainer header keyword`,
          'check its spelling; Bootstrap: and From: are the ones a Pharos .def needs',
        );
      }
      if (header[key]) fail(`${key}: is given twice (line ${header[key].line} and here)`, 'keep one of the two lines');
      continued = { key, value: value.slice(colon + 1).trim(), line };
      header[key] = continued;
    }
    // A value ending in `\` goes on (`\n` before it is a line break), as Apptainer reads it.
    if (continued.value.endsWith('\\')) {
      const rest = continued.value.slice(0, -1);
      continued.value = rest.endsWith('\\n') ? `${rest.slice(0, -2)}\n` : rest;
    } else {
      continued = undefined;
    }
  });
  const bootstrap = header.bootstrap;
  if (!bootstrap) {
    throw new PharosError('the definition has no Bootstrap: header', { file, line: 1, next: 'start it with Bootstrap: localimage and From: <the SIF>' });
  }
  return { file, header, bootstrap, ...(header.from ? { from: header.from } : {}), sections };
}

/** The first non-blank line of `%help`: what the image is, in one line. */
export function definitionSummary(def: ApptainerDefinition): string | undefined {
  return def.sections
    .find((s) => s.name === 'help')
    ?.body.map((l) => l.trim())
    .find(Boolean);
}

/**
 * Pure Dockerfile reading: enough of the reference syntax to know each instruction's line, the images a build starts
 * from, and to reject what the daemon would reject, but with the file and line in the message.
 */

export const DOCKERFILE_INSTRUCTIONS = [
  'ADD',
  'ARG',
  'CMD',
  'COPY',
  'ENTRYPOINT',
  'ENV',
  'EXPOSE',
  'FROM',
  'HEALTHCHECK',
  'LABEL',
  'MAINTAINER',
  'ONBUILD',
  'RUN',
  'SHELL',
  'STOPSIGNAL',
  'USER',
  'VOLUME',
  'WORKDIR',
] as const;

export interface DockerfileInstruction {
  keyword: string;
  args: string;
  /** 1-based line where the instruction starts. */
  line: number;
  /** 1-based line where it ends (its last continuation line). */
  lastLine: number;
  /** The instruction as written, continuation lines joined. */
  original: string;
}

export interface DockerfileSyntaxError {
  line: number;
  message: string;
}

export interface ParsedDockerfile {
  instructions: DockerfileInstruction[];
  errors: DockerfileSyntaxError[];
}

export interface BaseImageRef {
  /** The reference after ARG substitution, e.g. `debian:trixie`. */
  ref: string;
  line: number;
  /** Stage name from `FROM x AS name`. */
  stage?: string;
}

const PARSER_DIRECTIVE = /^#\s*([a-zA-Z]+)\s*=\s*(.+?)\s*$/;

export function parseDockerfile(text: string): ParsedDockerfile {
  const rawLines = text.split(/\r?\n/);
  let escape = '\\';
  // Parser directives are only recognised before the first instruction, comment or blank line.
  for (const raw of rawLines) {
    const m = PARSER_DIRECTIVE.exec(raw);
    if (!m) break;
    if (m[1].toLowerCase() === 'escape') escape = m[2];
  }

  const instructions: DockerfileInstruction[] = [];
  const errors: DockerfileSyntaxError[] = [];
  let current: { line: number; lastLine: number; parts: string[] } | null = null;
  let heredocEnd: string | null = null;

  const finish = () => {
    if (!current) return;
    const joined = current.parts.join(' ').trim();
    const m = /^(\S+)\s*([\s\S]*)$/.exec(joined);
    if (m) {
      const keyword = m[1].toUpperCase();
      if (!(DOCKERFILE_INSTRUCTIONS as readonly string[]).includes(keyword)) {
        errors.push({ line: current.line, message: `unknown instruction: ${m[1]}` });
      }
      instructions.push({ keyword, args: m[2].trim(), line: current.line, lastLine: current.lastLine, original: joined });
      const heredoc = /<<-?\s*["']?([A-Za-z_][A-Za-z0-9_]*)["']?/.exec(m[2]);
      if (heredoc && ['RUN', 'COPY', 'ADD'].includes(keyword)) heredocEnd = heredoc[1];
    }
    current = null;
  };

  rawLines.forEach((raw, index) => {
    const lineNo = index + 1;
    if (heredocEnd !== null) {
      if (raw.trim() === heredocEnd) heredocEnd = null;
      return;
    }
    const trimmed = raw.trim();
    if (trimmed.startsWith('#')) return; // comments are dropped, even inside a continued instruction
    if (!current && trimmed === '') return;
    const continues = trimmed.endsWith(escape);
    const content = continues ? trimmed.slice(0, -escape.length) : trimmed;
    if (!current) current = { line: lineNo, lastLine: lineNo, parts: [] };
    current.parts.push(content);
    current.lastLine = lineNo;
    if (!continues) finish();
  });
  finish();

  const firstReal = instructions.find((i) => i.keyword !== 'ARG');
  if (firstReal && firstReal.keyword !== 'FROM' && !errors.length) {
    errors.push({ line: firstReal.line, message: `the first instruction must be FROM (or ARG), found ${firstReal.keyword}` });
  }
  if (!firstReal && !errors.length) errors.push({ line: 1, message: 'no FROM instruction' });
  for (const i of instructions) {
    if (i.keyword === 'FROM' && !i.args) errors.push({ line: i.line, message: 'FROM needs an image reference' });
  }
  return { instructions, errors };
}

/** Expands `$VAR`, `${VAR}` and `${VAR:-default}` the way the builder does for FROM. */
export function substituteArgs(value: string, args: Record<string, string | undefined>): string {
  return value.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (_m, braced: string | undefined, op: string | undefined, word: string | undefined, bare: string | undefined) => {
      const name = (braced ?? bare) as string;
      const v = args[name];
      if (op === '-') return v ? v : (word ?? '');
      if (op === '+') return v ? (word ?? '') : '';
      return v ?? '';
    },
  );
}

function parseArgDefault(args: string): [string, string | undefined] {
  const eq = args.indexOf('=');
  if (eq < 0) return [args.trim(), undefined];
  return [
    args.slice(0, eq).trim(),
    args
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1'),
  ];
}

/** The names every ARG instruction declares (`ARG a`, `ARG b=1`), in every stage. */
export function declaredArgs(parsed: ParsedDockerfile): string[] {
  return parsed.instructions
    .filter((i) => i.keyword === 'ARG')
    .flatMap((i) => i.args.split(/\s+/).map((word) => /^([A-Za-z_]\w*)(?:=|$)/.exec(word)?.[1]))
    .filter((name): name is string => !!name);
}

/**
 * The external images a Dockerfile builds on, in order. Stages that refer to an earlier stage (`FROM builder`) are
 * not external and are left out; `scratch` is not an image.
 */
export function baseImages(parsed: ParsedDockerfile, buildArgs: Record<string, string> = {}): BaseImageRef[] {
  const globalArgs: Record<string, string | undefined> = {};
  const stages = new Set<string>();
  const refs: BaseImageRef[] = [];
  let seenFrom = false;
  for (const i of parsed.instructions) {
    if (i.keyword === 'ARG' && !seenFrom) {
      const [name, def] = parseArgDefault(i.args);
      globalArgs[name] = buildArgs[name] ?? def;
      continue;
    }
    if (i.keyword !== 'FROM') continue;
    seenFrom = true;
    const words = i.args.split(/\s+/).filter((w) => !w.startsWith('--'));
    const ref = substituteArgs(words[0] ?? '', globalArgs);
    const asIndex = words.findIndex((w) => w.toLowerCase() === 'as');
    const stage = asIndex > 0 ? words[asIndex + 1]?.toLowerCase() : undefined;
    if (ref !== 'scratch' && !stages.has(ref.toLowerCase())) refs.push({ ref, line: i.line, stage });
    if (stage) stages.add(stage);
  }
  return refs;
}

/**
 * The Dockerfile the builder is given: each FROM whose line is in `pins` names that image ID instead of the reference
 * written there (a tag another workspace on the same daemon can move between our check and the builder's lookup).
 * Flags and the stage name stay; so do stages built on stages, and every line number: a FROM written over several lines
 * becomes one line followed by blank ones, so the builder's steps and our messages still point at the user's file.
 */
export function pinBaseImages(text: string, parsed: ParsedDockerfile, pins: ReadonlyMap<number, string>): string {
  const lines = text.split('\n');
  for (const i of parsed.instructions) {
    const id = pins.get(i.line);
    if (i.keyword !== 'FROM' || id === undefined) continue;
    const words = i.args.split(/\s+/);
    const image = words.findIndex((w) => !w.startsWith('--'));
    if (image < 0) continue;
    words[image] = id;
    for (let n = i.line; n <= i.lastLine; n++) {
      const cr = lines[n - 1].endsWith('\r') ? '\r' : '';
      lines[n - 1] = (n === i.line ? `FROM ${words.join(' ')}` : '') + cr;
    }
  }
  return lines.join('\n');
}

/** `debian` means `debian:latest`; digests and explicit tags are kept. */
export function normalizeImageRef(ref: string): string {
  if (ref.includes('@')) return ref;
  const lastSlash = ref.lastIndexOf('/');
  return ref.slice(lastSlash + 1).includes(':') ? ref : `${ref}:latest`;
}

/** The digest a pull's progress reports (`Digest: sha256:…`), the name-free way to find the image it pulled. */
export function pulledDigest(statuses: string[]): string | undefined {
  for (const status of statuses) {
    const m = /^Digest: (sha256:[0-9a-f]{64})$/.exec(status.trim());
    if (m) return m[1];
  }
  return undefined;
}

/** `debian:trixie` + a digest → `debian@sha256:…`: the reference the pulled image answers to whatever its tag names now. */
export function digestReference(ref: string, digest: string): string {
  const at = ref.indexOf('@');
  const named = at >= 0 ? ref.slice(0, at) : ref;
  const colon = named.lastIndexOf(':');
  const repository = colon > named.lastIndexOf('/') ? named.slice(0, colon) : named;
  return `${repository}@${digest}`;
}

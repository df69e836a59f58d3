import { Document, isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { DURATION_EXAMPLES, parseDuration } from '../utils/duration';
import { PharosError } from '../utils/errors';

/**
 * One declarative validator for every file the tree holds (YAML, and nx.json read as YAML): a file's shape is data,
 * and every mistake is reported with the file, the line of the offending key or value, the key path
 * (`cluster.nodes[0]`) and, for an unknown key, the keys known at that level.
 *
 * Collections (`map`, `dict`, `list`) read an empty value (`key:` with nothing after it) as empty; a map's field left
 * empty counts as absent, so its default applies.
 */
export type Shape =
  | { kind: 'string'; pattern?: RegExp; expect?: string; /** Numbers are read as their text (versions, `1.26`). */ fromNumber?: boolean }
  | { kind: 'number'; integer?: boolean; min?: number; max?: number; expect?: string }
  | { kind: 'boolean' }
  /** A time limit as text (`90s`, `10m`, `1h30m`), kept as written; `parseDuration` gives its milliseconds. */
  | { kind: 'duration' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'list'; of: Shape; orSingle?: boolean; nonEmpty?: boolean; expect?: string }
  | { kind: 'map'; fields: Record<string, Shape>; required?: string[] }
  | { kind: 'dict'; of: Shape }
  /** A scalar read with `scalar`, a mapping with `map` (a provision entry is a script, or `{ script, requires }`). */
  | { kind: 'scalarOrMap'; scalar: Shape; map: Shape & { kind: 'map' } };

export type KeyPath = string;

export function keyPath(parent: KeyPath, key: string | number): KeyPath {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent ? `${parent}.${key}` : key;
}

/** A validated file: its data, and errors located at any key path the validator visited. */
export interface ValidatedFile<T> {
  data: T;
  lineOf(path: KeyPath): number | undefined;
  fail(path: KeyPath, message: string, next?: string): never;
}

const describe = (path: KeyPath) => (path ? `"${path}"` : 'the file');

class Validator {
  readonly lines = new Map<KeyPath, number>();

  constructor(
    private readonly file: string,
    private readonly counter: LineCounter | undefined,
  ) {}

  lineAt(node: Node | null | undefined): number | undefined {
    const offset = node?.range?.[0];
    return offset === undefined || !this.counter ? undefined : this.counter.linePos(offset).line;
  }

  fail(line: number | undefined, message: string, next?: string): never {
    throw new PharosError(message, { file: this.file, line, next });
  }

  /** `fallback` is the line of the key, for a value that has no position of its own. */
  value(node: Node | null | undefined, shape: Shape, path: KeyPath, fallback?: number): unknown {
    const line = this.lineAt(node) ?? fallback;
    if (line !== undefined && !this.lines.has(path)) this.lines.set(path, line);
    const empty = node === null || node === undefined || (isScalar(node) && node.value === null);
    const got = isScalar(node) && !empty ? `, got ${JSON.stringify(node.value)}` : '';
    const wrong = (expected: string): never => this.fail(line, `${describe(path)} must ${expected}${got}`);
    switch (shape.kind) {
      case 'string': {
        const value =
          isScalar(node) && shape.fromNumber && typeof node.value === 'number' ? String(node.source ?? node.value) : isScalar(node) ? node.value : undefined;
        if (typeof value !== 'string' || (shape.pattern && !shape.pattern.test(value))) wrong(shape.expect ?? 'be a string');
        return value;
      }
      case 'number': {
        const n = isScalar(node) ? node.value : undefined;
        const range = `be ${shape.integer ? 'an integer' : 'a number'}${shape.min !== undefined ? ` from ${shape.min}` : ''}${shape.max !== undefined ? ` to ${shape.max}` : ''}`;
        if (
          typeof n !== 'number' ||
          (shape.integer && !Number.isInteger(n)) ||
          (shape.min !== undefined && n < shape.min) ||
          (shape.max !== undefined && n > shape.max)
        ) {
          wrong(shape.expect ?? range);
        }
        return n;
      }
      case 'duration':
        if (!isScalar(node) || typeof node.value !== 'string' || parseDuration(node.value) === undefined) wrong(`be ${DURATION_EXAMPLES}`);
        return (node as { value: string }).value;
      case 'boolean':
        if (!isScalar(node) || typeof node.value !== 'boolean') wrong('be true or false');
        return (node as { value: boolean }).value;
      case 'enum':
        if (!isScalar(node) || typeof node.value !== 'string' || !shape.values.includes(node.value)) wrong(`be one of ${shape.values.join(', ')}`);
        return (node as { value: string }).value;
      case 'list': {
        if (shape.orSingle && isScalar(node) && !empty) return [this.value(node, shape.of, path, line)];
        const items = empty ? [] : isSeq(node) ? node.items : wrong(shape.expect ?? 'be a list');
        if (shape.nonEmpty && !items.length) wrong(shape.expect ?? 'list at least one entry');
        return items.map((item, i) => this.value(item as Node, shape.of, keyPath(path, i), line));
      }
      case 'dict': {
        if (!empty && !isMap(node)) wrong('be a mapping');
        const out: Record<string, unknown> = {};
        for (const pair of empty ? [] : (node as { items: Array<{ key: unknown; value: unknown }> }).items) {
          const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
          out[key] = this.value(pair.value as Node, shape.of, keyPath(path, key), this.lineAt(pair.key as Node));
        }
        return out;
      }
      case 'map': {
        if (!empty && !isMap(node)) wrong('be a mapping');
        const out: Record<string, unknown> = {};
        for (const pair of empty ? [] : (node as { items: Array<{ key: unknown; value: unknown }> }).items) {
          const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
          const keyLine = this.lineAt(pair.key as Node) ?? line;
          const field = shape.fields[key];
          if (!field) {
            this.fail(keyLine, `unknown key "${keyPath(path, key)}" (known here: ${Object.keys(shape.fields).join(', ')})`, `remove or rename "${key}"`);
          }
          const value = pair.value as Node | null;
          if (value === null || (isScalar(value) && value.value === null)) continue;
          out[key] = this.value(value, field, keyPath(path, key), keyLine);
        }
        for (const key of shape.required ?? []) {
          if (!(key in out)) this.fail(line, `${describe(path)} lacks "${key}"`);
        }
        return out;
      }
      case 'scalarOrMap':
        return isMap(node) ? this.value(node, shape.map, path, line) : this.value(node, shape.scalar, path, line);
    }
  }

  located<T>(data: T): ValidatedFile<T> {
    return {
      data,
      lineOf: (path) => this.lines.get(path),
      fail: (path, message, next) => this.fail(this.lines.get(path), message, next),
    };
  }
}

/** Parses YAML text, naming the line of a syntax error. */
export function parseYamlText(text: string, file: string): { doc: Document.Parsed; lines: LineCounter } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const [first] = doc.errors;
  if (first) throw new PharosError(`invalid YAML: ${first.message.split('\n')[0]}`, { file, line: lines.linePos(first.pos[0]).line });
  return { doc, lines };
}

/** A YAML file checked against its shape. An empty file is an empty mapping. */
export function parseYamlFile<T>(text: string, file: string, shape: Shape): ValidatedFile<T> {
  const { doc, lines } = parseYamlText(text, file);
  return validateNode<T>(doc.contents as Node | null, shape, file, lines);
}

/** A node of a parsed file (with its line counter), or of a value built in memory (no lines). */
export function validateNode<T>(node: Node | null, shape: Shape, file: string, lines?: LineCounter): ValidatedFile<T> {
  const validator = new Validator(file, lines);
  return validator.located(validator.value(node, shape, '', lines ? 1 : undefined) as T);
}

/** A value that was never text (options Nx hands over), checked against a shape; errors name `file` without a line. */
export function validateValue<T>(value: unknown, shape: Shape, file: string): ValidatedFile<T> {
  return validateNode<T>(new Document(value ?? null).contents as Node | null, shape, file);
}

/** Shapes several files share. */
export const SUITE_NAME: Shape = { kind: 'string', pattern: /^[a-z][a-z0-9-]*$/, expect: 'be a Debian suite name such as bookworm or trixie' };
export const DEBIAN_NAME: Shape = { kind: 'string', pattern: /^[a-z0-9][a-z0-9+.-]*$/, expect: 'be a Debian package or component name' };
export const RELATIVE_PATH: Shape = { kind: 'string', pattern: /^(?!\/)[A-Za-z0-9._/-]+$/, expect: 'be a path relative to the project' };
export const STRINGS: Shape = { kind: 'list', of: { kind: 'string' } };

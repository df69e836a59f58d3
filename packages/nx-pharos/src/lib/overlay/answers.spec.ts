import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseBuildScript } from '../../definitions/build-script';
import { answersStdin, isOverlayAnswers, parseAnswers } from '../../definitions/overlay-answers';
import { parseOverlayPath } from '../../definitions/overlay-path';
import { PharosError } from '../../utils/errors';
import { readOverlayAnswers, type AnswersContext } from './answers';

const SCRIPT = 'containers/overlays/vendor-tool/2.0.sh';
const ANSWERS = 'containers/overlays/vendor-tool/2.0.answers';
const SECRET = 'LICENCE-1234-5678';
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('the answers file', () => {
  it('is one answer per line: the last newline optional, CRs dropped, an empty line an empty answer', () => {
    expect(parseAnswers('')).toEqual([]);
    expect(parseAnswers('yes\nhttps://example.org/x.tar.gz')).toEqual(['yes', 'https://example.org/x.tar.gz']);
    expect(parseAnswers('yes\r\n\r\n')).toEqual(['yes', '']);
    expect(parseAnswers('\n')).toEqual(['']);
    expect(answersStdin(['yes', ''])).toBe('yes\n\n');
    expect(isOverlayAnswers(ANSWERS)).toBe(true);
    expect(isOverlayAnswers('tools/x.answers')).toBe(false);
  });
});

describe('readOverlayAnswers', () => {
  let root: string;
  let outside: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'pharos-answers-'));
    outside = mkdtempSync(join(tmpdir(), 'pharos-answers-site-'));
    mkdirSync(join(root, 'containers/overlays/vendor-tool'), { recursive: true });
    mkdirSync(join(outside, 'vendor-tool'));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  const header = '#INTERACTIVE:Accept the EULA? (yes/no)\n#INTERACTIVE:Licence key\\nfrom the vendor portal';
  function context(extra = '', inKey = true): AnswersContext {
    const script = parseBuildScript(`#!/usr/bin/bash\n${header}\n${extra}\ninstall() {\n  true\n}\n`, SCRIPT);
    return { workspaceRoot: root, path: parseOverlayPath(SCRIPT), script, shownScript: SCRIPT, ...(inKey ? { answersInKey: join(root, ANSWERS) } : {}) };
  }
  const errorOf = (o: AnswersContext, env: NodeJS.ProcessEnv = {}) => {
    try {
      readOverlayAnswers(o, env);
    } catch (err) {
      if (err instanceof PharosError) return err;
    }
    throw new Error('no PharosError');
  };

  it('gives a script without prompts nothing (its stdin is /dev/null)', () => {
    const script = parseBuildScript('install() {\n  true\n}\n', SCRIPT);
    expect(readOverlayAnswers({ workspaceRoot: root, path: parseOverlayPath(SCRIPT), script, shownScript: SCRIPT }, {})).toBeUndefined();
  });

  it('reads the file beside the script when Nx hashes it, and records only its sha256', () => {
    writeFileSync(join(root, ANSWERS), `yes\r\n${SECRET}`);
    expect(readOverlayAnswers(context(), {})).toEqual({ stdin: `yes\n${SECRET}\n`, record: { file: ANSWERS, sha256: sha(`yes\r\n${SECRET}`) } });
  });

  it('names the script, the first prompt, every prompt, and the file to write with its format when there is none', () => {
    const err = errorOf(context());
    expect(err.details).toMatchObject({ file: SCRIPT, line: 2 });
    expect(err.message).toBe(
      `the script asks 2 questions (#INTERACTIVE:), and there is no ${ANSWERS}:\n` +
        '  line 2: Accept the EULA? (yes/no)\n' +
        '  line 3: Licence key\n' +
        '          from the vendor portal',
    );
    expect(err.details.next).toContain(`write ${ANSWERS}: one answer per line, in the order of the #INTERACTIVE: lines (2 lines)`);
    expect(err.details.next).toContain('$PHAROS_ANSWERS_DIR/vendor-tool/2.0.answers');
    expect(errorOf(context(), { PHAROS_ANSWERS_DIR: outside }).message).toContain(`nor under $PHAROS_ANSWERS_DIR, ${outside}`);
  });

  it('refuses too few answers, and too many, the same way, never showing one', () => {
    writeFileSync(join(root, ANSWERS), `${SECRET}\n`);
    const few = errorOf(context());
    expect(few.message).toMatch(
      /^the script asks 2 questions \(#INTERACTIVE:\), and containers\/overlays\/vendor-tool\/2.0.answers has 1 answer, too few:\n {2}line 2/,
    );
    expect(few.details.line).toBe(2);
    writeFileSync(join(root, ANSWERS), `yes\n${SECRET}\nmore\n`);
    const many = errorOf(context());
    expect(many.message).toContain('has 3 answers, more than it asks');
    for (const err of [few, many]) expect(err.format()).not.toContain(SECRET);
  });

  it('refuses a file in the tree that Nx does not hash, unless the script pins its digest', () => {
    writeFileSync(join(root, ANSWERS), `yes\n${SECRET}\n`);
    const err = errorOf(context('', false));
    expect(err.message).toBe(`${ANSWERS} is not among the files Nx hashes (.gitignore or .nxignore leave it out), so the build’s key would not change with it`);
    expect(err.details.next).toContain(`#ANSWERS:sha256:${sha(`yes\n${SECRET}\n`)}`);
    expect(readOverlayAnswers(context(`#ANSWERS:sha256:${sha(`yes\n${SECRET}\n`)}`, false), {})?.stdin).toBe(`yes\n${SECRET}\n`);
  });

  it('takes answers kept outside the tree only with their digest pinned in the script', () => {
    const text = `yes\n${SECRET}\n`;
    writeFileSync(join(outside, 'vendor-tool/2.0.answers'), text);
    const env = { PHAROS_ANSWERS_DIR: outside };
    const unpinned = errorOf(context(), env);
    expect(unpinned.message).toBe('$PHAROS_ANSWERS_DIR/vendor-tool/2.0.answers is outside the tree, so the build’s key would not change with it');
    expect(unpinned.details.next).toBe(`pin it in the script: #ANSWERS:sha256:${sha(text)} (its sha256 now), so that other answers rebuild the overlay`);
    expect(readOverlayAnswers(context(`#ANSWERS:sha256:${sha(text)}`), env)).toEqual({
      stdin: text,
      record: { file: '$PHAROS_ANSWERS_DIR/vendor-tool/2.0.answers', sha256: sha(text) },
    });
    const other = errorOf(context(`#ANSWERS:sha256:${'0'.repeat(64)}`), env);
    expect(other.message).toBe(`$PHAROS_ANSWERS_DIR/vendor-tool/2.0.answers has sha256 ${sha(text)}, and the script pins ${'0'.repeat(64)}`);
    expect(other.details.line).toBe(4);
  });

  it('prefers the file in the tree to one outside it', () => {
    writeFileSync(join(outside, 'vendor-tool/2.0.answers'), 'no\nx\n');
    writeFileSync(join(root, ANSWERS), 'yes\ny\n');
    expect(readOverlayAnswers(context(), { PHAROS_ANSWERS_DIR: outside })?.record.file).toBe(ANSWERS);
  });
});

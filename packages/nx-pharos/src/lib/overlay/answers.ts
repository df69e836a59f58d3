import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BuildScript } from '../../definitions/build-script';
import { ANSWERS_DIR_ENV, ANSWERS_EXTENSION, answersStdin, overlayAnswersFile, parseAnswers } from '../../definitions/overlay-answers';
import type { OverlayPath } from '../../definitions/overlay-path';
import { PharosError } from '../../utils/errors';

/**
 * The answers a build feeds to install() on its stdin, one line per `#INTERACTIVE:` prompt, found and checked before
 * the build starts. Every answer the build reads must be in its cache key, or Nx would replay an overlay built with
 * other answers: a file in the tree is, when Nx sees it (inference passes it only then: a file .gitignore or .nxignore
 * leaves out is hashed by nobody); a file outside the tree (`$PHAROS_ANSWERS_DIR`) is, through the digest the script
 * pins with `#ANSWERS:sha256:`. An answer may be a secret (a licence key): nothing here prints one, and the manifest
 * records only the file's sha256.
 */

export interface OverlayAnswers {
  /** install()'s stdin. Never logged. */
  stdin: string;
  /** For the manifest: where the answers came from (`$PHAROS_ANSWERS_DIR/…` for a file outside the tree) and its sha256. */
  record: { file: string; sha256: string };
}

export interface AnswersContext {
  workspaceRoot: string;
  path: OverlayPath;
  script: BuildScript;
  shownScript: string;
  /** The in-tree answers file, absolute, when inference found it among the files Nx hashes. */
  answersInKey?: string;
}

interface AnswersFile {
  file: string;
  /** Workspace-relative in the tree, `$PHAROS_ANSWERS_DIR/<name>/<version>.answers` outside it. */
  shown: string;
  inTree: boolean;
}

/** One prompt per line, a prompt's own line breaks indented under it. */
function promptList(script: BuildScript): string {
  return script.interactive.map((p) => `\n  line ${p.line}: ${p.prompt.replace(/\n/g, '\n          ')}`).join('');
}

/** The error for answers that are not there, or not as many as the prompts: the prompts, and what to write where. */
function answersWanted(o: AnswersContext, problem: string, write: string): PharosError {
  const n = o.script.interactive.length;
  const outside = `$${ANSWERS_DIR_ENV}/${o.path.name}/${o.path.version}${ANSWERS_EXTENSION}`;
  return new PharosError(`the script asks ${n} question${n === 1 ? '' : 's'} (#INTERACTIVE:), and ${problem}:${promptList(o.script)}`, {
    file: o.shownScript,
    line: o.script.interactive[0].line,
    next:
      `write ${write}: one answer per line, in the order of the #INTERACTIVE: lines (${n} line${n === 1 ? '' : 's'}); a build never asks on a terminal. ` +
      `Answers that must stay out of the tree (a licence key) go in ${outside} instead, with their digest pinned in the script: #ANSWERS:sha256:<sha256sum of the file>`,
  });
}

function findAnswers(o: AnswersContext, env: NodeJS.ProcessEnv): AnswersFile | undefined {
  const inTree = overlayAnswersFile(o.path.name, o.path.version);
  if (existsSync(join(o.workspaceRoot, inTree))) return { file: join(o.workspaceRoot, inTree), shown: inTree, inTree: true };
  const dir = env[ANSWERS_DIR_ENV];
  const file = dir ? join(dir, o.path.name, `${o.path.version}${ANSWERS_EXTENSION}`) : undefined;
  if (!file || !existsSync(file)) return undefined;
  return { file, shown: `$${ANSWERS_DIR_ENV}/${o.path.name}/${o.path.version}${ANSWERS_EXTENSION}`, inTree: false };
}

/** An answers file the key does not cover: a file outside the tree the script does not pin, or one Nx does not see. */
function unkeyed(o: AnswersContext, found: AnswersFile, sha256: string): PharosError {
  const pin = `pin it in the script: #ANSWERS:sha256:${sha256} (its sha256 now), so that other answers rebuild the overlay`;
  const why = found.inTree
    ? 'is not among the files Nx hashes (.gitignore or .nxignore leave it out), so the build’s key would not change with it'
    : 'is outside the tree, so the build’s key would not change with it';
  return new PharosError(`${found.shown} ${why}`, {
    file: o.shownScript,
    line: o.script.interactive[0].line,
    next: found.inTree ? `commit it (take it out of the ignore file; if you have just written it, run again), or ${pin}` : pin,
  });
}

/**
 * The answers install() reads, or undefined for a script without prompts (its stdin is then /dev/null). `env` holds
 * `PHAROS_ANSWERS_DIR`; the file in the tree comes first.
 */
export function readOverlayAnswers(o: AnswersContext, env: NodeJS.ProcessEnv = process.env): OverlayAnswers | undefined {
  const prompts = o.script.interactive;
  if (!prompts.length) return undefined;
  const found = findAnswers(o, env);
  const inTree = overlayAnswersFile(o.path.name, o.path.version);
  if (!found) {
    const looked = env[ANSWERS_DIR_ENV] ? ` (not in the tree, nor under $${ANSWERS_DIR_ENV}, ${env[ANSWERS_DIR_ENV]})` : '';
    throw answersWanted(o, `there is no ${inTree}${looked}`, inTree);
  }
  const bytes = readFileSync(found.file);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const pinned = o.script.answers;
  if (pinned && pinned.sha256 !== sha256) {
    throw new PharosError(`${found.shown} has sha256 ${sha256}, and the script pins ${pinned.sha256}`, {
      file: o.shownScript,
      line: pinned.line,
      next: `write the answers the pin was made from, or pin these: #ANSWERS:sha256:${sha256}`,
    });
  }
  if (!pinned && !(found.inTree && o.answersInKey === found.file)) throw unkeyed(o, found, sha256);
  const answers = parseAnswers(bytes.toString('utf8'));
  if (answers.length !== prompts.length) {
    const count = `${found.shown} has ${answers.length} answer${answers.length === 1 ? '' : 's'}`;
    throw answersWanted(o, answers.length < prompts.length ? `${count}, too few` : `${count}, more than it asks`, found.inTree ? found.shown : found.file);
  }
  return { stdin: answersStdin(answers), record: { file: found.shown, sha256 } };
}

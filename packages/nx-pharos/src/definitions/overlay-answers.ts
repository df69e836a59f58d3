import { OVERLAYS_ROOT } from './overlay-path';

/**
 * The answers to a build script's `#INTERACTIVE:` prompts: `containers/overlays/<name>/<version>.answers` beside the
 * script, or the same `<name>/<version>.answers` under the directory `$PHAROS_ANSWERS_DIR` names, for answers a site
 * keeps out of the tree. condatainer asks each prompt on a terminal and feeds the replies to the build on its stdin,
 * one line each; a build here never reads a terminal, so the file holds those lines, in the order of the prompts. Pure:
 * paths and text in, answers out (lib/overlay/answers.ts finds and checks the file).
 */

export const ANSWERS_EXTENSION = '.answers';

/** The directory of answers kept outside the tree, laid out as `<name>/<version>.answers`. */
export const ANSWERS_DIR_ENV = 'PHAROS_ANSWERS_DIR';

/** `containers/overlays/<name>/<version>.answers`, workspace-relative. */
export function overlayAnswersFile(name: string, version: string): string {
  return `${OVERLAYS_ROOT}/${name}/${version}${ANSWERS_EXTENSION}`;
}

export function isOverlayAnswers(file: string): boolean {
  return file.startsWith(`${OVERLAYS_ROOT}/`) && file.endsWith(ANSWERS_EXTENSION);
}

/**
 * One answer per line; the newline after the last is optional, a CR before a newline is dropped (a file saved on
 * Windows), and an empty line is an empty answer (what condatainer's `--yes` gives every prompt).
 */
export function parseAnswers(text: string): string[] {
  if (!text) return [];
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** What install() reads on its stdin: each answer on its line, the last one ended too, so `read` takes it whole. */
export function answersStdin(answers: readonly string[]): string {
  return answers.map((a) => `${a}\n`).join('');
}

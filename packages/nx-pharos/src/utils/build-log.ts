import type { ExecutorContext } from '@nx/devkit';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { PharosError } from './errors';

/**
 * Build scripts report to the executor through marker lines in their output: `pharos-phase: <step>` for progress, and
 * `<marker>\t<field>\t<field>…` for results (the .debs built, the libraries bundled).
 */
export const PHASE_MARKER = 'pharos-phase:';

/** The shell line that announces a phase. */
export const phase = (name: string) => `echo "${PHASE_MARKER} ${name}"`;

/** The last phase marker in the output: where a failed build stopped. */
export function lastPhase(output: string): string | undefined {
  const phases = output.split('\n').filter((l) => l.startsWith(PHASE_MARKER));
  return phases.at(-1)?.slice(PHASE_MARKER.length).trim();
}

/** The tab-separated fields after `marker` on each line that starts with it. */
export function markedFields(output: string, marker: string): string[][] {
  return output
    .split('\n')
    .filter((l) => l.startsWith(`${marker}\t`))
    .map((l) => l.split('\t').slice(1));
}

/**
 * Long builds (compilers, packagers) write their whole output to a log file under tmp/logs/; the terminal, and so
 * Nx's stored output, gets only the phases. A failure names the phase, the log and its last lines.
 */
export async function buildLogFile(context: ExecutorContext, what: string): Promise<string> {
  const dir = join(context.root, 'tmp', 'logs');
  await mkdir(dir, { recursive: true });
  return join(dir, `${context.projectName}-${what}.log`);
}

const KEEP = 4_000_000;

/** The default of buildLog: only a build's phase markers reach the terminal. */
export function showPhases(line: string): void {
  if (line.startsWith(PHASE_MARKER)) process.stdout.write(`pharos: ${line.slice(PHASE_MARKER.length).trim()}\n`);
}

/**
 * A build's whole output, written to `file` and kept in memory (its tail) for the error; `show` decides what of each
 * line reaches the terminal, so Nx's stored output stays short.
 */
export function buildLog(file: string, show: (line: string) => void = showPhases) {
  const out = createWriteStream(file);
  let all = '';
  let partial = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      const text = chunk.toString();
      all += text;
      if (all.length > KEEP) all = all.slice(-KEEP / 2);
      partial += text;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) show(l);
      out.write(chunk, cb);
    },
  });
  const close = () => {
    if (partial) show(partial);
    partial = '';
    return new Promise<void>((r) => out.end(r));
  };
  return { stream, text: () => all, close };
}

const TAIL_LINES = 25;

export function buildFailure(output: string, code: number, shownLog: string, label: string): PharosError {
  const phase = lastPhase(output);
  const early = phase === 'build-deps' || phase === 'toolchain';
  return new PharosError(`the build stopped in ${phase ?? 'its first step'} with code ${code}`, {
    file: shownLog,
    step: `${label}: ${phase ?? 'build'}`,
    tail: output.trim().split('\n').slice(-TAIL_LINES),
    next: `read ${shownLog}; ${early ? "the suite's archive must serve the build dependencies" : 'fix the source or the recipe, then run the target again'}`,
  });
}

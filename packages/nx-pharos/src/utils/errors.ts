/**
 * An error a user can act on: where it happened (file, line, step) and what to do next.
 * Executors print `format()` instead of a stack trace, because the stack is about our code, not their input.
 */
export interface PharosErrorDetails {
  file?: string;
  line?: number;
  step?: string;
  next?: string;
  /** Last lines of a tool's output or log, shown under the message. */
  tail?: string[];
}

export class PharosError extends Error {
  readonly details: PharosErrorDetails;

  constructor(message: string, details: PharosErrorDetails = {}) {
    super(message);
    this.name = 'PharosError';
    this.details = details;
  }

  format(): string {
    const { file, line, step, next, tail } = this.details;
    const where = file ? `${file}${line ? `:${line}` : ''}: ` : '';
    const lines = [`pharos: ${where}${step ? `${step}: ` : ''}${this.message}`];
    if (tail?.length) lines.push('  last output:', ...tail.map((l) => `    ${l}`));
    if (next) lines.push(`  next: ${next}`);
    return lines.join('\n');
  }
}

export function formatError(err: unknown): string {
  if (err instanceof PharosError) return err.format();
  if (err instanceof Error) return `pharos: ${err.message}`;
  return `pharos: ${String(err)}`;
}

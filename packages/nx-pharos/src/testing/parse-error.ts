import { PharosError } from '../utils/errors';

/** The PharosError a parser throws for `text`, for specs that check its message, line and advice. */
export function parseError(parse: (text: string, file: string) => unknown, text: string, file: string): PharosError {
  try {
    parse(text, file);
  } catch (err) {
    if (err instanceof PharosError) return err;
    throw err;
  }
  throw new Error(`expected ${file} to be refused`);
}

import { PharosError } from '../utils/errors';

/** The PharosError `work` fails with, for specs that check its message and advice; any other outcome fails the spec. */
export async function failureOf(work: Promise<unknown> | (() => unknown)): Promise<PharosError> {
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (err) {
    if (err instanceof PharosError) return err;
    throw err;
  }
  throw new Error('expected a PharosError, and it succeeded');
}

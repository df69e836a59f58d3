import { basename } from 'node:path';

/** Where the family's scripts are mounted in a container: each .sh read-only, under its own name. */
export const SCRIPTS_IN_CONTAINER = '/pharos';

export function inContainer(script: string): string {
  return `${SCRIPTS_IN_CONTAINER}/${basename(script)}`;
}

/**
 * The command and binds that run `script` (a .sh beside the module that owns it) in a container, with `args` as its
 * positional arguments, and the scripts it calls (`calls`) mounted beside it.
 */
export function containerScript(script: string, args: string[] = [], calls: string[] = []): { cmd: string[]; binds: string[] } {
  return { cmd: ['sh', inContainer(script), ...args], binds: [script, ...calls].map((s) => `${s}:${inContainer(s)}:ro`) };
}

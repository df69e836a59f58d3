import { execFile } from 'node:child_process';

export interface CommandOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * A short command's exit code and output, never thrown: for the version probes that Nx runtime inputs run on every
 * hashing. Those processes start often, and execa's import alone costs about 0.1 s of each, more than their work.
 */
export function commandOutput(file: string, args: readonly string[], env: Record<string, string> = {}): Promise<CommandOutput> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, ...env }, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 127) : 0;
      resolve({ exitCode: code, stdout: stdout.trim(), stderr: stderr.trim() || (error && typeof error.code !== 'number' ? error.message : '') });
    });
  });
}

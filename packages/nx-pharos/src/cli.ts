import { resolveDebianMirror } from './tools/debian-mirror';
import { formatError } from './utils/errors';

const USAGE = `usage: pharos <command>
  debian-mirror              print the Debian mirror (PHAROS_DEBIAN_MIRROR, else the host's apt sources)
  run-in-dev-container [opts] [--] [command…]
                             run a command (or an interactive shell) in the dev container; see --help`;

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'debian-mirror':
        process.stdout.write(`${resolveDebianMirror()}\n`);
        return;
      case 'run-in-dev-container': {
        const { runInDevContainerCli } = await import('./tools/dev-container-cli');
        process.exitCode = await runInDevContainerCli(rest);
        return;
      }
      default:
        process.stderr.write(`${USAGE}\n`);
        process.exitCode = command ? 2 : 0;
    }
  } catch (err) {
    process.stderr.write(`${formatError(err)}\n`);
    process.exitCode = process.exitCode || 1;
  }
}

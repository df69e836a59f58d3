import { resolveDebianMirror } from './tools/debian-mirror';
import { formatError } from './utils/errors';

const USAGE = `usage: pharos <command>
  debian-mirror              print the Debian mirror (PHAROS_DEBIAN_MIRROR, else the host's apt sources)
  recipe-sources <recipe>    print what of a recipe.yaml shapes fetch and deb: every version's pinned sources and
                             packaging (with the site's pins) and required tools, and the deb build (a cache input of both)
  tool-versions <tool…>      print the versions of host tools (packer, qemu) that shape VM images (a cache input)
  pin <recipe.yaml> [--release <v>] [--source <n>] [--yes]
                             download a source the recipe leaves unpinned, print its sha256 and size, and once you
                             confirm, pin it in the site's sources config and put it in the source cache; see --help
  run-in-dev-container [opts] [--] [command…]
                             run a command (or an interactive shell) in the dev container; see --help
  list [--json] [--kind <kind>]… [project…]
                             every product dist/ holds: project, kind, version, variants, suite, size, date, digest
  avail [--json] [filter…]   what can be built: each recipe's versions (pinned or not), suites, tarball and variants;
                             every overlay script and .def image, built or not (or stale)
  info [--json] <product>    one product (manifest, product file, or project[/version]): its manifest, what it was
                             built from, signatures, store blobs; an overlay's name/version: its script, #DEP, env
  clean [--dry-run] [project…]
                             remove what Pharos made here (products in dist/, ended runs' containers, pharos/ image
                             tags); never another tool's files or images; store blobs are store-gc's; see --help
  exec -o <name/version>… [--base <project>] [--network] [--] [command…]
                             run a command (or a shell) on the base SIF with built overlays mounted; see --help
  submit [--wait] [--dry-run] <run-many|affected|run> [nx args…]
                             run an nx command's tasks as a chain of Slurm jobs; see --help
  export [--force] <product file> <destination>
                             a plain copy of a product file (a link into the store followed), for people; see --help
  store-gc [--dry-run] [--keep-newer <age>]
                             remove the store's blobs no registered workspace links to, put in over 1h ago; see --help
  cache-server --dir <dir> --read-token-file <f> --write-token-file <f> [--host h] [--port n] [--max-entry-size 512M]
                             serve the shared Nx cache (Nx's self-hosted remote cache API) from files; see --help
  cache-tokens --read-token-file <f> --write-token-file <f>
                             write the cache server's read-only and read-write tokens, where missing (mode 0600)
  registry-start [--storage <dir>] [--read-port 7421] [--write-port 7422]
                             start the loopback team store (docker-registry) unless it answers; see --help
  image-ref <image.json | its folder>
                             print the team store's by-digest reference of a docker image product, to pull; see --help
  apt-cache-start [--dir <dir>] [--port 3142] [--bind <address>]…
                             start the apt cache (apt-cacher-ng) on loopback and the Docker bridge unless it answers`;

/** The commands that read products, and so fetch a blob this machine lacks from the team store. */
const READS_PRODUCTS = new Set(['run-in-dev-container', 'exec', 'export']);

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  try {
    if (READS_PRODUCTS.has(command)) (await import('./lib/team-store/install')).installTeamStore();
    switch (command) {
      case 'debian-mirror':
        process.stdout.write(`${resolveDebianMirror()}\n`);
        return;
      case 'recipe-sources': {
        const { readFileSync } = await import('node:fs');
        const { parseSourceRecipe } = await import('./definitions/source-recipe');
        const recipe = parseSourceRecipe(readFileSync(rest[0], 'utf8'), rest[0]);
        const { configuredPins, withSitePins } = await import('./tools/source-fetch');
        // With the site's pins: pinning a source changes what fetch and deb may use.
        const pins = configuredPins();
        const sources = Object.fromEntries(Object.values(recipe.versions).map((v) => [v.version, withSitePins(v.sources, pins)]));
        const requires = Object.fromEntries(Object.values(recipe.versions).map((v) => [v.version, v.requires]));
        // Packaging and patches only for the versions that have them, so a recipe without either keeps the key it had;
        // a patch by its digest, so editing one rebuilds the .debs.
        const { recipePatches } = await import('./tools/recipe-patches');
        const versions = Object.values(recipe.versions);
        const packaging = Object.fromEntries(versions.filter((v) => v.packaging.length).map((v) => [v.version, withSitePins(v.packaging, pins)]));
        const patches = Object.fromEntries(
          versions.filter((v) => v.patches.length).map((v) => [v.version, recipePatches(rest[0], v).map(({ file, sha256 }) => ({ file, sha256 }))]),
        );
        // `optional` decides whether an unpinned source is an error or an absent product.
        const shaping = {
          name: recipe.name,
          optional: recipe.optional ?? false,
          sources,
          requires,
          deb: recipe.deb,
          ...(Object.keys(packaging).length ? { packaging } : {}),
          ...(Object.keys(patches).length ? { patches } : {}),
        };
        process.stdout.write(`${JSON.stringify(shaping)}\n`);
        return;
      }
      case 'tool-versions': {
        // Cache inputs: the versions of host tools that shape products (never contacts the network).
        const versions: Record<string, string> = {};
        for (const tool of rest) {
          if (tool === 'packer') versions.packer = await (await import('./tools/packer')).packerVersion().catch(() => 'absent');
          else if (tool === 'qemu') versions.qemu = await (await import('./tools/qemu')).qemuVersion();
          else throw new Error(`tool-versions: unknown tool ${tool} (known: packer, qemu)`);
        }
        process.stdout.write(`${JSON.stringify(versions)}\n`);
        return;
      }
      case 'pin': {
        const { pinCli } = await import('./tools/source-pin');
        process.exitCode = await pinCli(rest);
        return;
      }
      case 'run-in-dev-container': {
        const { runInDevContainerCli } = await import('./tools/dev-container-cli');
        process.exitCode = await runInDevContainerCli(rest);
        return;
      }
      case 'list':
      case 'avail':
      case 'info':
      case 'clean': {
        const commands = await import('./lib/product-catalog/commands-cli');
        const cli = { list: commands.listCli, avail: commands.availCli, info: commands.infoCli, clean: commands.cleanCli }[command];
        process.exitCode = await cli(rest);
        return;
      }
      case 'exec': {
        const { execCli } = await import('./lib/overlay/exec-cli');
        process.exitCode = await execCli(rest);
        return;
      }
      case 'submit': {
        const { submitCli } = await import('./lib/slurm-engine/submit-cli');
        const slurm = async () => {
          const tools = await import('./tools/slurm');
          const { followJobs } = await import('./lib/slurm-engine/follow');
          return {
            sbatch: (script: string, args: string[]) => tools.sbatch(script, args),
            scancel: (ids: string[]) => tools.scancel(ids),
            followJobs: (jobs: { jobId: string; taskId: string; logFile: string }[]) =>
              followJobs(
                jobs.map((j) => j.jobId),
                {
                  slurm: tools,
                  out: process.stdout,
                  logFiles: new Map(jobs.map((j) => [j.jobId, j.logFile])),
                  labels: new Map(jobs.map((j) => [j.jobId, j.taskId])),
                  // The chain is Slurm's once submitted: Ctrl-C stops the waiting, not the jobs (scancel them by name).
                  cancelWhenStopped: false,
                },
              ),
          };
        };
        process.exitCode = await submitCli(rest, { slurm });
        return;
      }
      case 'export': {
        const { EXPORT_USAGE, parseExportArgs } = await import('./products/store');
        const { exportProduct } = await import('./products/store-files');
        const args = parseExportArgs(rest);
        if (!args) return void process.stdout.write(`${EXPORT_USAGE}\n`);
        process.stdout.write(`pharos: exported ${args.product} to ${await exportProduct(args.product, args.dest, { force: args.force })}\n`);
        return;
      }
      case 'store-gc': {
        const { STORE_GC_USAGE, parseStoreGcArgs } = await import('./products/store-gc');
        const args = parseStoreGcArgs(rest);
        if (args) await (await import('./products/store-gc-files')).collectStoreGarbage(args);
        else process.stdout.write(`${STORE_GC_USAGE}\n`);
        return;
      }
      case 'cache-server':
      case 'cache-tokens': {
        const { cacheServerCli, cacheTokensCli } = await import('./lib/remote-cache/cache-server-cli');
        process.exitCode = command === 'cache-server' ? await cacheServerCli(rest) : cacheTokensCli(rest);
        return;
      }
      case 'registry-start':
      case 'image-ref': {
        const cli =
          command === 'registry-start' ? (await import('./lib/team-store/loopback')).registryStartCli : (await import('./lib/team-store/images')).imageRefCli;
        process.exitCode = await cli(rest);
        return;
      }
      case 'apt-cache-start': {
        const { aptCacheStartCli } = await import('./tools/apt-cacher-ng');
        process.exitCode = await aptCacheStartCli(rest);
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

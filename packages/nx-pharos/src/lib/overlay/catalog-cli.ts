import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, sep } from 'node:path';
import { OVERLAYS_ROOT } from '../../definitions/overlay-path';
import { readOverlayScripts } from '../../definitions/overlay-tree';
import { overlayDir, overlayManifestPath, readOverlayManifest } from '../../products/overlay';
import { readSifManifest, sifManifestPath, sifProductPaths, type SifManifest } from '../../products/sif';
import { sha256File } from '../../utils/digest';
import { PharosError } from '../../utils/errors';
import { workspaceRootFrom } from '../../utils/paths';
import { findOverlay, formatOverlayInfo, overlayInfo, type CatalogInput, type ProductState } from './catalog';
import { definitionBaseProject, formatImageInfo, imageInfo } from './catalog-image';

/**
 * The overlay catalogue of `pharos avail` and `pharos info <name/version>`: read the tree's overlay scripts and `.def` images and what dist/ holds of them, and
 * print what catalog.ts makes of it. Reads only: the files, the manifests and the .sqf and .sif sizes; nothing is
 * built or hashed but the scripts and definitions themselves.
 */

export const INFO_USAGE = `usage: pharos info [--json] <name/version>

(the overlay form of pharos info; see pharos info --help for products)

Shows one overlay: its script, #WHATIS and #URL, type, #NETWORK, #DEP lines and every overlay mounted under it, #ENV
values, build resources, #INTERACTIVE questions, #SRC sources, and when built its .sqf, digests, base SIF, the
overlays it was built on and how it was packed; and the command that runs something with it. For a .def image: its
Bootstrap: and From:, the base SIF's digest, and when built its .sif and what it was built from. The project name
(samtools-1.16.1) works too.

options:
  --json      the same as JSON
  -h, --help  this text`;

interface CatalogArgs {
  json: boolean;
  help: boolean;
  terms: string[];
}

function parseCatalogArgs(argv: readonly string[], command: string): CatalogArgs {
  const out: CatalogArgs = { json: false, help: false, terms: [] };
  for (const arg of argv) {
    if (arg === '--json') out.json = true;
    else if (arg === '-h' || arg === '--help') out.help = true;
    else if (arg.startsWith('-')) throw new PharosError(`unknown option ${arg}`, { step: command, next: `see pharos ${command} --help` });
    else out.terms.push(arg);
  }
  return out;
}

/** Every `.sh` and `.def` under containers/overlays/, workspace-relative; the same files inference makes projects of. */
function overlayScripts(root: string): string[] {
  const dir = join(root, OVERLAYS_ROOT);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.sh') || f.endsWith('.def'))
    .map((f) => posix.join(OVERLAYS_ROOT, ...f.split(sep)))
    .sort();
}

/** What dist/ holds under `manifestFile`: the manifest as `read` reads it, and the size of the file it names. */
function productState<M>(
  root: string,
  manifestFile: string,
  producer: string,
  read: (file: string, root: string, producer: string) => M,
  fileOf: (m: M) => string,
): ProductState<M> {
  const file = join(root, manifestFile);
  if (!existsSync(file)) return { kind: 'absent' };
  try {
    const manifest = read(file, root, producer);
    const product = join(dirname(file), fileOf(manifest));
    return { kind: 'present', manifest, ...(existsSync(product) ? { fileBytes: statSync(product).size } : {}) };
  } catch (err) {
    return { kind: 'unreadable', error: err instanceof PharosError ? err : new PharosError((err as Error).message, { file: manifestFile }) };
  }
}

/** The current SIF digest of a base project, as inference finds its manifest (containers/<project>). */
function baseDigest(root: string, project: string): string | undefined {
  const file = join(root, sifManifestPath(`containers/${project}`, project));
  try {
    return existsSync(file) ? readSifManifest(file, root, `${project}:sif`).sha256 : undefined;
  } catch {
    return undefined;
  }
}

export async function readCatalog(root: string): Promise<CatalogInput> {
  const files = overlayScripts(root);
  const tree = readOverlayScripts(files, (f) => readFileSync(join(root, f), 'utf8'));
  const scriptDigests = new Map(await Promise.all(files.map(async (f) => [f, await sha256File(join(root, f))] as const)));
  const products = new Map<string, ProductState>();
  const images = new Map<string, ProductState<SifManifest>>();
  const bases = new Set<string>();
  for (const { path, definition } of tree.scripts.values()) {
    if (path?.kind === 'script') {
      const state = productState(root, overlayManifestPath(path.name, path.version), `${path.projectName}:overlay`, readOverlayManifest, (m) => m.sqf);
      products.set(path.key, state);
      if (state.kind === 'present') bases.add(state.manifest.base.project);
    } else if (path) {
      const manifest = sifProductPaths(overlayDir(path.name), path.version).manifest;
      const state = productState(root, manifest, `${path.projectName}:sif`, readSifManifest, (m) => m.sif);
      images.set(path.key, state);
      if (state.kind === 'present' && state.manifest.base) bases.add(state.manifest.base.project);
      const from = definition && definitionBaseProject(definition);
      if (from) bases.add(from);
    }
  }
  const baseDigests = new Map([...bases].map((project) => [project, baseDigest(root, project)] as const));
  return { ...tree, scriptDigests, products, images, baseDigests };
}

function print(text: string): void {
  process.stdout.write(text);
}

export async function infoCli(argv: readonly string[], cwd = process.cwd()): Promise<number> {
  const args = parseCatalogArgs(argv, 'info');
  if (args.help) {
    print(`${INFO_USAGE}\n`);
    return 0;
  }
  if (args.terms.length !== 1) throw new PharosError('name one overlay', { step: 'info', next: 'pharos info <name/version>; pharos avail shows them' });
  const catalog = await readCatalog(workspaceRootFrom(cwd));
  const file = findOverlay(catalog, args.terms[0]);
  if (catalog.scripts.get(file)?.path?.kind === 'def') {
    const info = imageInfo(catalog, file);
    print(args.json ? `${JSON.stringify(info, null, 2)}\n` : formatImageInfo(info));
    return 0;
  }
  const info = overlayInfo(catalog, file);
  print(args.json ? `${JSON.stringify(info, null, 2)}\n` : formatOverlayInfo(info));
  return 0;
}

import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, posix, relative } from 'node:path';
import { parseSourceRecipe } from '../../definitions/source-recipe';
import { parseBaseImageDefinition } from '../../definitions/base-image';
import { isBeingWritten, mayBeManifest, recogniseManifest, type ProductEntry } from '../../products/product-manifests';
import { DIST } from '../../products/paths';
import { parseBlobLink } from '../../products/store';
import { currentOwner, OWNER_LABEL, workspaceContainers } from '../../tools/container-owner';
import { assertDaemon, dockerClient, inspectImage, removeContainer, removeImage } from '../../tools/docker';
import { configuredPins, withSitePins } from '../../tools/source-fetch';
import { PharosError } from '../../utils/errors';
import { workspaceId } from '../../utils/leftovers';
import { workspaceRootFrom } from '../../utils/paths';
import { pidIsAlive } from '../../utils/pid';
import { acquireLock } from '../../utils/product-lock';
import { catalogRows, filterRows, findOverlay, formatCatalog } from '../overlay/catalog';
import { infoCli as overlayInfoCli, readCatalog } from '../overlay/catalog-cli';
import { availRows, formatAvail, type RecipeInput } from './avail';
import { formatPlan, judgeLock, planClean, type CleanPlan, type DaemonImage, type LockState } from './clean-plan';
import { findProducts, formatProductInfo, productInfo, signaturesOf } from './info';
import { filterListRows, formatList, KINDS, listRows, type FileState, type ListedProduct } from './list';

/**
 * `pharos list`, `avail`, `info` and `clean`: read dist/ and the tree, hand the data to the pure modules beside this
 * one, print what they make of it; `clean` then does what its plan says. Nothing here is built or hashed.
 */

export const LIST_USAGE = `usage: pharos list [--json] [--kind <kind>]… [project…]

Every product dist/ holds, from its manifest: project, kind, version, variants, suite, size (of the real file behind
a link into the store), date (the manifest's), short digest and status (ok, absent, missing blob, damaged). A project
term keeps the products whose project contains it (* and ? match the whole name). Kinds: ${KINDS.join(', ')}.
See docs/commands.md.

options:
  --json         the rows as JSON (full digests, the manifest's path)
  --kind <kind>  only this kind (repeatable)
  -h, --help     this text`;

export const AVAIL_USAGE = `usage: pharos avail [--json] [filter…]

What can be built: each recipe's versions (the default marked), whether its source is pinned (by the recipe or the
site's sources config), the suites of its .debs, its tarball (and the suite it builds for without --suite) and
tarball variants; then every overlay script and .def image of the tree with its status in dist/ (built, stale,
damaged, not built, invalid). A filter keeps the recipes and overlays whose name contains it. Nx's own targets and
projects: npx nx show projects, npx nx show project <name>. See docs/commands.md.

options:
  --json      { recipes, overlays } as JSON
  -h, --help  this text`;

export const INFO_USAGE = `usage: pharos info [--json] <product>

One product: its manifest, what it was built from, its signatures (present or absent), its files and whether each
link's blob is in the store. <product> is a manifest, a product file or folder under dist/, or a project with an
optional /<version> and /<suite> (slurm/24.11.5/trixie; every product that matches). An overlay's name/version (or project
name) shows the overlay catalogue's view: its script, #DEP closure, env and how to run it (docs/overlays.md).

options:
  --json      the same as JSON
  -h, --help  this text`;

export const CLEAN_USAGE = `usage: pharos clean [--dry-run] [project…]

Removes what Pharos made in this workspace, for the projects named (default all): the outputs of every product
whose Pharos manifest is in dist/, the workspace's containers whose run has ended, and the pharos/ image tags the
image manifests name while they still name that image. A product a running build has locked is skipped and named
(the exit code is then 1). Never touches a file it does not recognise, another workspace's containers or an image
another tool named; store blobs are left to pharos store-gc, the Nx cache to nx reset. See docs/commands.md.

options:
  --dry-run   print what would go, change nothing
  -h, --help  this text`;

interface Args {
  json: boolean;
  help: boolean;
  dryRun: boolean;
  kinds: string[];
  terms: string[];
}

function parseArgs(argv: readonly string[], command: string, allowed: readonly string[]): Args {
  const out: Args = { json: false, help: false, dryRun: false, kinds: [], terms: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const known = (name: string) => allowed.includes(name) && (arg === name || arg.startsWith(`${name}=`));
    if (arg === '-h' || arg === '--help') out.help = true;
    else if (known('--json')) out.json = true;
    else if (known('--dry-run')) out.dryRun = true;
    else if (known('--kind')) {
      const kind = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (!kind || !(KINDS as readonly string[]).includes(kind)) {
        throw new PharosError(`--kind ${kind ?? ''}: not a product kind (kinds: ${KINDS.join(', ')})`, { step: command, next: `see pharos ${command} --help` });
      }
      out.kinds.push(kind);
    } else if (arg.startsWith('-')) throw new PharosError(`unknown option ${arg}`, { step: command, next: `see pharos ${command} --help` });
    else out.terms.push(arg);
  }
  return out;
}

const print = (text: string) => void process.stdout.write(text);

/** Every Pharos manifest under dist/, recognised; links are not followed (a link into the store is a file). */
export function readProducts(root: string): ProductEntry[] {
  const dist = join(root, DIST);
  if (!existsSync(dist)) return [];
  const entries: ProductEntry[] = [];
  const walk = (dir: string) => {
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      if (isBeingWritten(d.name)) continue;
      const path = join(dir, d.name);
      if (d.isDirectory()) walk(path);
      else if (d.isFile() && mayBeManifest(d.name)) {
        const entry = recogniseManifest(relative(root, path).split('\\').join('/'), readFileSync(path, 'utf8'));
        if (entry) entries.push(entry);
      }
    }
  };
  walk(dist);
  return entries.sort((a, b) => a.manifest.localeCompare(b.manifest));
}

/** What is at a product file's path: a file, a link into the store (with or without its blob), or nothing. */
export function fileState(root: string, path: string): FileState {
  const abs = join(root, path);
  let st;
  try {
    st = lstatSync(abs);
  } catch {
    return { state: 'missing' };
  }
  if (!st.isSymbolicLink()) return { state: 'file', bytes: st.size };
  const link = parseBlobLink(abs, readlinkSync(abs));
  try {
    const bytes = statSync(abs).size;
    return link ? { state: 'store-link', bytes, blob: link.sha256.slice(0, 12) } : { state: 'file', bytes };
  } catch {
    return link ? { state: 'missing-blob', blob: link.sha256.slice(0, 12) } : { state: 'missing' };
  }
}

function listed(root: string, entries: readonly ProductEntry[]): ListedProduct[] {
  return entries.map((entry) => ({
    entry,
    files: new Map(entry.files.map((f) => [f.path, fileState(root, f.path)])),
    date: statSync(join(root, entry.manifest)).mtime.toISOString(),
  }));
}

export async function listCli(argv: readonly string[], cwd = process.cwd()): Promise<number> {
  const args = parseArgs(argv, 'list', ['--json', '--kind']);
  if (args.help) return (print(`${LIST_USAGE}\n`), 0);
  const root = workspaceRootFrom(cwd);
  const rows = filterListRows(listRows(listed(root, readProducts(root))), args);
  if (args.json) print(`${JSON.stringify(rows, null, 2)}\n`);
  else if (rows.length) print(formatList(rows));
  else
    process.stderr.write(
      `pharos: ${args.terms.length || args.kinds.length ? 'no product matches' : `no products in ${DIST}/ (npx nx run-many -t build makes them)`}\n`,
    );
  return 0;
}

/** Every recipe.yaml under third-party/, parsed; one that fails is shown with its error. */
function readRecipes(root: string): RecipeInput[] {
  const dir = join(root, 'third-party');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => existsSync(join(dir, name, 'recipe.yaml')))
    .map((name) => {
      const file = posix.join('third-party', name, 'recipe.yaml');
      const hasTarball = existsSync(join(dir, name, 'tarball/module.lua.hbs'));
      try {
        return { file, hasTarball, recipe: parseSourceRecipe(readFileSync(join(root, file), 'utf8'), file) };
      } catch (err) {
        return { file, hasTarball, error: err instanceof PharosError ? err.format().replace(/^pharos: /, '') : (err as Error).message };
      }
    });
}

/** The suites the tree's base-image.yaml projects make, as inference reads them (plugin/workspace-facts.ts). */
function baseSuites(root: string): string[] {
  const dir = join(root, 'containers');
  if (!existsSync(dir)) return [];
  const suites = new Set<string>();
  for (const name of readdirSync(dir)) {
    const file = join(dir, name, 'base-image.yaml');
    if (!existsSync(file)) continue;
    try {
      suites.add(parseBaseImageDefinition(readFileSync(file, 'utf8'), file).suite);
    } catch {
      // Reported by its own project's inference.
    }
  }
  return [...suites].sort();
}

export async function availCli(argv: readonly string[], cwd = process.cwd()): Promise<number> {
  const args = parseArgs(argv, 'avail', ['--json']);
  if (args.help) return (print(`${AVAIL_USAGE}\n`), 0);
  const root = workspaceRootFrom(cwd);
  const pins = configuredPins();
  const matches = (name: string) => args.terms.every((t) => name.toLowerCase().includes(t.toLowerCase()));
  const recipes = availRows(readRecipes(root), baseSuites(root), (s) => withSitePins(s, pins)).filter((r) => matches(r.project));
  const overlays = filterRows(catalogRows(await readCatalog(root)), args.terms);
  if (args.json) return (print(`${JSON.stringify({ recipes, overlays }, null, 2)}\n`), 0);
  if (recipes.length) print(formatAvail(recipes));
  if (recipes.length && overlays.length) print('\n');
  if (overlays.length) print(formatCatalog(overlays));
  if (!recipes.length && !overlays.length)
    process.stderr.write(
      `pharos: ${args.terms.length ? `no recipe or overlay matches ${args.terms.join(' ')}` : 'no recipes or overlay scripts in the tree'}\n`,
    );
  return 0;
}

function overlayIn(catalog: Awaited<ReturnType<typeof readCatalog>>, term: string): boolean {
  try {
    findOverlay(catalog, term);
    return true;
  } catch {
    return false;
  }
}

/** The lock beside a product, judged (no lock: free). */
function lockOf(root: string, entry: ProductEntry): LockState {
  const file = join(root, entry.lock);
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    text = undefined;
  }
  return judgeLock(text, hostname(), pidIsAlive);
}

export async function infoCli(argv: readonly string[], cwd = process.cwd()): Promise<number> {
  const args = parseArgs(argv, 'info', ['--json']);
  if (args.help) return (print(`${INFO_USAGE}\n`), 0);
  if (args.terms.length !== 1)
    throw new PharosError('name one product', { step: 'info', next: 'pharos info <manifest | product file | project[/version]>; pharos list shows them' });
  const root = workspaceRootFrom(cwd);
  const term = args.terms[0];
  const entries = readProducts(root);
  const atPath = term.includes(`${DIST}/`) || existsSync(join(cwd, term));
  const asPath = atPath ? relative(root, join(cwd, term)).split('\\').join('/') : term;
  const catalog = atPath ? undefined : await readCatalog(root);
  // An overlay's name/version or project: the catalogue's view, which knows the script as well as the product.
  if (catalog && overlayIn(catalog, term)) return overlayInfoCli(argv, cwd);
  let found: ProductEntry[];
  try {
    found = findProducts(entries, asPath);
  } catch (err) {
    // Not a product; if it names an overlay (or nearly), the catalogue's error says which versions or names there are.
    if (catalog && term.includes('/')) {
      try {
        findOverlay(catalog, term);
      } catch (overlayErr) {
        if (/did you mean|^no overlay \S+; the tree has|^name the version too/.test((overlayErr as Error).message)) throw overlayErr;
      }
    }
    throw err;
  }
  const infos = found.map((entry) => {
    const [row] = listRows(listed(root, [entry]));
    const lock = lockOf(root, entry);
    const files = new Map(entry.files.map((f) => [f.path, fileState(root, f.path)]));
    return productInfo(
      entry,
      row,
      files,
      signaturesOf(entry, (p) => existsSync(join(root, p))),
      lock.state === 'held' ? lock.holder : undefined,
    );
  });
  if (args.json) print(`${JSON.stringify(infos.length === 1 ? infos[0] : infos, null, 2)}\n`);
  else print(infos.map(formatProductInfo).join('\n'));
  return 0;
}

/** The daemon's view of each image manifest's ID and tags: what planClean needs to leave others' images alone. */
async function daemonImages(docker: ReturnType<typeof dockerClient>, entries: readonly ProductEntry[]): Promise<Map<string, DaemonImage>> {
  const out = new Map<string, DaemonImage>();
  for (const entry of entries.filter((e) => e.kind === 'image')) {
    const id = String(entry.manifestData.id);
    const tags = (entry.manifestData.tags as string[] | undefined) ?? [];
    const image = await inspectImage(docker, id);
    const tagIds: Record<string, string | undefined> = {};
    for (const tag of tags) tagIds[tag] = (await inspectImage(docker, tag))?.Id;
    out.set(id, { present: !!image, repoTags: image?.RepoTags ?? [], labels: image?.Config?.Labels ?? {}, tagIds });
  }
  return out;
}

function existsOrLink(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Removes the folders left empty under dist/ (never dist/ itself, never a folder with anything in it). */
function removeEmptyParents(root: string, path: string): void {
  const stop = join(root, DIST);
  for (let dir = dirname(join(root, path)); dir.startsWith(`${stop}/`); dir = dirname(dir)) {
    try {
      rmdirSync(dir);
    } catch {
      return;
    }
  }
}

/** Does what the plan says; a product whose lock a build took since the plan was made is skipped and named. */
async function carryOut(root: string, plan: CleanPlan, docker: ReturnType<typeof dockerClient> | undefined): Promise<string[]> {
  const skipped: string[] = [];
  for (const { entry } of plan.products) {
    // Held while the outputs go, so a build that starts now waits for clean rather than writing into a half-removed product.
    let lock;
    try {
      lock = await acquireLock(join(root, entry.lock), {
        type: 'pharos clean',
        noWait: true,
        shown: entry.lock,
        step: 'clean',
        log: (t) => process.stderr.write(t),
      });
    } catch (err) {
      skipped.push(`${entry.manifest}: ${(err as Error).message}`);
      continue;
    }
    try {
      for (const output of entry.outputs) rmSync(join(root, output), { recursive: true, force: true });
    } finally {
      await lock.release();
    }
    for (const output of entry.outputs) removeEmptyParents(root, output);
  }
  for (const c of plan.containers) {
    if (docker) await removeContainer(docker, c.id).catch((err) => skipped.push(`container ${c.name}: ${(err as Error).message}`));
  }
  for (const image of plan.images) {
    if (!docker) continue;
    await removeImage(docker, image.ref).catch((err) => skipped.push(`image ${image.ref}: ${(err as Error).message}`));
  }
  return skipped;
}

export async function cleanCli(argv: readonly string[], cwd = process.cwd()): Promise<number> {
  const args = parseArgs(argv, 'clean', ['--dry-run']);
  if (args.help) return (print(`${CLEAN_USAGE}\n`), 0);
  const root = workspaceRootFrom(cwd);
  // Only the outputs that are there, so the plan (and --dry-run) names exactly what goes.
  const entries = readProducts(root).map((e) => ({ ...e, outputs: e.outputs.filter((o) => existsOrLink(join(root, o))) }));
  const known = new Set(entries.map((e) => e.project));
  const docker = dockerClient();
  const daemon = await assertDaemon(docker).then(
    () => true,
    (err: PharosError) => (process.stderr.write(`${err.format()}\n  (containers and images are left as they are)\n`), false),
  );
  const self = { ...currentOwner(), workspace: workspaceId(root) };
  const containers = daemon ? await workspaceContainers(docker, self) : [];
  const unknown = args.terms.filter((p) => !known.has(p) && !containers.some((c) => (c.labels[OWNER_LABEL.task] ?? '').startsWith(`${p}:`)));
  if (unknown.length) process.stderr.write(`pharos: clean: nothing of ${unknown.join(', ')} in ${DIST}/ or among this workspace's containers\n`);
  const scoped = entries.filter((e) => !args.terms.length || args.terms.includes(e.project));
  const plan = planClean({
    scope: args.terms,
    entries,
    locks: new Map(scoped.map((e) => [e.lock, lockOf(root, e)])),
    containers,
    self,
    isAlive: pidIsAlive,
    images: daemon ? await daemonImages(docker, scoped) : new Map(),
  });
  print(formatPlan(plan, args.dryRun));
  if (args.dryRun) return plan.lockedProducts.length ? 1 : 0;
  const skipped = await carryOut(root, plan, daemon ? docker : undefined);
  for (const s of skipped) process.stderr.write(`pharos: clean: skipped ${s}\n`);
  if (plan.lockedProducts.length || skipped.length) {
    process.stderr.write('pharos: clean: some products were skipped while a build holds them; run pharos clean again once it has ended\n');
    return 1;
  }
  return 0;
}

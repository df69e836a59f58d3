import { execa } from 'execa';
import Handlebars from 'handlebars';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { buildEnv, tarballName, type BundledLibrary, type ModuleLayout, type TarballFacts } from '../../products/tarball';
import { markedFields } from '../../utils/build-log';
import { PharosError } from '../../utils/errors';

/**
 * The relocatable tarball's build (tarball-build.sh in the suite's container, with relocate.sh beside it) and its
 * layout: view/ (the relocatable prefix), modules/<name>/<version>.lua, data/<name>_assets/.
 */

export const TARBALL_BUILD_SCRIPT = join(__dirname, 'tarball-build.sh');
export const COMPONENT_BUILD_SCRIPT = join(__dirname, 'component-build.sh');
export const BUNDLED_MARKER = 'pharos-bundled:';
export const COMPILER_MARKER = 'pharos-compiler:';

export const installPrefix = (name: string) => `/opt/${name}/view`;

export interface TarballBuildRequest {
  /** The recipe's name: the tree is built for /opt/<name>/view with its configuration in /etc/<name>. */
  name: string;
  tarball: string;
  stage: string;
  /** Packages the variants need beyond debian/control, and the archive components they come from. */
  buildPackages: string[];
  aptComponents: string[];
  jobs: number;
  /** File listing the sonames a clean system of the target has (one per line). */
  presentSonames: string;
  uid: number;
  gid: number;
}

/** tarball-build.sh's environment; the configure flags are its arguments. */
export function tarballBuildEnv(req: TarballBuildRequest): Record<string, string> {
  return {
    NAME: req.name,
    SOURCE_TARBALL: req.tarball,
    STAGE: req.stage,
    // Package and component names are validated by the recipe: space-separated lists are safe.
    BUILD_PACKAGES: req.buildPackages.join(' '),
    APT_COMPONENTS: req.aptComponents.join(' '),
    JOBS: String(req.jobs),
    PRESENT_SONAMES: req.presentSonames,
    OWNER: `${req.uid}:${req.gid}`,
  };
}

/** A component as the build script takes it: its name, its source tarball's path in the container, its flags. */
export interface ComponentBuild {
  name: string;
  tarball: string;
  configureFlags: string[];
}

/** tarball-build.sh's arguments: the main package's configure flags, then `--component NAME TARBALL FLAG…` for each. */
export function tarballBuildArgs(configureFlags: string[], components: ComponentBuild[]): string[] {
  return [...configureFlags, ...components.flatMap((c) => ['--component', c.name, c.tarball, ...c.configureFlags])];
}

/** The compiler the build script reports; an error naming the log when it reported none. */
export function parseCompiler(output: string, log: string): { name: string; version: string } {
  const [fields] = markedFields(output, COMPILER_MARKER);
  if (!fields?.[0] || !fields[1]) {
    throw new PharosError(`the tarball build reported no compiler (no "${COMPILER_MARKER}" line)`, { file: log, next: 'look at the end of the log' });
  }
  return { name: fields[0], version: fields[1] };
}

export function parseBundled(output: string): BundledLibrary[] {
  return markedFields(output, BUNDLED_MARKER).map(([soname, pkg]) => ({ soname, package: pkg ?? '' }));
}

/** One module file of the tree: where it goes under modules/, and what renders it. */
export interface ModuleFile {
  /** Relative to the tree's modules/ folder. */
  path: string;
  /** The main package's template (module.lua.hbs), a component's (<component>.lua.hbs), or the compiler's marker. */
  from: { kind: 'main' } | { kind: 'component'; name: string } | { kind: 'compiler' };
  /** For a component in the hierarchy: the MPI level it opens (relative to modules/), where modules built with it go. */
  opens?: string;
}

/**
 * Where each module goes. Flat: modules/<name>/<version>.lua for the main package and each component. Hierarchy
 * (slurm-factory's --enable-hierarchy, Lmod's Core/Compiler/MPI): the main package and the compiler in Core; each
 * component under Compiler/<compiler>/<version>/, opening MPI/<compiler>/<version>/<component>/<version>/.
 */
export function moduleFiles(facts: Pick<TarballFacts, 'name' | 'version' | 'components' | 'compiler' | 'layout'>): ModuleFile[] {
  if (facts.layout === 'flat') {
    return [
      { path: `${facts.name}/${facts.version}.lua`, from: { kind: 'main' } },
      ...facts.components.map((c): ModuleFile => ({ path: `${c.name}/${c.version}.lua`, from: { kind: 'component', name: c.name } })),
    ];
  }
  const compiler = `${facts.compiler.name}/${facts.compiler.version}`;
  return [
    { path: `Core/${facts.name}/${facts.version}.lua`, from: { kind: 'main' } },
    ...(facts.components.length ? [{ path: `Core/${compiler}.lua`, from: { kind: 'compiler' } } as ModuleFile] : []),
    ...facts.components.map((c): ModuleFile => ({
      path: `Compiler/${compiler}/${c.name}/${c.version}.lua`,
      from: { kind: 'component', name: c.name },
      opens: `MPI/${compiler}/${c.name}/${c.version}`,
    })),
  ];
}

/** What `module use` names for the layout: the modules folder, or its Core level. */
export const moduleUseDir = (layout: ModuleLayout) => (layout === 'flat' ? 'modules' : 'modules/Core');

/**
 * The Core module of the compiler the tree was built with. It loads no compiler (the suite's own gcc is the
 * system's); it opens the Compiler level, the way a site's compiler module does. Found from its own path, so it
 * works wherever the tree is unpacked.
 */
export function compilerModule(compiler: { name: string; version: string }): string {
  return `-- ${compiler.name} ${compiler.version}, the system compiler the tree was built with: opens its level of the module hierarchy.
whatis("Name: ${compiler.name}")
whatis("Version: ${compiler.version}")
family("compiler")
-- modules/Core/${compiler.name}/${compiler.version}.lua -> modules/
local modules = myFileName():match("^(.*)/Core/[^/]+/[^/]+$")
prepend_path("MODULEPATH", pathJoin(modules, "Compiler", "${compiler.name}", "${compiler.version}"))
`;
}

/** Renders a module template; strict, so a template naming an unknown variable fails the build. */
function render(template: string, vars: Record<string, unknown>): string {
  return Handlebars.compile(template, { noEscape: true, strict: true })(vars);
}

/**
 * Lays out the staged build as the tarball's tree: view/ from the install, the modules (moduleFiles) rendered from
 * module.lua.hbs and <component>.lua.hbs, the site assets with each variant's overlay, and build.env.
 */
export async function layOutTree(stage: string, templates: string, facts: TarballFacts): Promise<{ tree: string; modules: string[] }> {
  const tree = join(stage, 'tree');
  const assets = join(tree, 'data', `${facts.name}_assets`);
  await mkdir(tree, { recursive: true });
  await rename(join(stage, 'root', installPrefix(facts.name)), join(tree, 'view'));
  const files = moduleFiles(facts);
  for (const file of files) {
    const target = join(tree, 'modules', file.path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, await moduleText(file, templates, facts));
    // The MPI level exists even when empty: it is where a site puts the modules it builds with this MPI.
    if (file.opens) await mkdir(join(tree, 'modules', file.opens), { recursive: true });
  }
  if (existsSync(join(templates, 'assets'))) await cp(join(templates, 'assets'), assets, { recursive: true });
  for (const v of facts.variants) {
    const overlay = join(templates, 'variants', v);
    if (existsSync(overlay)) await cp(overlay, assets, { recursive: true });
  }
  await mkdir(assets, { recursive: true });
  await writeFile(join(assets, 'build.env'), buildEnv(facts));
  return { tree, modules: files.map((f) => `modules/${f.path}`) };
}

async function moduleText(file: ModuleFile, templates: string, facts: TarballFacts): Promise<string> {
  if (file.from.kind === 'compiler') return compilerModule(facts.compiler);
  const vars = { ...facts, variants: facts.variants.join(', '), hierarchy: facts.layout === 'hierarchy' };
  if (file.from.kind === 'main') return render(await readFile(join(templates, 'module.lua.hbs'), 'utf8'), vars);
  const name = file.from.name;
  const template = join(templates, `${name}.lua.hbs`);
  if (!existsSync(template)) {
    throw new PharosError(`the tarball component ${name} has no module template`, {
      file: template,
      next: `write ${name}.lua.hbs beside module.lua.hbs (its variables: version, mainVersion, toolchain, arch, compiler, hierarchy, opens)`,
    });
  }
  const component = facts.components.find((c) => c.name === name);
  return render(await readFile(template, 'utf8'), {
    ...vars,
    version: component?.version,
    mainVersion: facts.version,
    compiler: `${facts.compiler.name}/${facts.compiler.version}`,
    opens: file.opens ?? '',
  });
}

/** The product's file name for what was built. */
export function tarballFile(facts: TarballFacts): string {
  return tarballName(facts.name, facts.version, facts.toolchain, facts.arch, facts.variants, facts.components, facts.layout);
}

/** Packs the tree reproducibly: sorted, owned by root. */
export async function packTree(tree: string, file: string): Promise<void> {
  await execa('tar', ['-C', tree, '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-czf', file, 'view', 'modules', 'data']);
}

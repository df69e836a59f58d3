import type { Tree } from '@nx/devkit';
import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDsc, recipeSourcesOf, upstreamVersion, type Dsc } from './dsc';
import { resolveDebianMirror } from '../../tools/debian-mirror';
import { poolPrefix } from '../../tools/source-fetch';

export interface RecipeGeneratorSchema {
  name: string;
  debianPackage?: string;
  debianVersion: string;
  suite?: string;
  check?: string;
  expectOutput?: string;
  directory?: string;
}

/** Reads a source package's .dsc: from the archive's pool by default; a spec hands in a fixture. */
export type DscReader = (pkg: string, file: string) => Promise<string>;

const TEMPLATES = join(__dirname, 'files');
const NAME = /^[a-z0-9][a-z0-9+.-]*$/;
const DEBIAN_VERSION = /^([0-9]+:)?[0-9][A-Za-z0-9.+~-]*$/;
const SUITE = /^[a-z][a-z0-9-]*$/;

export interface RecipeTemplateData {
  name: string;
  package: string;
  debianVersion: string;
  upstreamVersion: string;
  suite?: string;
  dsc: string;
  source: { kind: string; file: string; sha256: string };
  packaging?: { file: string; sha256: string };
  checkName: string;
  check: string;
  expectOutput: string;
}

/** The recipe from data: pure, so the spec checks it without a workspace or the network. */
export function renderRecipe(data: RecipeTemplateData): string {
  const template = Handlebars.compile(readFileSync(join(TEMPLATES, 'recipe.yaml.hbs'), 'utf8'), { noEscape: true, strict: false });
  // JSON strings are YAML double-quoted scalars: any command or expected output survives as it is.
  return template(data, { helpers: { json: (v: string) => JSON.stringify(v) } });
}

/** What the template needs, from the options and the .dsc; the default check is the installed version of the first binary. */
export function recipeData(
  options: Required<Pick<RecipeGeneratorSchema, 'name' | 'debianPackage' | 'debianVersion'>> & RecipeGeneratorSchema,
  dsc: Dsc,
  dscFile: string,
): RecipeTemplateData {
  const { source, packaging } = recipeSourcesOf(dsc, dscFile);
  const binary = dsc.binaries[0];
  return {
    name: options.name,
    package: options.debianPackage,
    debianVersion: dsc.version,
    upstreamVersion: upstreamVersion(dsc.version),
    ...(options.suite ? { suite: options.suite } : {}),
    dsc: dscFile,
    source,
    ...(packaging ? { packaging } : {}),
    ...(options.check
      ? { checkName: `${options.check} works`, check: options.check, expectOutput: options.expectOutput ?? dsc.version }
      : {
          checkName: `${binary} ${dsc.version} is installed from the .debs built here`,
          check: `dpkg-query -W -f='\${Version}' ${binary}`,
          expectOutput: dsc.version,
        }),
  };
}

export const downloadDsc: DscReader = async (pkg, file) => {
  const url = `${resolveDebianMirror()}/pool/main/${poolPrefix(pkg)}/${pkg}/${file}`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  } catch (err) {
    throw new Error(`${file}: could not reach the Debian archive (${(err as Error).message}); the generator pins the recipe from it`, { cause: err });
  }
  if (!res.ok)
    throw new Error(`${file}: HTTP ${res.status} from the Debian archive's pool; check the package and --debian-version (apt-cache showsrc <package>)`);
  return res.text();
};

export async function recipeGenerator(tree: Tree, schema: RecipeGeneratorSchema, readDsc: DscReader = downloadDsc): Promise<void> {
  const options = { directory: 'third-party', debianPackage: schema.name, ...schema };
  if (!NAME.test(options.name)) throw new Error(`recipe name "${options.name}" must be lower case letters, digits, "+", "." or "-" (it is also the folder)`);
  if (!NAME.test(options.debianPackage)) throw new Error(`--debian-package "${options.debianPackage}" is not a Debian source package name`);
  if (!DEBIAN_VERSION.test(options.debianVersion ?? ''))
    throw new Error(
      `--debian-version "${options.debianVersion ?? ''}" is not a Debian version such as 2.10-3 (apt-cache showsrc ${options.debianPackage} shows them)`,
    );
  if (options.suite !== undefined && !SUITE.test(options.suite)) throw new Error(`--suite "${options.suite}" is not a suite name such as bookworm or trixie`);
  if (options.expectOutput !== undefined && options.check === undefined)
    throw new Error('--expect-output goes with --check (the default check expects the Debian version)');
  const root = join(options.directory, options.name);
  if (tree.exists(root)) throw new Error(`${root} already exists; choose another name or remove it first`);
  const dscFile = `${options.debianPackage}_${options.debianVersion.replace(/^[0-9]+:/, '')}.dsc`;
  const dsc = parseDsc(await readDsc(options.debianPackage, dscFile), dscFile);
  if (dsc.source !== options.debianPackage || dsc.version !== options.debianVersion)
    throw new Error(`${dscFile} is ${dsc.source} ${dsc.version}, not ${options.debianPackage} ${options.debianVersion}`);
  tree.write(join(root, 'recipe.yaml'), renderRecipe(recipeData(options, dsc, dscFile)));
}

export default async function (tree: Tree, schema: RecipeGeneratorSchema): Promise<void> {
  await recipeGenerator(tree, schema);
}

import type { Tree } from '@nx/devkit';
import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OVERLAY_NAME, OVERLAY_VERSION, OVERLAYS_ROOT } from '../../definitions/overlay-path';
import { overlayTestFile } from '../../definitions/overlay-test';
import { OVERLAY_MOUNT_ROOT } from '../../products/overlay';

export interface OverlayGeneratorSchema {
  /** `<name>/<version>`. */
  overlay: string;
  dep?: string[];
}

const TEMPLATES = join(__dirname, 'files');

export interface OverlayTemplateData {
  name: string;
  version: string;
  deps: string[];
  envName: string;
  prefix: string;
  depChecks: Array<{ name: string; command: string }>;
}

/** What the templates need: the prefix is where apptainer mounts the overlay, as the build records it. */
export function overlayData(name: string, version: string, deps: string[]): OverlayTemplateData {
  const prefix = (key: string) => `${OVERLAY_MOUNT_ROOT}/${key}`;
  return {
    name,
    version,
    deps,
    envName: `${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_ROOT`,
    prefix: prefix(`${name}/${version}`),
    depChecks: deps.map((d) => ({ name: `${d} is mounted beside it`, command: `test -d ${prefix(d)} && echo mounted` })),
  };
}

/** The script and its checks, from data: pure, so the spec checks them without a workspace. */
export function renderOverlayFiles(data: OverlayTemplateData): { script: string; test: string } {
  const helpers = { json: (v: string) => JSON.stringify(v), concat: (...parts: unknown[]) => parts.slice(0, -1).join('') };
  const render = (template: string) =>
    Handlebars.compile(readFileSync(join(TEMPLATES, template), 'utf8'), { noEscape: true, strict: false })(data, { helpers });
  return { script: render('script.sh.hbs'), test: render('test.yaml.hbs') };
}

function split(key: string, what: string): [string, string] {
  const parts = key.split('/');
  const [name, version] = parts;
  if (parts.length !== 2 || !OVERLAY_NAME.test(name) || !OVERLAY_VERSION.test(version)) {
    throw new Error(
      `${what} "${key}" must be <name>/<version>: a name starting with a letter, a version starting with a letter or digit, both of letters, digits and . _ + - (~ too in versions)`,
    );
  }
  return [name, version];
}

export default async function overlayGenerator(tree: Tree, schema: OverlayGeneratorSchema): Promise<void> {
  const [name, version] = split(schema.overlay, 'the overlay');
  const deps = [...new Set(schema.dep ?? [])];
  for (const dep of deps) {
    split(dep, '--dep');
    if (!tree.exists(`${OVERLAYS_ROOT}/${dep}.sh`) && !tree.exists(`${OVERLAYS_ROOT}/${dep}.def`))
      throw new Error(`--dep ${dep}: there is no ${OVERLAYS_ROOT}/${dep}.sh (or .def); generate or write it first`);
    if (dep === schema.overlay) throw new Error(`--dep ${dep}: an overlay cannot depend on itself`);
  }
  const script = `${OVERLAYS_ROOT}/${name}/${version}.sh`;
  for (const file of [script, `${OVERLAYS_ROOT}/${name}/${version}.def`, overlayTestFile(script)])
    if (tree.exists(file)) throw new Error(`${file} already exists; choose another version or remove it first`);
  const files = renderOverlayFiles(overlayData(name, version, deps));
  tree.write(script, files.script);
  tree.write(overlayTestFile(script), files.test);
}

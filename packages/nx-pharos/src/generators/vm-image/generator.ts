import type { Tree } from '@nx/devkit';
import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { parseVmImageDefinition, type VmImageDefinition } from '../../definitions/vm-image';

export interface VmImageGeneratorSchema {
  name: string;
  from: string;
  packages?: string[];
}

const TEMPLATES = join(__dirname, 'files');
const PACKER = 'packer';
const NAME = /^[a-z][a-z0-9-]*$/;
const DEBIAN_PACKAGE = /^[a-z0-9][a-z0-9+.-]*$/;

export interface VmImageTemplateData {
  name: string;
  from: string;
  suite: string;
  template: string;
  seed: string;
  sysprep: string;
  packages: string;
}

/**
 * What the new image takes from the one it starts from, as paths from its own folder: the suite, the template, the
 * seed, and the last provision script, which in every image here is the common layer's sysprep and must run last.
 */
export function vmImageData(name: string, from: string, fromDef: VmImageDefinition, packages: string[]): VmImageTemplateData {
  const fromRoot = posix.join(PACKER, from);
  const fromHere = (rel: string) => posix.relative(posix.join(PACKER, name), posix.join(fromRoot, rel));
  const sysprep = fromDef.provision.at(-1);
  if (!sysprep) throw new Error(`${fromRoot}/vm-image.yaml has no provision script; the new image needs its last one (the sysprep) to run last`);
  return {
    name,
    from,
    suite: fromDef.suite,
    template: fromHere(fromDef.template),
    seed: fromHere(fromDef.seed),
    sysprep: fromHere(sysprep),
    packages: packages.join(' '),
  };
}

/** The definition and the provision script, from data: pure, so the spec checks them without a workspace. */
export function renderVmImageFiles(data: VmImageTemplateData): Record<string, string> {
  const render = (template: string) => Handlebars.compile(readFileSync(join(TEMPLATES, template), 'utf8'), { noEscape: true, strict: true })(data);
  return { 'vm-image.yaml': render('vm-image.yaml.hbs'), 'scripts/provision.sh': render('provision.sh.hbs') };
}

export default async function vmImageGenerator(tree: Tree, schema: VmImageGeneratorSchema): Promise<void> {
  const packages = schema.packages ?? [];
  if (!NAME.test(schema.name))
    throw new Error(`VM image name "${schema.name}" must be lower case letters, digits or "-", starting with a letter (it is also a host name)`);
  const bad = packages.find((p) => !DEBIAN_PACKAGE.test(p));
  if (bad !== undefined) throw new Error(`--packages "${bad}" is not a Debian package name`);
  const root = posix.join(PACKER, schema.name);
  if (tree.exists(root)) throw new Error(`${root} already exists; choose another name or remove it first`);
  const fromFile = posix.join(PACKER, schema.from ?? '', 'vm-image.yaml');
  if (!schema.from || !tree.exists(fromFile)) {
    const images = tree.children(PACKER).filter((d) => tree.exists(posix.join(PACKER, d, 'vm-image.yaml')));
    throw new Error(
      `--from "${schema.from ?? ''}" is not a VM image project (no ${fromFile}); the VM images here: ${images.sort().join(', ') || 'none (docs/vm-images.md)'}`,
    );
  }
  const fromDef = parseVmImageDefinition(tree.read(fromFile, 'utf8') as string, fromFile);
  const files = renderVmImageFiles(vmImageData(schema.name, schema.from, fromDef, packages));
  for (const [file, text] of Object.entries(files)) tree.write(posix.join(root, file), text);
  // Packer runs the provision scripts with sh; executable like the workspace's own.
  tree.changePermissions(posix.join(root, 'scripts/provision.sh'), '755');
}

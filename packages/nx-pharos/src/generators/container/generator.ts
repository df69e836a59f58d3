import type { Tree } from '@nx/devkit';
import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ContainerGeneratorSchema {
  name: string;
  from?: string;
  directory?: string;
}

const TEMPLATES = join(__dirname, 'files');
const NAME = /^[a-z0-9][a-z0-9._-]*$/;

/** The scaffold's files, rendered from data: pure, so the spec checks them without a workspace. */
export function renderContainerFiles(options: Required<ContainerGeneratorSchema>): Record<string, string> {
  const render = (template: string) => Handlebars.compile(readFileSync(join(TEMPLATES, template), 'utf8'), { noEscape: true, strict: true })(options);
  return { Dockerfile: render('Dockerfile.hbs'), 'container.yaml': render('container.yaml.hbs') };
}

export default async function containerGenerator(tree: Tree, schema: ContainerGeneratorSchema): Promise<void> {
  const options = { from: 'pharos/base-tools:latest', directory: 'containers', ...schema };
  if (!NAME.test(options.name)) {
    throw new Error(`container name "${options.name}" must be lower case letters, digits, ".", "_" or "-" (it is also the Docker image name)`);
  }
  const root = join(options.directory, options.name);
  if (tree.exists(root)) throw new Error(`${root} already exists; choose another name or remove it first`);
  for (const [file, text] of Object.entries(renderContainerFiles(options))) tree.write(join(root, file), text);
}

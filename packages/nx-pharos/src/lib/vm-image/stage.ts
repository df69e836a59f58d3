import Handlebars from 'handlebars';
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { GUEST_UPLOAD_DIR, type VmImageDefinition } from '../../definitions/vm-image';
import { packerSettingsFile } from '../../tools/packer';
import { onInterrupt } from '../../utils/cleanup';
import { PharosError } from '../../utils/errors';
import { verifiedDebs } from '../../products/debs';
import type { ExecutorContext } from '@nx/devkit';
import type { DebsSource } from './normalize-options';
import { ownedName } from '../../utils/leftovers';

/**
 * A scratch directory Packer runs in: the project's template, the `packer {}` file generated for the detected
 * version, and the rendered cloud-init seed. Packer's errors name the staged file; `sourceOf` maps it back.
 */
export const SETTINGS_FILE = 'pharos-packer.pkr.hcl';

export interface SeedValues {
  instanceId: string;
  hostname: string;
  sshPublicKey: string;
}

export interface StagedTemplate {
  dir: string;
  seedFiles: string[];
  /** The workspace-relative source of a staged file name, for messages. */
  sourceOf: (staged: string) => string;
}

export function stageTemplate(
  project: { projectDir: string; workspaceRoot: string; def: VmImageDefinition },
  dir: string,
  packerVersion: string,
  seed: SeedValues,
): StagedTemplate {
  const { projectDir, workspaceRoot, def } = project;
  mkdirSync(dir, { recursive: true });
  const template = join(projectDir, def.template);
  if (!existsSync(template))
    throw new PharosError('the template does not exist', {
      file: relative(workspaceRoot, template),
      next: `fix "template" in ${relative(workspaceRoot, join(projectDir, 'vm-image.yaml'))}`,
    });
  cpSync(template, join(dir, basename(template)));
  writeFileSync(join(dir, SETTINGS_FILE), packerSettingsFile(packerVersion));
  const seedDir = join(dir, 'seed');
  mkdirSync(seedDir, { recursive: true });
  const seedFiles = ['user-data', 'meta-data'].map((name) => {
    const src = join(projectDir, def.seed, `${name}.hbs`);
    if (!existsSync(src)) throw new PharosError(`the cloud-init seed template ${name}.hbs is missing`, { file: relative(workspaceRoot, src) });
    const out = join(seedDir, name);
    writeFileSync(out, Handlebars.compile(readFileSync(src, 'utf8'), { noEscape: true, strict: true })(seed));
    return out;
  });
  return {
    dir,
    seedFiles,
    sourceOf: (staged) =>
      basename(staged) === basename(template)
        ? relative(workspaceRoot, template)
        : basename(staged) === SETTINGS_FILE
          ? `${SETTINGS_FILE} (generated)`
          : staged,
  };
}

/** Provisioning scripts as absolute paths, each checked to exist. */
export function provisionScripts(projectDir: string, workspaceRoot: string, def: VmImageDefinition): string[] {
  return def.provision.map((p) => {
    const path = join(projectDir, p);
    if (!existsSync(path))
      throw new PharosError('a provisioning script does not exist', {
        file: relative(workspaceRoot, path),
        next: `fix "provision" in ${relative(workspaceRoot, join(projectDir, 'vm-image.yaml'))}`,
      });
    return path;
  });
}

/**
 * The uploaded folder's .debs: `names` of each package project, from the folder its `deb-<suite>` target wrote (the
 * image target's `debs` option, set by the plugin from the recipe's release), checked by digest.
 */
export async function stageDebs(upload: string, def: VmImageDefinition, debs: DebsSource[], context: ExecutorContext, label: string): Promise<string[]> {
  const staged: string[] = [];
  mkdirSync(join(upload, 'debs'), { recursive: true });
  for (const p of def.packages) {
    const producer = `${p.project}:deb-${def.suite}`;
    const source = debs.find((d) => d.project === p.project);
    if (!source)
      throw new PharosError(`"packages" names ${p.project}, but the image target has no .debs folder for it`, {
        step: label,
        next: 'name a project under third-party/ whose recipe builds for this suite',
      });
    const dir = join(context.root, source.dir);
    const files = await verifiedDebs(dir, p.names, context, label, producer);
    // The bytes, never a link into the store: Packer uploads what is in the folder.
    for (const f of files) cpSync(join(dir, f), join(upload, 'debs', f), { dereference: true });
    staged.push(...files);
  }
  return staged;
}

/** The definition's `files`, rendered with the image's values (cluster names, suite). */
export function renderFiles(upload: string, projectDir: string, workspaceRoot: string, def: VmImageDefinition, values: Record<string, unknown>): void {
  for (const f of def.files) {
    const src = join(projectDir, f.template);
    if (!existsSync(src)) throw new PharosError('a file template does not exist', { file: relative(workspaceRoot, src) });
    try {
      writeFileSync(join(upload, f.name), Handlebars.compile(readFileSync(src, 'utf8'), { noEscape: true, strict: true })(values));
    } catch (err) {
      throw new PharosError(`cannot render: ${(err as Error).message.split('\n')[0]}`, { file: relative(workspaceRoot, src) });
    }
  }
}

/** What a build (or a validation, with placeholders) gives the template: one place for its variables. */
export interface TemplateInputs {
  name: string;
  def: VmImageDefinition;
  scratch: string;
  upload: string;
  baseImage: string;
  baseSha256: string;
  accelerator: string;
  privateKey: string;
  sshTimeoutMinutes: number;
  provisionTimeoutMinutes: number;
  seedFiles: string[];
  serialLog: string;
  provisionScripts: string[];
  /** The apt cache as the guest reaches it (tools/apt-cache.ts, via slirp's 10.0.2.2): the scripts' apt reads http_proxy. */
  aptProxy?: string;
}

/**
 * A file Packer reads from this host, by its real path. A product in the store is a relative link (products/store.ts),
 * and Packer hands `iso_url` to go-getter, which links its cache entry to the path it is given (Packer 1.6); the newer
 * SDKs set go-getter's DisableSymlinks, under which copying a source that is a link fails. A path that does not exist
 * (packer-validate's placeholder) is given as it is.
 */
export function packerSourcePath(path: string): string {
  return existsSync(path) ? realpathSync(path) : path;
}

export function templateVars(t: TemplateInputs): Record<string, string | number | string[]> {
  return {
    upload_directory: `${t.upload}/`,
    base_image: packerSourcePath(t.baseImage),
    base_sha256: t.baseSha256,
    output_directory: join(t.scratch, 'out'),
    vm_name: `${t.name}.qcow2`,
    accelerator: t.accelerator,
    ssh_private_key_file: t.privateKey,
    ssh_timeout: `${t.sshTimeoutMinutes}m`,
    provision_timeout: `${t.provisionTimeoutMinutes}m`,
    seed_files: t.seedFiles,
    serial_log: t.serialLog,
    provision_scripts: t.provisionScripts,
    // Only the environment of the provisioning scripts: nothing in the image names the proxy.
    provision_env: [`PHAROS_UPLOAD=${GUEST_UPLOAD_DIR}`, ...(t.aptProxy ? [`http_proxy=${t.aptProxy}`] : [])],
    cpus: t.def.cpus,
    memory: t.def.memory,
  };
}

/** Runs `work` in a fresh scratch folder under tmp/packer, removed afterwards, on failure and on Ctrl-C. */
export async function inPackerScratch<T>(workspaceRoot: string, name: string, work: (dir: string) => Promise<T>): Promise<T> {
  const dir = join(workspaceRoot, 'tmp', 'packer', ownedName(name));
  const remove = onInterrupt(() => rm(dir, { recursive: true, force: true }));
  try {
    return await work(dir);
  } finally {
    await remove();
  }
}

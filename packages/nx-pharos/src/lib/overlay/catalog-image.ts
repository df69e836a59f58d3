import { definitionSummary, type ApptainerDefinition } from '../../definitions/apptainer-definition';
import { overlayDir } from '../../products/overlay';
import { productDir } from '../../products/paths';
import { sifFileNames, sifProductPaths, type SifManifest } from '../../products/sif';
import { PharosError } from '../../utils/errors';
import {
  baseSifLine,
  imageOf,
  judgeOverlay,
  labelled,
  productSection,
  readableFacts,
  section,
  sizedFile,
  type CatalogInput,
  type OverlayStatus,
} from './catalog';

/**
 * `pharos info` of a `.def` image (containers/overlays/<name>/<version>.def): a SIF built on a container's SIF, not an
 * overlay, so it has no #DEP, #ENV or sources; what it shows is its `Bootstrap:`/`From:`, the SIF `From:` names and
 * that SIF's digest, and what `<version>.sif.json` records. Pure, as catalog.ts.
 */

export interface ImageInfo {
  overlay: string;
  project: string;
  definition: string;
  /** The first line of its `%help`. */
  whatis?: string;
  type: 'image';
  status: OverlayStatus;
  reasons: string[];
  bootstrap: { value: string; line: number };
  from?: { value: string; line: number };
  /** The container project whose SIF `From:` names, and that SIF's sha256 now (none when it is not built). */
  base?: { project: string; sha256?: string };
  /** When dist/ holds a readable `<version>.sif.json`: what it records, paths workspace-relative. */
  product?: {
    sif: string;
    manifest: string;
    bytes: number;
    sha256: string;
    definitionSha256?: string;
    base?: SifManifest['base'];
    apptainerVersion: string;
    mksquashfsArgs: string;
  };
  run: string;
}

/**
 * The container project whose SIF a definition's `From:` names: `dist/containers/<c>/<c>.sif`, the only base
 * inference accepts (plugin/infer-def-image.ts), which also fails the project on any other.
 */
export function definitionBaseProject(def: ApptainerDefinition): string | undefined {
  const project = def.from?.value.split('/')[2];
  return project && def.from?.value === productDir(`containers/${project}`, sifFileNames(project).sif) ? project : undefined;
}

/** Everything `pharos info` shows of the `.def` image `file` (findOverlay). */
export function imageInfo(input: CatalogInput, file: string): ImageInfo {
  const { path, definition } = readableFacts(input, file);
  if (!definition) throw new PharosError(`${file} is a build script, not an Apptainer definition file`, { step: 'info' });
  const whatis = definitionSummary(definition);
  const project = definitionBaseProject(definition);
  const sha256 = project ? input.baseDigests.get(project) : undefined;
  const product = imageOf(input, path.key);
  const products = sifProductPaths(overlayDir(path.name), path.version);
  const m = product.kind === 'present' ? product.manifest : undefined;
  return {
    overlay: path.key,
    project: path.projectName,
    definition: file,
    ...(whatis ? { whatis } : {}),
    type: 'image',
    ...judgeOverlay(input, file),
    bootstrap: { value: definition.bootstrap.value, line: definition.bootstrap.line },
    ...(definition.from ? { from: { value: definition.from.value, line: definition.from.line } } : {}),
    ...(project ? { base: { project, ...(sha256 ? { sha256 } : {}) } } : {}),
    ...(m
      ? {
          product: {
            sif: products.sif,
            manifest: products.manifest,
            bytes: m.bytes,
            sha256: m.sha256,
            ...(m.definition ? { definitionSha256: m.definition.sha256 } : {}),
            ...(m.base ? { base: m.base } : {}),
            apptainerVersion: m.apptainerVersion,
            mksquashfsArgs: m.mksquashfsArgs,
          },
        }
      : {}),
    run: `apptainer run ${products.sif}`,
  };
}

/** The text `pharos info` prints for a `.def` image. */
export function formatImageInfo(info: ImageInfo): string {
  const p = info.product;
  const base = info.base ? ` (project ${info.base.project}; its SIF ${info.base.sha256 ? `has sha256 ${info.base.sha256}` : 'is not built'})` : '';
  const lines = [
    `${info.overlay}${info.whatis ? ` — ${info.whatis}` : ''}`,
    ...labelled([
      ['project', info.project],
      ['definition', info.definition],
      ['type', 'image (a SIF built from an Apptainer definition file, not an overlay)'],
      ['status', info.status],
    ]).map((l) => `  ${l}`),
    ...info.reasons.map((r) => `    ${info.status}: ${r}`),
    ...section(
      'built on',
      labelled([
        ['Bootstrap', `${info.bootstrap.value} (line ${info.bootstrap.line})`],
        ['From', info.from ? `${info.from.value} (line ${info.from.line})${base}` : undefined],
      ]),
    ),
    ...productSection(
      info.status,
      `${info.project}:sif`,
      p && [
        ['sif', sizedFile(p.sif, p.bytes)],
        ['sha256', p.sha256],
        ['manifest', p.manifest],
        ['definition', p.definitionSha256 ? `sha256 ${p.definitionSha256}` : undefined],
        ['base SIF', p.base ? baseSifLine(p.base) : undefined],
        ['apptainer', p.apptainerVersion],
        ['mksquashfs', p.mksquashfsArgs],
      ],
    ),
    ...section('use it', [info.run]),
  ];
  return `${lines.join('\n')}\n`;
}

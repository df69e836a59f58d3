import { isMap, isScalar, isSeq, type Node } from 'yaml';
import { parseYamlText, validateNode, validateValue, type Shape } from './validate';

/** The plugin's package name, as nx.json names it. */
export const PHAROS_PLUGIN = '@pharos/nx-plugin';

/** The plugin's options in nx.json (`plugins: [{ plugin: "@pharos/nx-plugin", options: {…} }]`). */
export interface PharosPluginOptions {
  /**
   * Package projects the VM images are built without, for a site that cannot get their sources (e.g. ["beegfs"]).
   * Explicit on purpose: without it, a missing package is an error naming what to supply.
   */
  imagesWithout?: string[];
  /**
   * The application container (`containers/<name>/`) whose SIF every overlay is built on and used with
   * (docs/overlays.md): one base for the whole tree, since an overlay's binaries link against the base's libraries.
   */
  overlayBase?: string;
  /**
   * Where targets that can run as Slurm jobs (overlay, def-sif) run by default: `local` (this machine, the default) or
   * `slurm`. PHAROS_ENGINE overrides it, a target's own `engine` option overrides both (lib/slurm-engine/engine.ts).
   */
  engine?: 'local' | 'slurm';
  /**
   * The Node.js a compute node runs a target's executor with, as the node resolves it (a name on the job's PATH, or an
   * absolute path on the shared filesystem); default `node`. PHAROS_SLURM_NODE_BIN overrides it.
   */
  slurmNode?: string;
  /** The partition of the jobs whose target and script name none; without it, the cluster's default partition. */
  partition?: string;
}

/** The container this repository ships for overlays: a C toolchain on bookworm. */
export const DEFAULT_OVERLAY_BASE = 'overlay-build-base';

/** A partition, or a comma-separated list of them, as sbatch --partition takes it. */
export const SLURM_PARTITION = /^[A-Za-z0-9_.-]+(?:,[A-Za-z0-9_.-]+)*$/;

const PLUGIN_OPTIONS: Shape = {
  kind: 'map',
  fields: {
    imagesWithout: { kind: 'list', of: { kind: 'string' } },
    overlayBase: { kind: 'string', pattern: /^[A-Za-z][A-Za-z0-9._-]*$/, expect: 'be the name of a container project (containers/<name>/)' },
    engine: { kind: 'enum', values: ['local', 'slurm'] },
    slurmNode: { kind: 'string', pattern: /^[^\s'"]+$/, expect: 'be a command name or an absolute path, without spaces or quotes' },
    partition: { kind: 'string', pattern: SLURM_PARTITION, expect: 'be a Slurm partition name, or several joined by commas' },
  },
};

/**
 * The `options` node of the nx.json entry that holds these options, for the line of a mistake: the entry naming this
 * plugin, else any entry with these options (a workspace may name the plugin by path).
 */
function optionsNode(nxJson: string, file: string, options: unknown) {
  const { doc, lines } = parseYamlText(nxJson, file);
  const plugins = isMap(doc.contents) ? doc.contents.get('plugins', true) : undefined;
  const entries = (isSeq(plugins) ? plugins.items : []).filter(isMap).filter((entry) => {
    const node = entry.get('options', true) as Node | undefined;
    return node !== undefined && JSON.stringify(isScalar(node) ? node.value : node.toJSON()) === JSON.stringify(options ?? {});
  });
  const entry = entries.find((e) => e.get('plugin') === PHAROS_PLUGIN) ?? entries[0];
  return entry ? { node: entry.get('options', true) as Node, lines } : undefined;
}

/**
 * The options Nx hands the plugin, validated. With nx.json's text, an error names the line of the offending key;
 * without it (or when the options came from elsewhere), the file alone.
 */
export function parsePluginOptions(options: unknown, nxJson: string | undefined, file = 'nx.json'): PharosPluginOptions {
  const located = nxJson === undefined ? undefined : optionsNode(nxJson, file, options);
  const { data } = located
    ? validateNode<PharosPluginOptions>(located.node, PLUGIN_OPTIONS, file, located.lines)
    : validateValue<PharosPluginOptions>(options, PLUGIN_OPTIONS, file);
  return data;
}

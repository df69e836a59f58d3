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
}

const PLUGIN_OPTIONS: Shape = {
  kind: 'map',
  fields: { imagesWithout: { kind: 'list', of: { kind: 'string' } } },
};

/** The `options` node of the nx.json entry that holds these options, for the line of a mistake. */
function optionsNode(nxJson: string, file: string, options: unknown) {
  const { doc, lines } = parseYamlText(nxJson, file);
  const plugins = isMap(doc.contents) ? doc.contents.get('plugins', true) : undefined;
  for (const entry of isSeq(plugins) ? plugins.items : []) {
    if (!isMap(entry) || entry.get('plugin') !== PHAROS_PLUGIN) continue;
    const node = entry.get('options', true) as Node | undefined;
    const value = isScalar(node) ? node.value : node?.toJSON();
    if (JSON.stringify(value ?? {}) === JSON.stringify(options ?? {})) return { node: node ?? null, lines };
  }
  return undefined;
}

/**
 * The options Nx hands the plugin, validated. With nx.json's text, an error names the line of the offending key;
 * without it (or when the options came from elsewhere), the file alone.
 */
export function parsePluginOptions(options: unknown, nxJson: string | undefined, file = 'nx.json'): PharosPluginOptions {
  const located = nxJson === undefined ? undefined : optionsNode(nxJson, file, options);
  const { data } = located ? validateNode<PharosPluginOptions>(located.node, PLUGIN_OPTIONS, file, located.lines) : validateValue<PharosPluginOptions>(options, PLUGIN_OPTIONS, file);
  return data;
}

/** The plugin's options in nx.json (`plugins: [{ plugin: "@pharos/nx-plugin", options: {…} }]`). */
export interface PharosPluginOptions {
  /**
   * Package projects the VM images are built without, for a site that cannot get their sources (e.g. ["beegfs"]).
   * Explicit on purpose: without it, a missing package is an error naming what to supply.
   */
  imagesWithout?: string[];
}

import type { ProjectConfiguration } from '@nx/devkit';

/** Which project produces each image tag, from the metadata inference wrote. */
export function imageProducers(projects: Record<string, Pick<ProjectConfiguration, 'name' | 'metadata'>>): Map<string, string> {
  const producers = new Map<string, string>();
  for (const [root, p] of Object.entries(projects)) {
    const tags = (p.metadata as { pharos?: { imageTags?: string[] } } | undefined)?.pharos?.imageTags ?? [];
    for (const t of tags) producers.set(t, p.name ?? root);
  }
  return producers;
}

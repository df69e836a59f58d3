import { DEBIAN_NAME, parseYamlFile, SUITE_NAME, type Shape } from './validate';

/** `base-image.yaml`: a distribution image made from its archive when no registry serves it. */
export interface BaseImageDefinition {
  distribution: 'debian';
  suite: string;
  variant: string;
  /** The tag Dockerfiles use in FROM, e.g. `debian:trixie`. */
  tag: string;
  /** Extra packages for debootstrap --include. */
  include: string[];
}

const BASE_IMAGE_YAML: Shape = {
  kind: 'map',
  required: ['suite'],
  fields: {
    distribution: { kind: 'string' },
    suite: SUITE_NAME,
    variant: { kind: 'string' },
    tag: { kind: 'string' },
    include: { kind: 'list', of: DEBIAN_NAME },
  },
};

export function parseBaseImageDefinition(text: string, file: string): BaseImageDefinition {
  const { data, fail } = parseYamlFile<Partial<BaseImageDefinition> & { suite: string }>(text, file, BASE_IMAGE_YAML);
  const distribution = data.distribution ?? 'debian';
  if (distribution !== 'debian') fail('distribution', `unsupported distribution "${distribution}" (supported: debian)`);
  return {
    distribution: 'debian',
    suite: data.suite,
    variant: data.variant ?? 'minbase',
    tag: data.tag ?? `debian:${data.suite}`,
    include: data.include ?? [],
  };
}

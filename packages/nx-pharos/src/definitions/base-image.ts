import { parse } from 'yaml';
import { PharosError } from '../utils/errors';

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

const KNOWN_KEYS = ['distribution', 'suite', 'variant', 'tag', 'include'];

export function parseBaseImageDefinition(text: string, file: string): BaseImageDefinition {
  let data: Record<string, unknown>;
  try {
    data = (parse(text) ?? {}) as Record<string, unknown>;
  } catch (err) {
    throw new PharosError(`invalid YAML: ${(err as Error).message}`, { file });
  }
  if (typeof data !== 'object' || Array.isArray(data)) throw new PharosError('expected a mapping', { file });
  for (const key of Object.keys(data)) {
    if (!KNOWN_KEYS.includes(key)) {
      throw new PharosError(`unknown key "${key}" (known: ${KNOWN_KEYS.join(', ')})`, { file, next: `remove or rename "${key}"` });
    }
  }
  const distribution = data.distribution ?? 'debian';
  if (distribution !== 'debian') {
    throw new PharosError(`unsupported distribution "${String(distribution)}" (supported: debian)`, { file });
  }
  if (typeof data.suite !== 'string' || !/^[a-z][a-z0-9-]*$/.test(data.suite)) {
    throw new PharosError('"suite" must be a Debian suite name such as bookworm or trixie', { file });
  }
  const include = data.include ?? [];
  if (!Array.isArray(include) || include.some((p) => typeof p !== 'string')) {
    throw new PharosError('"include" must be a list of package names', { file });
  }
  return {
    distribution: 'debian',
    suite: data.suite,
    variant: typeof data.variant === 'string' ? data.variant : 'minbase',
    tag: typeof data.tag === 'string' ? data.tag : `debian:${data.suite}`,
    include: include as string[],
  };
}

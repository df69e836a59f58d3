import type { ContainerCheck } from './container';
import { parseYamlFile, type Shape } from './validate';

/**
 * `containers/overlays/<name>/<version>.test.yaml`: the checks an overlay's `test` target runs, each a shell command
 * under `apptainer exec` on the base SIF with the overlay, its dependencies and their `.env` applied. The same check
 * shape as container.yaml's `test.checks` (judged by image-check.ts), less `runtimes`: an overlay only runs in
 * Apptainer. Read when the test runs, so editing a check re-runs the test and never rebuilds the overlay.
 */

export type OverlayCheck = Omit<ContainerCheck, 'runtimes'>;

export interface OverlayTestDefinition {
  checks: OverlayCheck[];
}

/**
 * container.yaml's check keys less `runtimes`. Spelled here rather than shared through container.ts: that module is
 * in the key of every image target, and a shared constant would rebuild them all for nothing.
 */
const CHECK: Shape = {
  kind: 'map',
  required: ['command'],
  fields: {
    name: { kind: 'string' },
    command: { kind: 'string' },
    expectOutput: { kind: 'string' },
    expectOutputContains: { kind: 'list', of: { kind: 'string' }, orSingle: true },
    expectExitCode: { kind: 'number', integer: true, min: 0, max: 255 },
    timeout: { kind: 'duration' },
  },
};

const TEST_YAML: Shape = { kind: 'map', fields: { checks: { kind: 'list', of: CHECK } } };

export function overlayTestFile(script: string): string {
  return script.replace(/\.(sh|def)$/, '.test.yaml');
}

export function parseOverlayTest(text: string, file: string): OverlayTestDefinition {
  const raw = parseYamlFile<{ checks?: OverlayCheck[] }>(text, file, TEST_YAML).data;
  return { checks: raw?.checks ?? [] };
}

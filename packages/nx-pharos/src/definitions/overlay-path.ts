import { PharosError } from '../utils/errors';

/**
 * Where overlay build scripts live and what their projects are called: `containers/overlays/<name>/<version>.sh` (a
 * build script, condatainer's app or data) or `.def` (an Apptainer definition file), one Nx project each, named
 * `<name>-<version>`. Pure: a path in, names out.
 */

export const OVERLAYS_ROOT = 'containers/overlays';

export type OverlayFileKind = 'script' | 'def';

/**
 * Nx takes a project name that starts with a letter and has no whitespace or `:` (the pattern @nx/devkit checks);
 * `,` would split `--projects` lists and glob characters would turn a name into a pattern. So a name starts with a
 * letter and both parts keep to letters, digits and `. _ + -` (`~` too in versions, for Debian's 1.0~rc1): names
 * are checked, never rewritten, so two folders can never be given one project by a rewrite.
 */
export const OVERLAY_NAME = /^[A-Za-z][A-Za-z0-9._+-]*$/;
export const OVERLAY_VERSION = /^[A-Za-z0-9][A-Za-z0-9._+~-]*$/;

export interface OverlayPath {
  /** Workspace-relative, as given. */
  file: string;
  name: string;
  version: string;
  kind: OverlayFileKind;
  /** `name/version`, as a `#DEP:` names it. */
  key: string;
  projectName: string;
}

export function overlayKey(name: string, version: string): string {
  return `${name}/${version}`;
}

export function overlayProjectName(name: string, version: string): string {
  return `${name}-${version}`;
}

/** The name, version, kind and project of a script path; an error naming the file when it is not laid out so. */
export function parseOverlayPath(file: string): OverlayPath {
  const m = new RegExp(`^${OVERLAYS_ROOT}/([^/]+)/([^/]+)\\.(sh|def)$`).exec(file);
  const layout = `${OVERLAYS_ROOT}/<name>/<version>.sh, or .def for an Apptainer definition file`;
  if (!m) {
    throw new PharosError(`an overlay build script is ${layout}`, { file, next: `move it to ${layout}, one folder per name` });
  }
  const [, name, version, ext] = m;
  if (!OVERLAY_NAME.test(name)) {
    throw new PharosError(`the overlay name "${name}" must start with a letter and hold only letters, digits and . _ + -`, {
      file,
      next: 'rename the folder; the name is part of the Nx project name, which Nx requires to start with a letter',
    });
  }
  if (!OVERLAY_VERSION.test(version)) {
    throw new PharosError(`the version "${version}" must start with a letter or digit and hold only letters, digits and . _ + ~ -`, {
      file,
      next: 'rename the file to <version>.sh',
    });
  }
  return { file, name, version, kind: ext === 'sh' ? 'script' : 'def', key: overlayKey(name, version), projectName: overlayProjectName(name, version) };
}

/**
 * Paths that would make one project: `a-b/1.sh` and `a/b-1.sh` are both `a-b-1`, and `x/1.sh` beside `x/1.def` are
 * both `x/1` to a `#DEP:`. One error per path after the first, naming the first.
 */
export function overlayPathClashes(paths: readonly OverlayPath[]): PharosError[] {
  const errors: PharosError[] = [];
  const byProject = new Map<string, OverlayPath>();
  const byKey = new Map<string, OverlayPath>();
  for (const path of [...paths].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))) {
    const sameKey = byKey.get(path.key);
    const sameProject = byProject.get(path.projectName);
    if (sameKey) {
      errors.push(
        new PharosError(`${path.file} and ${sameKey.file} are both ${path.key}`, {
          file: path.file,
          next: 'keep one: a #DEP names name/version, so only one script may build it',
        }),
      );
    } else if (sameProject) {
      errors.push(
        new PharosError(`${path.file} and ${sameProject.file} would both be the Nx project ${path.projectName}`, {
          file: path.file,
          next: 'rename one of the two folders or files',
        }),
      );
    }
    if (!sameKey) byKey.set(path.key, path);
    if (!sameProject) byProject.set(path.projectName, path);
  }
  return errors;
}

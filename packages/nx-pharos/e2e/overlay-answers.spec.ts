import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyWorkspace, filesIn, nx, removeDir } from './harness';
import type { OverlayManifest } from '../src/products/overlay';

/**
 * A build script's #INTERACTIVE: prompts answered from a file, through the real Nx: refused with the file to write
 * while there is none, built from `<version>.answers` (on install()'s stdin, never printed, rebuilt when an answer
 * changes), and from `$PHAROS_ANSWERS_DIR` only with the digest pinned in the script. Then #NETWORK:yes: install()
 * sees a network interface besides lo only when the script asks for it, and the build says so.
 */
const SECRET = 'LICENCE-7f3a-91c2';
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const script = (header: string, body: string) => `#!/usr/bin/bash\n${header}\n\ninstall() {\n${body}\n}\n`;
/** Reads both answers without printing either; the key only by its length. */
const ASKING = script(
  '#WHATIS:a vendor tool that asks\n#INTERACTIVE:Accept the EULA? (yes/no)\n#INTERACTIVE:Licence key',
  '    read -r eula\n    read -r key\n    [ "$eula" = yes ]\n    mkdir -p "$target_dir/share"\n    printf %s "$key" | wc -c > "$target_dir/share/key-length"',
);
/** The network interfaces install() sees, in its log. */
const IFACES = `    mkdir -p "$target_dir/share"\n    echo "pharos-ifaces: $(sed -n 's/^ *\\([^:]*\\):.*/\\1/p' /proc/net/dev | sort | tr '\\n' ' ')"`;

describe('overlay answers (#INTERACTIVE:) and #NETWORK:yes', () => {
  let ws: string;
  let outside: string;
  const write = (file: string, text: string) => {
    mkdirSync(dirname(join(ws, file)), { recursive: true });
    writeFileSync(join(ws, file), text);
  };
  const manifestOf = (name: string) => JSON.parse(readFileSync(join(ws, 'dist/containers/overlays', name, '1.0.sqf.json'), 'utf8')) as OverlayManifest;
  const logOf = (project: string) => readFileSync(join(ws, 'tmp/logs', `${project}-overlay.log`), 'utf8');

  beforeAll(() => {
    ws = copyWorkspace();
    outside = mkdtempSync(join(tmpdir(), 'pharos-site-answers-'));
  });
  afterAll(() => {
    removeDir(ws);
    removeDir(outside);
  });

  it('names the answers file to write, then builds from it without ever showing an answer, and again when one changes', async () => {
    write('containers/overlays/vendor-ask/1.0.sh', ASKING);
    const refused = await nx(['run', 'vendor-ask-1.0:overlay'], ws);
    expect(refused.exitCode, refused.output.slice(-3000)).not.toBe(0);
    expect(refused.output).toContain('containers/overlays/vendor-ask/1.0.sh:3');
    expect(refused.output).toContain('the script asks 2 questions (#INTERACTIVE:), and there is no containers/overlays/vendor-ask/1.0.answers');
    expect(refused.output).toContain('write containers/overlays/vendor-ask/1.0.answers: one answer per line');
    expect(filesIn(join(ws, 'dist/containers/overlays/vendor-ask'))).toEqual([]);
    expect(filesIn(join(ws, 'tmp/overlay'))).toEqual([]);

    write('containers/overlays/vendor-ask/1.0.answers', `yes\n${SECRET}\n`);
    const built = await nx(['run', 'vendor-ask-1.0:overlay'], ws);
    expect(built.exitCode, built.output.slice(-3000)).toBe(0);
    expect(built.output).not.toContain(SECRET);
    expect(logOf('vendor-ask-1.0')).not.toContain(SECRET);
    expect(manifestOf('vendor-ask')).toMatchObject({
      network: false,
      answers: { file: 'containers/overlays/vendor-ask/1.0.answers', sha256: sha(`yes\n${SECRET}\n`) },
    });
    expect(JSON.stringify(manifestOf('vendor-ask'))).not.toContain(SECRET);

    write('containers/overlays/vendor-ask/1.0.answers', `yes\n${SECRET}-2\n`);
    const again = await nx(['run', 'vendor-ask-1.0:overlay'], ws);
    expect(again.exitCode, again.output.slice(-3000)).toBe(0);
    expect(again.tasks.get('vendor-ask-1.0:overlay')).toBe('ran');
    expect(manifestOf('vendor-ask').answers?.sha256).toBe(sha(`yes\n${SECRET}-2\n`));
  });

  it('takes answers kept outside the tree only with their digest pinned in the script', async () => {
    const answers = `yes\n${SECRET}\n`;
    mkdirSync(join(outside, 'vendor-site'), { recursive: true });
    writeFileSync(join(outside, 'vendor-site/1.0.answers'), answers);
    const env = { PHAROS_ANSWERS_DIR: outside };
    write('containers/overlays/vendor-site/1.0.sh', ASKING);
    const unpinned = await nx(['run', 'vendor-site-1.0:overlay'], ws, env);
    expect(unpinned.exitCode).not.toBe(0);
    expect(unpinned.output).toContain('$PHAROS_ANSWERS_DIR/vendor-site/1.0.answers is outside the tree');
    expect(unpinned.output).toContain(`pin it in the script: #ANSWERS:sha256:${sha(answers)}`);

    write('containers/overlays/vendor-site/1.0.sh', ASKING.replace('#INTERACTIVE:Licence key', `#INTERACTIVE:Licence key\n#ANSWERS:sha256:${sha(answers)}`));
    const pinned = await nx(['run', 'vendor-site-1.0:overlay'], ws, env);
    expect(pinned.exitCode, pinned.output.slice(-3000)).toBe(0);
    expect(pinned.output).not.toContain(SECRET);
    expect(manifestOf('vendor-site').answers).toEqual({ file: '$PHAROS_ANSWERS_DIR/vendor-site/1.0.answers', sha256: sha(answers) });
  });

  it('gives install() the network only with #NETWORK:yes, and says so on the terminal, in the log and in the manifest', async () => {
    write('containers/overlays/net-yes/1.0.sh', script('#NETWORK:yes', IFACES));
    write('containers/overlays/net-no/1.0.sh', script('', IFACES));
    const run = await nx(['run-many', '-t', 'overlay', '--projects=net-yes-1.0,net-no-1.0'], ws);
    expect(run.exitCode, run.output.slice(-3000)).toBe(0);
    const notice =
      'pharos: WITH NETWORK: install() of net-yes/1.0 can reach the network (#NETWORK:yes, line 2); builds are not reproducible from pinned sources';
    expect(run.output).toContain(notice);
    expect(run.output).not.toContain('install() of net-no/1.0 can reach the network');
    const ifaces = (project: string) => /pharos-ifaces: (.*)/.exec(logOf(project))?.[1].trim().split(' ');
    expect(logOf('net-yes-1.0')).toContain(notice);
    expect(ifaces('net-no-1.0')).toEqual(['lo']);
    expect(ifaces('net-yes-1.0')?.filter((i) => i !== 'lo').length).toBeGreaterThan(0);
    expect(manifestOf('net-yes').network).toBe(true);
    expect(manifestOf('net-no').network).toBe(false);
  });
});

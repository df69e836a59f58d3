import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** install.sh under the real bash, as the build container runs it (its text as `bash -c`, values as arguments). */
const INSTALL = readFileSync(join(__dirname, 'install.sh'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'pharos-install-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runInstall(script: string, envFiles: Record<string, string> = {}, answers = '/dev/null') {
  const file = join(dir, 'build.sh');
  writeFileSync(file, script);
  const target = join(dir, 'target');
  const tmp = join(dir, 'tmp');
  mkdirSync(target, { recursive: true });
  mkdirSync(tmp, { recursive: true });
  const envs = Object.entries(envFiles).map(([name, text]) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  });
  const env = { NCPUS: '3', target_dir: target, tmp_dir: tmp, src_dir: join(dir, 'src'), app_name: 'x', version: '1.0' };
  return execa('bash', ['-c', INSTALL, 'pharos-install', file, answers, 'no network', ...envs], { reject: false, env, extendEnv: false });
}

describe('install.sh', () => {
  it("runs the script's install() in $tmp_dir with the build variables and the #DEP overlays' env", async () => {
    const r = await runInstall('install() {\n  echo "$PWD $NCPUS $app_name/$version $HTSLIB_ROOT" > "$target_dir/out"\n}\n', {
      'dep.env': "HTSLIB_ROOT='/cnt/htslib/1.16'\n",
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'target/out'), 'utf8')).toBe(`${join(dir, 'tmp')} 3 x/1.0 /cnt/htslib/1.16\n`);
    expect(r.stdout).toContain('pharos-phase: install() of x/1.0 into');
    expect(r.stdout).toContain('3 CPU(s), no network');
    expect(r.stdout).toContain('pharos-phase: install() done');
  });

  it('gives install() the answers on its stdin, one a line, and /dev/null without them', async () => {
    const ask =
      'install() {\n  read -r eula\n  read -r key\n  echo "$eula|$key" > "$target_dir/out"\n  if read -r more; then echo "more: $more" >> "$target_dir/out"; fi\n}\n';
    writeFileSync(join(dir, 'answers'), 'yes\nLICENCE-1\n');
    const r = await runInstall(ask, {}, join(dir, 'answers'));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'target/out'), 'utf8')).toBe('yes|LICENCE-1\n');
    // Without answers a `read` meets the end of its input at once (and set -e stops the build), never a terminal.
    const none = await runInstall(ask);
    expect(none.exitCode).not.toBe(0);
    expect(none.stdout).not.toContain('install() done');
  });

  it('fails at the first failing command, also inside a pipeline', async () => {
    const r = await runInstall('install() {\n  false | cat\n  echo not reached\n}\n');
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout).not.toContain('not reached');
  });

  it('says so when the script defines no install()', async () => {
    const r = await runInstall('build() { true; }\n');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('defines no install() function');
  });
});

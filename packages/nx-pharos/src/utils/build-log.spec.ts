import type { ExecutorContext } from '@nx/devkit';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildFailure, buildLog, buildLogFile, lastPhase, markedFields, phase, PHASE_MARKER } from './build-log';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-log-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('phase markers', () => {
  it('are announced by a shell line and read back from the output', () => {
    const output = execFileSync('sh', ['-c', `${phase('build-deps')}; echo noise; ${phase('compile')}; echo "${PHASE_MARKER}x" >&2`], { encoding: 'utf8' });
    expect(output).toBe('pharos-phase: build-deps\nnoise\npharos-phase: compile\n');
    expect(lastPhase(output)).toBe('compile');
    expect(lastPhase('no markers\n')).toBeUndefined();
  });

  it('carry tab-separated results after their own marker only', () => {
    const output = 'deb\ta.deb\t1.0\nnot deb\tb.deb\ndebx\tc.deb\ndeb\td.deb\n';
    expect(markedFields(output, 'deb')).toEqual([['a.deb', '1.0'], ['d.deb']]);
  });
});

describe('buildLog', () => {
  it('writes everything to the file and shows only the phases, also when a marker spans two chunks', async () => {
    const file = join(tempDir(), 'x.log');
    const shown: string[] = [];
    const log = buildLog(file, (line) => line.startsWith(PHASE_MARKER) && shown.push(line.slice(PHASE_MARKER.length).trim()));
    const write = (text: string) => new Promise<void>((done) => log.stream.write(text, () => done()));
    await write('configure output\npharos-pha');
    await write('se: compile\nwarning: x\n');
    await write(`${PHASE_MARKER} package\n`);
    await log.close();
    expect(shown).toEqual(['compile', 'package']);
    expect(readFileSync(file, 'utf8')).toBe('configure output\npharos-phase: compile\nwarning: x\npharos-phase: package\n');
    expect(log.text()).toBe(readFileSync(file, 'utf8'));
  });

  it('puts the log under tmp/logs of the workspace, named after the project', async () => {
    const root = tempDir();
    const file = await buildLogFile({ root, projectName: 'slurm' } as ExecutorContext, 'deb-trixie');
    expect(file).toBe(join(root, 'tmp', 'logs', 'slurm-deb-trixie.log'));
  });
});

describe('buildFailure', () => {
  const output = [`${PHASE_MARKER} toolchain`, ...Array.from({ length: 40 }, (_, i) => `line ${i + 1}`)].join('\n');

  it('names the phase, the log and its last lines', () => {
    const err = buildFailure(`${output.replace('toolchain', 'compile')}\n`, 2, 'tmp/logs/slurm-deb.log', 'slurm deb');
    expect(err.message).toBe('the build stopped in compile with code 2');
    expect(err.details).toMatchObject({ file: 'tmp/logs/slurm-deb.log', step: 'slurm deb: compile' });
    expect(err.details.tail).toEqual(Array.from({ length: 25 }, (_, i) => `line ${i + 16}`));
    expect(err.details.next).toBe('read tmp/logs/slurm-deb.log; fix the source or the recipe, then run the target again');
  });

  it("blames the suite's archive when the build stopped before compiling", () => {
    expect(buildFailure(output, 100, 'l.log', 'x').details.next).toContain("the suite's archive must serve the build dependencies");
    const first = buildFailure('apt: nothing\n', 1, 'l.log', 'x');
    expect(first.message).toBe('the build stopped in its first step with code 1');
    expect(first.details.step).toBe('x: build');
  });
});

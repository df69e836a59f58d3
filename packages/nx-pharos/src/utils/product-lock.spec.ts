import { execa, type ResultPromise } from 'execa';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stubDir } from '../testing/sh-stubs';
import { PharosError } from './errors';
import {
  acquireLock,
  formatDuration,
  lockPathOf,
  NX_RUN_HOLDER,
  removeLockIfUnchanged,
  squeueJobState,
  type LockHolder,
  type LockOptions,
} from './product-lock';

const node = hostname();

/** A real process that takes `lock` with the module and holds it until it reads a line (then releases) or is killed. */
function holderProcess(lock: string): { child: ResultPromise; held: Promise<void> } {
  const script = `
    const { acquireLock } = require(${JSON.stringify(resolve(__dirname, 'product-lock.ts'))});
    acquireLock(${JSON.stringify(lock)}, { type: 'test-holder', log: () => undefined }).then((lock) => {
      console.log('held');
      process.stdin.once('data', () => lock.release().then(() => console.log('released')));
    });`;
  const child = execa('node', ['-r', '@swc-node/register', '-e', script], { reject: false, cwd: resolve(__dirname, '../../../..'), stdin: 'pipe' });
  const held = new Promise<void>((ready) => child.stdout?.on('data', (d: Buffer) => d.toString().includes('held') && ready()));
  return { child, held };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await sleep(10);
}

describe('product lock', () => {
  let dir: string;
  let live: ReturnType<typeof holderProcess>;
  let killed: ReturnType<typeof holderProcess>;
  let interrupted: ReturnType<typeof holderProcess>;
  const lock = (name: string) => join(dir, `${name}.lock`);
  const messages: string[] = [];
  const options = (o: Partial<LockOptions> = {}): LockOptions => ({ type: 'test', pollMs: 10, log: (t) => messages.push(t), ...o });
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => 'acquired',
      (e: PharosError) => (e instanceof PharosError ? e.format() : String(e)),
    );
  const writeHolder = (path: string, h: Partial<LockHolder>, ageMs = 0) => {
    writeFileSync(path, JSON.stringify({ type: 'other', pid: process.ppid, node, job_id: null, created_at: '2025-01-01T00:00:00.000Z', ...h }));
    if (ageMs) utimesSync(path, new Date(Date.now() - ageMs), new Date(Date.now() - ageMs));
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pharos-lock-'));
    // Started together: each costs a Node start with the TypeScript loader.
    live = holderProcess(lock('live'));
    killed = holderProcess(lock('killed'));
    interrupted = holderProcess(lock('interrupted'));
    await Promise.all([live.held, killed.held, interrupted.held]);
  });
  afterAll(async () => {
    for (const p of [live, killed, interrupted]) p.child.kill('SIGKILL');
    await Promise.all([live, killed, interrupted].map((p) => p.child));
    rmSync(dir, { recursive: true, force: true });
  });

  it('names the lock beside the product', () => {
    expect(lockPathOf('/w/dist/third-party/slurm/24.11.5/trixie/')).toBe('/w/dist/third-party/slurm/24.11.5/trixie.lock');
    expect(lockPathOf('/w/dist/containers/openmpi/image.tar')).toBe('/w/dist/containers/openmpi/image.tar.lock');
  });

  it('holds the holder as JSON while a live process has it', () => {
    const holder = JSON.parse(readFileSync(lock('live'), 'utf8')) as LockHolder;
    expect(holder).toEqual({ type: 'test-holder', pid: live.child.pid, node, job_id: null, created_at: expect.any(String) });
    expect(Date.parse(holder.created_at)).toBeLessThanOrEqual(Date.now());
  });

  it('a live holder: noWait fails at once naming it; a waiter reports it, then takes the lock when it is released', async () => {
    const refused = await failure(acquireLock(lock('live'), options({ noWait: true, step: 'p:t' })));
    expect(refused).toMatch(
      new RegExp(
        `^pharos: p:t: another run holds ${lock('live')}: test-holder \\(pid ${live.child.pid} on ${node}, since [^)]+\\)\n  next: .*without --noWait`,
      ),
    );
    messages.length = 0;
    const waiting = acquireLock(lock('live'), options({ type: 'waiter' }));
    await until(() => messages.length > 0);
    expect(messages[0]).toMatch(
      new RegExp(
        `^pharos: waiting for ${lock('live')}: held by test-holder \\(pid ${live.child.pid} on ${node}, since .*\\); up to 6h \\(--noWait fails at once instead\\)\n$`,
      ),
    );
    live.child.stdin?.write('release\n');
    const held = await waiting;
    expect(messages.at(-1)).toMatch(new RegExp(`^pharos: took ${lock('live')} after waiting \\d+s\n$`));
    expect(JSON.parse(readFileSync(lock('live'), 'utf8'))).toMatchObject({ type: 'waiter', pid: process.pid, node, job_id: null });
    await held.release();
    expect(existsSync(lock('live'))).toBe(false);
  });

  it('a holder killed with SIGKILL: the next run removes its lock, naming it, and takes it', async () => {
    const pid = killed.child.pid;
    killed.child.kill('SIGKILL');
    await killed.child;
    expect(existsSync(lock('killed'))).toBe(true);
    messages.length = 0;
    const held = await acquireLock(lock('killed'), options());
    expect(messages).toEqual([
      expect.stringMatching(
        new RegExp(`^pharos: removing the stale lock ${lock('killed')}: its holder test-holder \\(pid ${pid} on ${node}, since .*\\) has ended\n$`),
      ),
    ]);
    expect(held.holder.pid).toBe(process.pid);
    await held.release();
  });

  it('a holder stopped with Ctrl-C removes its lock', async () => {
    interrupted.child.kill('SIGINT');
    expect((await interrupted.child).exitCode).toBe(130);
    expect(existsSync(lock('interrupted'))).toBe(false);
  });

  it('reclaims an empty or corrupt lock once it is old enough not to be one being written', async () => {
    writeFileSync(lock('empty'), '');
    utimesSync(lock('empty'), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    writeFileSync(lock('corrupt'), '{"type":');
    utimesSync(lock('corrupt'), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    messages.length = 0;
    await (await acquireLock(lock('empty'), options())).release();
    await (await acquireLock(lock('corrupt'), options())).release();
    expect(messages).toEqual([
      `pharos: removing the stale lock ${lock('empty')}: it is empty (a run was killed while taking it)\n`,
      expect.stringMatching(new RegExp(`^pharos: removing the stale lock ${lock('corrupt')}: it is not a lock \\(not valid JSON: .*\\)\n$`)),
    ]);
  });

  it('an empty lock just created is one being written: it is judged once its holder has written it', async () => {
    writeFileSync(lock('settling'), '');
    const refused = failure(acquireLock(lock('settling'), options({ noWait: true })));
    await sleep(50);
    writeHolder(lock('settling'), { type: 'writer' });
    expect(await refused).toMatch(`another run holds ${lock('settling')}: writer (pid ${process.ppid} on ${node}`);
  });

  it("refuses another node's lock, naming the holder and how to remove it", async () => {
    writeHolder(lock('foreign'), { node: 'node-b', pid: 4242 });
    expect(await failure(acquireLock(lock('foreign'), options({ step: 'p:t' })))).toBe(
      `pharos: p:t: ${lock('foreign')} is held by other (pid 4242 on node-b, since 2025-01-01T00:00:00.000Z), a run on another node, and Pharos cannot tell from ${node} whether it is still running\n` +
        `  next: check on node-b that pid 4242 has ended (ps -p 4242), then remove ${lock('foreign')} and run again`,
    );
    expect(existsSync(lock('foreign'))).toBe(true);
  });

  it("asks Slurm about another node's job: ended is stale, running is held, unknown is refused", async () => {
    const job = { node: 'node-b', pid: 4242, job_id: '77' };
    writeHolder(lock('job'), job);
    expect(await failure(acquireLock(lock('job'), options({ jobState: async () => 'unknown' })))).toMatch(
      `whether Slurm job 77 has ended cannot be checked here (no squeue on PATH, or Slurm did not answer)\n  next: check that Slurm job 77 has ended (squeue -j 77 on the cluster), then remove ${lock('job')} and run again`,
    );
    expect(await failure(acquireLock(lock('job'), options({ noWait: true, jobState: async () => 'running' })))).toMatch(
      `another run holds ${lock('job')}: other (pid 4242 on node-b, Slurm job 77, since`,
    );
    messages.length = 0;
    await (await acquireLock(lock('job'), options({ jobState: async () => 'ended' }))).release();
    expect(messages).toEqual([
      `pharos: removing the stale lock ${lock('job')}: its holder other (pid 4242 on node-b, Slurm job 77, since 2025-01-01T00:00:00.000Z) has ended (Slurm job 77 is no longer running)\n`,
    ]);
  });

  it('gives up after the wait limit, naming the holder and the wait', async () => {
    writeHolder(lock('stuck'), {});
    expect(await failure(acquireLock(lock('stuck'), options({ waitLimitMs: 30 })))).toMatch(
      new RegExp(
        `^pharos: gave up after waiting 0s for ${lock('stuck')}, held by other \\(pid ${process.ppid} on ${node}, .*\\)\n  next: if that run is stuck, stop it \\(kill ${process.ppid} on ${node}\\), then run again; PHAROS_LOCK_WAIT_MINUTES`,
      ),
    );
  });

  it('removes the folders it made for the lock when it releases it, if they are still empty', async () => {
    const nested = join(dir, 'made/1.0/trixie');
    const held = await acquireLock(lockPathOf(nested), options());
    expect(existsSync(join(dir, 'made/1.0'))).toBe(true);
    await held.release();
    expect(existsSync(join(dir, 'made'))).toBe(false);
    const kept = await acquireLock(lockPathOf(nested), options());
    writeFileSync(join(dir, 'made/1.0/source.json'), '{}');
    await kept.release();
    expect(readdirSync(join(dir, 'made/1.0'))).toEqual(['source.json']);
  });

  it('releases only its own lock', async () => {
    const held = await acquireLock(lock('mine'), options());
    writeHolder(lock('mine'), { type: 'newer' });
    await held.release();
    expect(JSON.parse(readFileSync(lock('mine'), 'utf8'))).toMatchObject({ type: 'newer' });
  });

  it('refuses a lock this process already holds instead of waiting for itself', async () => {
    const held = await acquireLock(lock('twice'), options());
    expect(await failure(acquireLock(lock('twice'), options()))).toMatch(`${lock('twice')} is already held by this process`);
    await held.release();
  });

  it('hands a held lock to another live process with no gap: waiters then wait for it, and release leaves it alone', async () => {
    const held = await acquireLock(lock('handed'), options());
    // The test runner's parent process, alive on this node, stands in for the Nx run.
    const text = held.handOver({ pid: process.ppid, type: 'the Nx run' });
    expect(JSON.parse(text ?? '')).toMatchObject({ type: 'the Nx run', pid: process.ppid, node, job_id: null });
    expect(readFileSync(lock('handed'), 'utf8')).toBe(text);
    expect(await failure(acquireLock(lock('handed'), options({ noWait: true })))).toMatch(
      `another run holds ${lock('handed')}: the Nx run (pid ${process.ppid}`,
    );
    await held.release();
    expect(readFileSync(lock('handed'), 'utf8')).toBe(text);
    expect(held.handOver({ pid: process.ppid, type: 'again' })).toBeUndefined(); // no longer ours
    expect(removeLockIfUnchanged(lock('handed'), 'other text')).toBe(false);
    expect(removeLockIfUnchanged(lock('handed'), text ?? '')).toBe(true);
    expect(existsSync(lock('handed'))).toBe(false);
  });

  it('refuses to wait for the Nx run this task belongs to, which cannot end before the task', async () => {
    writeHolder(lock('own-run'), { type: `${NX_RUN_HOLDER}p:other`, pid: process.ppid });
    expect(await failure(acquireLock(lock('own-run'), options({ step: 'p:t' })))).toMatch(
      `pharos: p:t: ${lock('own-run')} is held by the Nx run this task belongs to: ${NX_RUN_HOLDER}p:other (pid ${process.ppid}`,
    );
  });

  it('asks squeue about a job, and calls it unknown without squeue or without an answer', async () => {
    expect(await squeueJobState('77', { PATH: '' })).toBe('unknown');
    const cases: Array<[string, string]> = [
      ['echo RUNNING', 'running'],
      ['echo COMPLETING', 'running'],
      ['echo COMPLETED', 'ended'],
      ['true', 'ended'],
      ['echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1', 'ended'],
      ['echo "slurm_load_jobs error: Unable to contact slurm controller" >&2; exit 1', 'unknown'],
    ];
    for (const [body, state] of cases) {
      const stubs = stubDir({ squeue: body });
      expect(await squeueJobState('77', { PATH: `${join(stubs, 'bin')}:/usr/bin:/bin` }), body).toBe(state);
    }
  });

  it('formats waits', () => {
    expect([0, 12_000, 90_000, 6 * 3600_000].map(formatDuration)).toEqual(['0s', '12s', '1m30s', '6h']);
  });
});

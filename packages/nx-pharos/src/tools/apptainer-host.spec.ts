import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { stubDir } from '../testing/sh-stubs';
import { failureOf } from '../testing/failure';
import { PharosError } from '../utils/errors';
import { buildFromArchiveArgv, overlayExecArgv } from './apptainer';
import { buildFromDefinitionArgv } from './apptainer-definition';
import { devContainerSif, hostArgv, HostApptainer, unisolatedNotice } from './apptainer-host';
import { packArgv } from './mksquashfs';

const WS = '/work/ws';
const SETUP = { devSif: `${WS}/dist/tools/dev-container/dev-container.sif`, workspaceRoot: WS };

describe('hostArgv', () => {
  it("runs an apptainer command as it is: it is the node's own Apptainer", () => {
    const argv = buildFromArchiveArgv('/x.sif', '/image.tar', '-comp zstd');
    // readOnlyFiles and the .def build's subordinate ids are the dev container's binds; the host has its own files.
    expect(hostArgv({ argv, readOnlyFiles: ['/key.pem'], userNamespaceBuild: { subordinateIds: '/s' }, fuse: true }, SETUP)).toEqual(argv);
  });

  it('gives an apptainer action no network by a namespace of its own, right after the subcommand', () => {
    const argv = overlayExecArgv({ sif: '/base.sif', overlays: [], argv: ['/bin/sh', '-c', 'true'] });
    expect(hostArgv({ argv, network: 'none' }, SETUP)).toEqual(['apptainer', 'exec', '--net', '--network', 'none', ...argv.slice(2)]);
    expect(hostArgv({ argv }, SETUP)).toEqual(argv);
  });

  it("runs any other command in the dev container's SIF, with the workspace at its own path and the image's environment", () => {
    const argv = packArgv({ tree: `${WS}/tmp/t/root/cnt`, dest: `${WS}/dist/x.sqf`, type: 'app', processors: 2, compression: '-comp zstd' });
    expect(hostArgv({ argv, network: 'none' }, SETUP)).toEqual([
      'apptainer',
      'exec',
      '--cleanenv',
      '--bind',
      WS,
      '--pwd',
      WS,
      '--net',
      '--network',
      'none',
      SETUP.devSif,
      ...argv,
    ]);
  });

  it("binds this machine's store read-only at its own path beside the workspace: product links lead there", () => {
    const argv = hostArgv({ argv: ['sh', '-c', 'true'] }, { ...SETUP, store: '/shared/store' });
    expect(argv.slice(3, 9)).toEqual(['--bind', WS, '--bind', '/shared/store:/shared/store:ro', '--pwd', WS]);
  });

  it('binds the files a dev-container command reads, read-only at their own paths', () => {
    const argv = hostArgv({ argv: ['sh', '-c', 'cat "$1"', 'x', '/home/u/key.pem'], readOnlyFiles: ['/home/u/key.pem', '/run/pass'] }, SETUP);
    expect(argv.slice(7, 11)).toEqual(['--bind', '/home/u/key.pem:/home/u/key.pem:ro', '--bind', '/run/pass:/run/pass:ro']);
    expect(argv.slice(11)).toEqual([SETUP.devSif, 'sh', '-c', 'cat "$1"', 'x', '/home/u/key.pem']);
  });
});

describe('unisolatedNotice', () => {
  it('says so when Apptainer cannot take the network away (build has no --net), and only then', () => {
    const build = { argv: buildFromDefinitionArgv('/o.sif', 'a.def', '-comp zstd'), network: 'none' as const, what: 'apptainer build of a.def' };
    expect(unisolatedNotice(build)).toBe(`pharos: apptainer build takes no --net, so apptainer build of a.def runs with ${hostname()}'s network\n`);
    expect(unisolatedNotice({ ...build, network: undefined })).toBeUndefined();
    expect(unisolatedNotice({ argv: ['apptainer', 'exec', 'x.sif', 'true'], network: 'none' })).toBeUndefined();
    expect(unisolatedNotice({ argv: ['mksquashfs', 'a', 'b'], network: 'none' })).toBeUndefined();
  });
});

describe('devContainerSif', () => {
  const workspace = () => mkdtempSync(join(tmpdir(), 'pharos-dev-sif-'));
  const product = (ws: string, bytes: number, written = bytes) => {
    const dir = join(ws, 'dist/tools/dev-container');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'dev-container.sif'), Buffer.alloc(written));
    const manifest = { schema: 1, project: 'dev-container', sif: 'dev-container.sif', sha256: 'ab', bytes, mksquashfsArgs: '', apptainerVersion: '1.4.1' };
    writeFileSync(join(dir, 'dev-container.sif.json'), JSON.stringify(manifest));
    return join(dir, 'dev-container.sif');
  };

  it("is the dev container project's sif product", async () => {
    const ws = workspace();
    const sif = product(ws, 16);
    expect(await devContainerSif(ws, 'dev-container', 'tools/dev-container')).toBe(sif);
  });

  it('names the target to run first when there is none, and a rebuild when the file is not the one described', async () => {
    const ws = workspace();
    const none = await failureOf(() => devContainerSif(ws, 'dev-container', 'tools/dev-container'));
    expect(none).toBeInstanceOf(PharosError);
    expect(none.format()).toMatch('dist/tools/dev-container/dev-container.sif.json: no SIF of the dev container');
    expect(none.details.next).toMatch('run `npx nx run dev-container:sif` first');
    product(ws, 16, 8);
    await expect(devContainerSif(ws, 'dev-container', 'tools/dev-container')).rejects.toThrow(/not the SIF its manifest describes/);
  });
});

/** Whether `pid` still runs: an orphan killed with the group may stay a zombie until init reaps it. */
function running(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

// A stand-in `apptainer` on PATH (the real one exists only in the dev container), recording each call in calls.log.
describe('HostApptainer.run', () => {
  const path = process.env.PATH;
  afterEach(() => {
    process.env.PATH = path;
  });
  const withStub = (body: string) => {
    const dir = stubDir({ apptainer: body });
    process.env.PATH = `${join(dir, 'bin')}:${path}`;
    return dir;
  };

  it('streams and keeps stdout and stderr apart, with the exit code, from the workspace root', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'pharos-host-ws-'));
    const dir = withStub('echo "out $(pwd)"; echo err >&2; exit 3');
    const echo = new PassThrough();
    let echoed = '';
    echo.on('data', (d) => (echoed += d));
    const r = await new HostApptainer({ devSif: '/dev.sif', workspaceRoot: ws }).run({ argv: ['apptainer', 'exec', 'x.sif', 'true'], network: 'none', echo });
    expect(r).toEqual({ exitCode: 3, stdout: `out ${ws}\n`, stderr: 'err\n' });
    expect(echoed).toContain('err\n');
    expect(readFileSync(join(dir, 'calls.log'), 'utf8')).toBe('apptainer exec --net --network none x.sif true\n');
  });

  it('answers the version the node has', async () => {
    withStub('echo 1.4.1');
    expect(await new HostApptainer({ devSif: '/dev.sif', workspaceRoot: tmpdir() }).version()).toBe('1.4.1');
  });

  it("stops the whole command at its time limit with the container runner's error", async () => {
    const dir = withStub('sleep 30 & echo "$$ $!" > "$(dirname "$0")/../pids"; wait');
    const run = new HostApptainer({ devSif: '/dev.sif', workspaceRoot: dir }).run({
      argv: ['sh', '-c', 'x'],
      what: 'check "slow"',
      // Long enough for the stand-in to start and record its pids on a loaded machine (a CI run failed at 300 ms).
      timeLimit: 3000,
      raiseLimit: 'raise it',
    });
    const err = await failureOf(run);
    expect(err).toBeInstanceOf(PharosError);
    expect(err.message).toMatch(/^check "slow" did not finish within/);
    expect(err.details.next).toMatch('raise it');
    // The stand-in and the sleep it started: the whole process group is gone. The run ends with the stand-in; the
    // sleep has had its SIGTERM by then, but on a loaded machine it may take a moment to act on it (a CI-like run
    // saw it still running), so the check waits up to 5 s, far less than the sleep's 30.
    const pids = readFileSync(join(dir, 'pids'), 'utf8').trim().split(' ').map(Number);
    for (let waited = 0; pids.some(running) && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    for (const pid of pids) expect(running(pid)).toBe(false);
  });

  it('names the node when apptainer is not on PATH', async () => {
    process.env.PATH = mkdtempSync(join(tmpdir(), 'pharos-empty-path-'));
    const err = await failureOf(new HostApptainer({ devSif: '/dev.sif', workspaceRoot: tmpdir() }).version());
    expect(err).toBeInstanceOf(PharosError);
    expect(err.message).toBe(`there is no apptainer on PATH on ${hostname()}`);
    expect(err.details.next).toMatch('Apptainer must be installed on every compute node (docs/slurm.md#nodes)');
  });
});

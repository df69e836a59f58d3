import Docker from 'dockerode';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { interruptSignal, onInterrupt } from '../utils/cleanup';
import { PharosError } from '../utils/errors';
import { declaredArgs, digestReference, parseDockerfile, pulledDigest } from '../definitions/dockerfile';
import { aptProxyFor, transportBuildArgs, withAptProxyEnv } from './apt-cache';
import { currentOwner, ownerLabels, reapOrphans, type ContainerOwner } from './container-owner';
import {
  blame,
  buildStepExitCode,
  containerTimeLimit,
  describeCommand,
  notTheStepError,
  raiseContainerLimit,
  timeLimitError,
  withinTimeLimit,
} from './docker-outcome';

/**
 * The one module that talks to the Docker engine. Everything goes through the engine API (dockerode), so there is
 * no CLI output to parse and the daemon's own errors reach the user unchanged.
 */

export function dockerClient(): Docker {
  // docker-modem reads DOCKER_HOST (and the TLS variables) itself, like the docker CLI does.
  return new Docker();
}

export function dockerEndpoint(): string {
  return process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
}

export async function assertDaemon(docker: Docker): Promise<void> {
  try {
    await docker.ping();
  } catch (err) {
    throw new PharosError(`no Docker daemon answers at ${dockerEndpoint()} (${(err as Error).message})`, {
      step: 'connect to Docker',
      next: 'run `npm run setup` (tools/setup-host.mjs) to install and start the engine, or point DOCKER_HOST at a running one',
    });
  }
}

/** Whether the engine answers a ping within a few seconds; `settle` asks twice, a second apart (a stopping engine may still answer once). */
async function engineAnswers(docker: Docker, settle = false): Promise<boolean> {
  const ping = async () => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 5000)));
    const answered = await Promise.race([
      docker.ping().then(
        () => true,
        () => false,
      ),
      late,
    ]);
    clearTimeout(timer);
    return answered;
  };
  if (!(await ping())) return false;
  if (!settle) return true;
  await new Promise((r) => setTimeout(r, 1000));
  return ping();
}

/** `err` as is when the step is to blame; else the error that blames the engine or the signal. */
async function blamed(docker: Docker, err: Error, during: string, exitCode?: number): Promise<Error> {
  const signal = interruptSignal();
  const culprit = blame({ text: err.message, exitCode, engineAnswers: await engineAnswers(docker, exitCode !== undefined && exitCode >= 128), signal });
  return culprit === 'step' ? err : notTheStepError(culprit, during, err.message, signal);
}

let owner: ContainerOwner | undefined;
let reaping: Promise<unknown> | undefined;

/** The labels that say which workspace, task and process own a container; and, once per process, the dead runs' containers removed. */
async function claimContainers(docker: Docker): Promise<Record<string, string>> {
  owner ??= currentOwner();
  const self = owner;
  reaping ??= reapOrphans(docker, self, (line) => process.stderr.write(`${line}\n`));
  await reaping;
  return ownerLabels(self);
}

export type ImageInfo = Docker.ImageInspectInfo;

export async function inspectImage(docker: Docker, ref: string): Promise<ImageInfo | undefined> {
  try {
    return await docker.getImage(ref).inspect();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
}

export async function tagImage(docker: Docker, imageId: string, ref: string): Promise<void> {
  const at = ref.lastIndexOf(':');
  const hasTag = at > ref.lastIndexOf('/');
  await docker.getImage(imageId).tag({ repo: hasTag ? ref.slice(0, at) : ref, tag: hasTag ? ref.slice(at + 1) : 'latest' });
}

interface ProgressEvent {
  stream?: string;
  status?: string;
  progress?: string;
  id?: string;
  error?: string;
  errorDetail?: { code?: number; message?: string };
  aux?: { ID?: string };
}

/** Follows a JSON progress stream; resolves with every event, rejects with the daemon's error text. */
function followProgress(docker: Docker, stream: NodeJS.ReadableStream, onEvent: (e: ProgressEvent) => void): Promise<ProgressEvent[]> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null, events: ProgressEvent[]) => {
        if (err) return reject(err);
        const failed = events.find((e) => e.error || e.errorDetail);
        if (failed) return reject(new Error(failed.errorDetail?.message ?? failed.error));
        resolve(events);
      },
      onEvent,
    );
  });
}

export interface BuildRequest {
  contextDir: string;
  /** Path of the Dockerfile relative to the context. */
  dockerfile: string;
  /** Given to the image for people; the build answers the image's ID and never reads the tag back. */
  tag: string;
  buildArgs?: Record<string, string>;
  target?: string;
  labels?: Record<string, string>;
  onOutput: (text: string) => void;
  /** How long the build may take, in ms; default containerTimeLimit() (PHAROS_CONTAINER_TIMEOUT, else 4h). */
  timeLimit?: number;
}

/** Where a build stopped: the builder's step counter and the daemon's message. */
export class BuildStepError extends Error {
  constructor(
    message: string,
    readonly step: { index: number; total: number; text: string } | undefined,
    readonly tail: string[],
  ) {
    super(message);
  }
}

const TAIL_LINES = 15;

/**
 * What the engine is asked to build: the request, and the apt cache's transport args (tools/apt-cache.ts), which the
 * request's own build args override. Nothing else differs with the apt cache: labels, tag, target.
 */
export function buildOptions(req: BuildRequest, transport: Record<string, string>): Docker.ImageBuildOptions {
  return {
    t: req.tag,
    dockerfile: req.dockerfile,
    buildargs: { ...transport, ...req.buildArgs },
    labels: req.labels ?? {},
    target: req.target,
    rm: true,
    forcerm: true,
    pull: false,
  };
}

export async function buildImage(docker: Docker, req: BuildRequest): Promise<string> {
  // A build's step containers are the daemon's (unlabelled): a dead client's connection drops and the daemon cancels them.
  await claimContainers(docker);
  // A Dockerfile the builder cannot read is the builder's error to report, with its own words.
  const dockerfileText = await readFile(join(req.contextDir, req.dockerfile), 'utf8').catch(() => '');
  const transport = transportBuildArgs(await aptProxyFor('docker', { docker, endpoint: dockerEndpoint() }), declaredArgs(parseDockerfile(dockerfileText)));
  const limit = req.timeLimit ?? containerTimeLimit();
  const src = await readdir(req.contextDir);
  const abort = new AbortController();
  let runningContainer: string | undefined;
  // An aborted request makes the daemon cancel the build; removing the step container is the belt to those braces.
  const stop = async () => {
    abort.abort();
    if (runningContainer)
      await docker
        .getContainer(runningContainer)
        .remove({ force: true })
        .catch(() => undefined);
  };
  const cancel = onInterrupt(stop);
  let step: { index: number; total: number; text: string } | undefined;
  const tail: string[] = [];
  let imageId: string | undefined;
  let shortId: string | undefined;
  const during = () => (step ? `during step ${step.index}/${step.total} (\`${step.text}\`)` : `during the build of ${req.tag}`);
  /** A failure of the step is the Dockerfile's (BuildStepError); a lost engine or a signal is not. */
  const failure = async (err: Error) => {
    const culprit = await blamed(docker, err, during(), buildStepExitCode(err.message));
    return culprit === err ? new BuildStepError(err.message, step, tail.slice()) : culprit;
  };
  try {
    const stream = await docker.buildImage({ context: req.contextDir, src }, {
      ...buildOptions(req, transport),
      abortSignal: abort.signal,
    } as Docker.ImageBuildOptions);
    const progress = followProgress(docker, stream, (e) => {
      if (e.stream) {
        req.onOutput(e.stream);
        for (const line of e.stream.split('\n')) {
          if (!line.trim()) continue;
          tail.push(line);
          if (tail.length > TAIL_LINES) tail.shift();
          const s = /^Step (\d+)\/(\d+) : (.*)$/.exec(line);
          if (s) step = { index: Number(s[1]), total: Number(s[2]), text: s[3] };
          const r = /^ ---> Running in ([0-9a-f]+)/.exec(line);
          if (r) runningContainer = r[1];
          const built = /^Successfully built ([0-9a-f]+)$/.exec(line.trim());
          if (built) shortId = built[1];
        }
      }
      if (e.aux?.ID) imageId = e.aux.ID;
    });
    if ((await withinTimeLimit(progress, limit, stop)).timedOut) {
      throw timeLimitError(`the build of ${req.tag} (${during()})`, limit, raiseContainerLimit(limit));
    }
  } catch (err) {
    if (err instanceof PharosError) throw err;
    throw await failure(err as Error);
  } finally {
    runningContainer = undefined;
    await cancel();
  }
  // The builder's own word for what it built: the tag may already name another image (another workspace, another run).
  if (imageId) return imageId;
  // An engine that sends no aux ID still prints the short ID, which is an ID and not a name anyone can move.
  const info = shortId
    ? await inspectImage(docker, shortId).catch(async (err: Error) => {
        throw await failure(err);
      })
    : undefined;
  if (!info) throw new BuildStepError(`the build of ${req.tag} finished without naming the image it built`, step, tail);
  return info.Id;
}

/** Writes `docker save` of `ref` to `dest`, hashing as it goes. An image ID as `ref` saves that image with no tags. */
export async function saveImage(docker: Docker, ref: string, dest: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const source = (await docker.getImage(ref).get()) as unknown as Readable;
  source.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  await pipeline(source, createWriteStream(dest, { mode: 0o644 }));
  return { sha256: hash.digest('hex'), bytes };
}

export async function loadImage(docker: Docker, archive: string): Promise<void> {
  const stream = await docker.loadImage(createReadStream(archive), { quiet: true });
  await followProgress(docker, stream, () => undefined);
}

/**
 * Tries a registry pull, and answers the ID of the image it pulled; false (not an exception) when no registry answers,
 * which is normal at air-gapped sites. The ID is found by the digest the registry sent, not by the name: another run
 * can point the name at another image between the pull and the lookup.
 */
export async function tryPull(docker: Docker, ref: string, onOutput: (t: string) => void): Promise<{ ok: boolean; id?: string; reason?: string }> {
  let events: ProgressEvent[];
  try {
    const stream = await docker.pull(ref);
    events = await followProgress(docker, stream, (e) => {
      if (e.status && !e.progress) onOutput(`${e.id ? `${e.id}: ` : ''}${e.status}\n`);
    });
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  const digest = pulledDigest(events.map((e) => e.status ?? ''));
  if (!digest) return { ok: false, reason: `the registry sent no digest for ${ref}` };
  const info = await inspectImage(docker, digestReference(ref, digest));
  return info ? { ok: true, id: info.Id } : { ok: false, reason: `no image in the daemon has the digest ${digest} the registry sent for ${ref}` };
}

/** `docker import` of a root filesystem tar stream. */
export async function importRootfs(docker: Docker, tar: Readable, ref: string, changes: string[]): Promise<string> {
  const at = ref.lastIndexOf(':');
  const stream = await docker.importImage(
    tar as unknown as NodeJS.ReadableStream,
    {
      repo: ref.slice(0, at),
      tag: ref.slice(at + 1),
      changes,
    } as object,
  );
  const events = await followProgress(docker, stream, () => undefined);
  const id = events.map((e) => e.status).find((s) => s?.startsWith('sha256:'));
  if (!id) throw new Error(`docker import of ${ref} returned no image id`);
  return id;
}

export interface ContainerSpec {
  image: string;
  cmd?: string[];
  entrypoint?: string[];
  env?: Record<string, string>;
  workingDir?: string;
  user?: string;
  binds?: string[];
  devices?: string[];
  securityOpt?: string[];
  /** `docker run --security-opt systempaths=unconfined` (which the Engine API spells as empty masked and read-only paths). */
  unmaskedProc?: boolean;
  groupAdd?: string[];
  labels?: Record<string, string>;
  tty?: boolean;
  interactive?: boolean;
  network?: string;
  hostname?: string;
  /** What the container does, for messages (`check "slow"`); default: its command. */
  what?: string;
  /** How long it may run, in ms; default containerTimeLimit() (PHAROS_CONTAINER_TIMEOUT, else 4h); Infinity for none. */
  timeLimit?: number;
  /** How a user raises `timeLimit`, shown when it expires. */
  raiseLimit?: string;
  /** It runs apt: it gets the apt cache (tools/apt-cache.ts) as http_proxy in its environment, unless network is none. */
  aptCache?: boolean;
}

export interface ContainerIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin?: NodeJS.ReadableStream;
}

/**
 * Runs a container to completion like `docker run --rm --init`, streaming its output. The container is removed on
 * exit, on error, on Ctrl-C and when its time limit expires, so nothing is left running; it carries its owner's labels
 * so that even a kill -9 of this process leaves nothing the next run does not remove. Answers the exit code; throws
 * when the time limit expired, the engine went away or a signal stopped the run, each saying so.
 */
export async function runContainer(docker: Docker, spec: ContainerSpec, io: ContainerIO): Promise<number> {
  const owned = await claimContainers(docker);
  const what = spec.what ?? describeCommand([...(spec.entrypoint ?? []), ...(spec.cmd ?? [])]);
  const limit = spec.timeLimit ?? containerTimeLimit();
  const during = `while ${what} ran`;
  const aptProxy = spec.aptCache && spec.network !== 'none' ? await aptProxyFor('docker', { docker, endpoint: dockerEndpoint() }) : undefined;
  const container = await docker
    .createContainer({
      Image: spec.image,
      Cmd: spec.cmd,
      Entrypoint: spec.entrypoint,
      Env: Object.entries(withAptProxyEnv(spec.env, aptProxy) ?? {}).map(([k, v]) => `${k}=${v}`),
      WorkingDir: spec.workingDir,
      Hostname: spec.hostname,
      User: spec.user,
      Labels: { ...spec.labels, ...owned },
      Tty: !!spec.tty,
      OpenStdin: !!spec.interactive,
      StdinOnce: !!spec.interactive,
      AttachStdin: !!spec.interactive,
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: {
        Init: true,
        Binds: spec.binds,
        Devices: (spec.devices ?? []).map((d) => ({ PathOnHost: d, PathInContainer: d, CgroupPermissions: 'rwm' })),
        SecurityOpt: spec.securityOpt,
        ...(spec.unmaskedProc ? { MaskedPaths: [], ReadonlyPaths: [] } : {}),
        GroupAdd: spec.groupAdd,
        NetworkMode: spec.network,
      },
    })
    .catch(async (err: Error) => {
      throw await blamed(docker, err, during);
    });
  const forceRemove = () => container.remove({ force: true }).catch(() => undefined);
  const remove = onInterrupt(forceRemove);
  let stopResizing = () => undefined as void;
  try {
    const stream = await container.attach({ stream: true, stdout: true, stderr: true, stdin: !!spec.interactive, hijack: !!spec.interactive });
    const ended = new Promise<void>((resolve) =>
      stream
        .on('end', resolve)
        .on('close', resolve)
        .on('error', () => resolve()),
    );
    if (spec.tty) stream.pipe(io.stdout);
    else docker.modem.demuxStream(stream, io.stdout, io.stderr);
    if (spec.interactive && io.stdin) io.stdin.pipe(stream);
    await container.start();
    stopResizing = spec.tty ? followTerminalSize(container, io.stdout) : () => undefined;
    const waited = await withinTimeLimit(container.wait() as Promise<{ StatusCode: number }>, limit, forceRemove);
    if (waited.timedOut) throw timeLimitError(what, limit, spec.raiseLimit ?? raiseContainerLimit(limit));
    await ended;
    const code = waited.value.StatusCode;
    // Killed (128+): by the engine going down or by our own Ctrl-C cleanup, rather than by the command's own failure?
    if (code >= 128 || interruptSignal()) {
      const culprit = await blamed(docker, new Error(''), during, code);
      if (culprit instanceof PharosError) throw culprit;
    }
    return code;
  } catch (err) {
    if (err instanceof PharosError) throw err;
    throw await blamed(docker, err as Error, during);
  } finally {
    stopResizing();
    if (spec.interactive && io.stdin) io.stdin.unpipe();
    await remove();
  }
}

/** Keeps an interactive container's terminal the size of ours. */
function followTerminalSize(container: Docker.Container, out: NodeJS.WritableStream): () => void {
  const tty = out as NodeJS.WriteStream;
  if (!tty.isTTY) return () => undefined;
  const resize = () => void container.resize({ h: tty.rows, w: tty.columns }).catch(() => undefined);
  resize();
  process.on('SIGWINCH', resize);
  return () => void process.off('SIGWINCH', resize);
}

/** A stream that keeps what is written to it, and optionally passes it on as it comes. */
export function outputCollector(echo?: NodeJS.WritableStream): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  return {
    stream: new Writable({
      write(chunk, _enc, cb) {
        chunks.push(Buffer.from(chunk));
        echo?.write(chunk);
        cb();
      },
    }),
    text: () => Buffer.concat(chunks).toString(),
  };
}

export interface CapturedRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** runContainer, keeping stdout and stderr apart; `echo` also shows both as they come. */
export async function runContainerCaptured(docker: Docker, spec: ContainerSpec, echo?: NodeJS.WritableStream): Promise<CapturedRun> {
  const out = outputCollector(echo);
  const err = outputCollector(echo);
  const exitCode = await runContainer(docker, spec, { stdout: out.stream, stderr: err.stream });
  return { exitCode, stdout: out.text(), stderr: err.text() };
}

export async function removeContainer(docker: Docker, id: string): Promise<void> {
  await docker.getContainer(id).remove({ force: true });
}

/**
 * `docker image rm <ref>` without pruning parents: a tag is untagged (the image goes with its last tag, unless a
 * container uses it); an ID removes an untagged image.
 */
export async function removeImage(docker: Docker, ref: string): Promise<void> {
  await docker.getImage(ref).remove({ noprune: true });
}

import type Docker from 'dockerode';
import { connect } from 'node:net';
import { isLoopback } from '../utils/address';
import { PharosError } from '../utils/errors';

/**
 * The apt cache (docs/apt-cache.md): an HTTP proxy for apt, Debian's apt-cacher-ng, which host setup starts on
 * 127.0.0.1:3142 and on the Docker bridge. Every apt client Pharos runs fetches through it: debootstrap on the host,
 * Docker builds and the suite containers, and Packer's QEMU guests. It is transport only: it decides where packages
 * come from, never what they are, so it is never a cache input. A build gets it only as one of Docker's predefined
 * proxy build args, which Docker keeps out of the image and its build cache; a container or a guest only in its
 * environment.
 */

export const APT_PROXY_ENV = 'PHAROS_APT_PROXY';
export const APT_CACHE_PORT = 3142;
export const DEFAULT_APT_PROXY = `http://127.0.0.1:${APT_CACHE_PORT}`;
/** The address a QEMU user-mode (slirp) guest reaches the host's loopback at. */
export const SLIRP_HOST_ADDRESS = '10.0.2.2';

/** Who fetches: a process on the host, a Docker build or container on the default bridge, a QEMU guest. */
export type AptClient = 'host' | 'docker' | 'qemu';

export interface AptProxySetting {
  url: URL;
  /** Set in PHAROS_APT_PROXY: then a proxy that does not answer is an error. The default is used only when it answers. */
  explicit: boolean;
}

const OFF_NEXT = `or set ${APT_PROXY_ENV}=off to fetch from the Debian mirror directly`;

/** PHAROS_APT_PROXY: unset (the default, when it answers), `off`, or an http:// URL. */
export function aptProxySetting(value: string | undefined): AptProxySetting | undefined {
  const text = value?.trim();
  if (!text) return { url: new URL(DEFAULT_APT_PROXY), explicit: false };
  if (text.toLowerCase() === 'off') return undefined;
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || url.protocol !== 'http:' || !url.hostname || url.pathname !== '/' || url.search || url.hash)
    throw new PharosError(`${APT_PROXY_ENV}=${text} is not the URL of an apt proxy`, {
      step: 'apt cache',
      next: `set it to http://<host>:<port> (the default is ${DEFAULT_APT_PROXY}), ${OFF_NEXT}`,
    });
  return { url, explicit: true };
}

/** A URL as a message may show it: without credentials, without the trailing slash. */
export function shownProxy(url: URL | string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return u.href.replace(/\/$/, '');
}

export interface AptProxyRoute {
  /** What the client is given, e.g. `http://172.17.0.1:3142`. */
  proxy: string;
  /** Where this host checks that the proxy answers (for a guest, the loopback address slirp forwards to). */
  probe: { host: string; port: number };
}

/**
 * The proxy a client of this kind must use. A proxy on loopback is this host's: a Docker container reaches it at the
 * default bridge's gateway (undefined when there is none: a remote engine), a slirp guest at 10.0.2.2. Any other
 * address is the same for every client.
 */
export function clientRoute(url: URL, client: AptClient, dockerGateway: string | undefined): AptProxyRoute | undefined {
  const port = Number(url.port || 80);
  const probeHost = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const at = (host: string) => {
    const moved = new URL(url.href);
    moved.hostname = host;
    return moved.href.replace(/\/$/, '');
  };
  if (!isLoopback(url.host) || client === 'host') return { proxy: url.href.replace(/\/$/, ''), probe: { host: probeHost, port } };
  if (client === 'qemu') return { proxy: at(SLIRP_HOST_ADDRESS), probe: { host: probeHost, port } };
  return dockerGateway ? { proxy: at(dockerGateway), probe: { host: dockerGateway, port } } : undefined;
}

export interface AptProxyDecision {
  proxy?: string;
  error?: PharosError;
  /** Said once: the default cache runs, but this kind of client cannot reach it. */
  note?: string;
}

const CLIENTS: Record<AptClient, string> = { host: 'this host', docker: 'Docker containers', qemu: 'QEMU guests' };

/**
 * Whether a client uses the proxy. A configured proxy that does not answer is an error at once (apt would otherwise
 * retry each file for minutes); the default, when nothing answers, is no proxy and no word: today's direct fetch.
 * `hostAnswers`: whether the default answers on loopback, for a Docker client that cannot reach it on the bridge.
 */
export function decideAptProxy(
  setting: AptProxySetting | undefined,
  client: AptClient,
  route: AptProxyRoute | undefined,
  answers: boolean,
  hostAnswers = false,
): AptProxyDecision {
  if (!setting) return {};
  if (route && answers) return { proxy: route.proxy };
  const shown = shownProxy(setting.url);
  if (setting.explicit) {
    const message = route
      ? `the apt cache ${shown} (${APT_PROXY_ENV}) does not answer${route.probe.host === setting.url.hostname ? '' : ` at ${route.probe.host}:${route.probe.port}, where ${CLIENTS[client]} reach it`}`
      : `the apt cache ${shown} (${APT_PROXY_ENV}) is on this host's loopback, and ${CLIENTS[client]} cannot reach it: the Docker engine runs elsewhere or has no default bridge`;
    return {
      error: new PharosError(message, {
        step: 'apt cache',
        next: route ? `start it (npm run setup starts one on 127.0.0.1:${APT_CACHE_PORT}), ${OFF_NEXT}` : `set it to an address containers reach, ${OFF_NEXT}`,
      }),
    };
  }
  // An engine elsewhere (route undefined) never reaches this host's default cache: nothing to say.
  if (!hostAnswers || !route) return {};
  return {
    note: `the apt cache at ${shown} answers, but not where ${CLIENTS[client]} reach it (${route.probe.host}:${route.probe.port}); they fetch from the Debian mirror directly (npm run setup restarts it to listen there)`,
  };
}

/** Whether something accepts a TCP connection at host:port within the time. */
export function tcpAnswers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The default bridge's IPv4 gateway, from the engine's `network inspect bridge`. */
export function bridgeGateway(network: { IPAM?: { Config?: Array<{ Gateway?: string }> | null } }): string | undefined {
  return (network.IPAM?.Config ?? []).map((c) => c.Gateway).find((g): g is string => !!g && /^\d{1,3}(?:\.\d{1,3}){3}$/.test(g));
}

/** Whether the engine runs on this host, so that its bridge's gateway is one of this host's addresses. */
export function engineIsLocal(endpoint: string): boolean {
  if (/^(unix|npipe):/.test(endpoint)) return true;
  try {
    return isLoopback(new URL(endpoint).host);
  } catch {
    return false;
  }
}

export interface DockerEngine {
  docker: Docker;
  /** DOCKER_HOST or the default socket. */
  endpoint: string;
}

async function dockerGateway(engine: DockerEngine | undefined): Promise<string | undefined> {
  if (!engine || !engineIsLocal(engine.endpoint)) return undefined;
  try {
    return bridgeGateway(await engine.docker.getNetwork('bridge').inspect());
  } catch {
    return undefined;
  }
}

const decided = new Map<string, Promise<string | undefined>>();

/**
 * The proxy a client of this kind is given (undefined: fetch directly), decided once per process, setting and engine:
 * the check is one TCP connect. Throws when PHAROS_APT_PROXY is set and the proxy does not answer.
 */
export function aptProxyFor(client: AptClient, engine?: DockerEngine): Promise<string | undefined> {
  const value = process.env[APT_PROXY_ENV];
  const key = `${client}\0${value ?? ''}\0${client === 'docker' ? (engine?.endpoint ?? '') : ''}`;
  let decision = decided.get(key);
  if (!decision) {
    decision = (async () => {
      const setting = aptProxySetting(value);
      if (!setting) return undefined;
      const route = clientRoute(setting.url, client, client === 'docker' ? await dockerGateway(engine) : undefined);
      const answers = route ? await tcpAnswers(route.probe.host, route.probe.port) : false;
      const own = clientRoute(setting.url, 'host', undefined) as AptProxyRoute;
      const hostAnswers = !answers && !setting.explicit && client === 'docker' && !!route && (await tcpAnswers(own.probe.host, own.probe.port));
      const d = decideAptProxy(setting, client, route, answers, hostAnswers);
      if (d.error) throw d.error;
      if (d.note) process.stdout.write(`pharos: ${d.note}\n`);
      return d.proxy;
    })();
    decided.set(key, decision);
  }
  return decision;
}

/**
 * Docker's predefined proxy build args (moby builder/dockerfile/buildargs.go, builtinAllowedBuildArgs). Passed without
 * an ARG for them in the Dockerfile, the classic builder keeps their values out of the image's history and out of the
 * key it looks its build cache up by (dispatchers.go, prependEnvOnCmd: "These args are transparent so resulting image
 * should be the same regardless of the value"), and BuildKit out of its cache key (ExecOp.CacheMap sets ProxyEnv to nil).
 */
export const PREDEFINED_PROXY_ARGS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy'];

/** Never through the proxy: this host itself. */
const NO_PROXY = 'localhost,127.0.0.1';

/**
 * The build args that carry the apt cache into a build's RUN steps: http_proxy (what apt reads) when there is one,
 * and no_proxy always. Always, because the classic builder prefixes the saved command of every RUN in a build given any
 * build arg with `|<n>` (`|0` when all are predefined ones), so a build with the proxy and one without would differ in
 * that mark. A Dockerfile that declares one of them (`ARG http_proxy`) makes its value part of the image: it gets none.
 */
export function transportBuildArgs(proxy: string | undefined, dockerfileArgs: string[]): Record<string, string> {
  if (dockerfileArgs.some((name) => PREDEFINED_PROXY_ARGS.includes(name))) return {};
  return { no_proxy: NO_PROXY, ...(proxy ? { http_proxy: proxy } : {}) };
}

/** A container's environment with the apt cache, unless the caller set http_proxy itself. */
export function withAptProxyEnv(env: Record<string, string> | undefined, proxy: string | undefined): Record<string, string> | undefined {
  if (!proxy || (env && 'http_proxy' in env)) return env;
  return { ...env, http_proxy: proxy };
}

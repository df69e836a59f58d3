import type Docker from 'dockerode';
import { createServer, type Server } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { PharosError } from '../utils/errors';
import {
  APT_PROXY_ENV,
  aptProxyFor,
  aptProxySetting,
  bridgeGateway,
  clientRoute,
  decideAptProxy,
  engineIsLocal,
  PREDEFINED_PROXY_ARGS,
  shownProxy,
  tcpAnswers,
  transportBuildArgs,
  withAptProxyEnv,
  type AptClient,
} from './apt-cache';
import { buildOptions, type BuildRequest } from './docker';

const url = (u: string) => new URL(u);

describe('PHAROS_APT_PROXY', () => {
  it('is the default when unset, nothing when off, and a URL otherwise', () => {
    expect(aptProxySetting(undefined)).toEqual({ url: url('http://127.0.0.1:3142'), explicit: false });
    expect(aptProxySetting('  ')).toEqual({ url: url('http://127.0.0.1:3142'), explicit: false });
    expect(aptProxySetting('off')).toBeUndefined();
    expect(aptProxySetting('OFF')).toBeUndefined();
    expect(aptProxySetting('http://cache.site.example:3142/')).toEqual({ url: url('http://cache.site.example:3142'), explicit: true });
  });

  it('refuses what is not an http proxy URL, naming the variable and the way out', () => {
    for (const bad of ['127.0.0.1:3142', 'https://cache.example:3142', 'http://cache.example:3142/debian', 'http://']) {
      expect(() => aptProxySetting(bad)).toThrow(PharosError);
      expect(() => aptProxySetting(bad)).toThrow(new RegExp(`^${APT_PROXY_ENV}=`));
    }
  });

  it('never shows credentials', () => {
    expect(shownProxy('http://ann:secret@cache.example:3142/')).toBe('http://cache.example:3142');
  });
});

describe('the address each client uses', () => {
  const loopback = url('http://127.0.0.1:3142');
  it('moves a loopback proxy to the bridge gateway for Docker and to slirp 10.0.2.2 for QEMU', () => {
    expect(clientRoute(loopback, 'host', '172.17.0.1')).toEqual({ proxy: 'http://127.0.0.1:3142', probe: { host: '127.0.0.1', port: 3142 } });
    expect(clientRoute(loopback, 'docker', '172.17.0.1')).toEqual({ proxy: 'http://172.17.0.1:3142', probe: { host: '172.17.0.1', port: 3142 } });
    // The guest's address is slirp's; this host checks the loopback slirp forwards it to.
    expect(clientRoute(loopback, 'qemu', undefined)).toEqual({ proxy: 'http://10.0.2.2:3142', probe: { host: '127.0.0.1', port: 3142 } });
    expect(clientRoute(url('http://localhost:3142'), 'qemu', undefined)?.proxy).toBe('http://10.0.2.2:3142');
    expect(clientRoute(url('http://[::1]:3142'), 'docker', '172.18.0.1')?.proxy).toBe('http://172.18.0.1:3142');
  });

  it('has no route for a container when the engine has no bridge here', () => {
    expect(clientRoute(loopback, 'docker', undefined)).toBeUndefined();
  });

  it('gives every client a proxy elsewhere as it is', () => {
    for (const client of ['host', 'docker', 'qemu'] as AptClient[])
      expect(clientRoute(url('http://cache.site.example:3142'), client, '172.17.0.1')).toEqual({
        proxy: 'http://cache.site.example:3142',
        probe: { host: 'cache.site.example', port: 3142 },
      });
  });

  it("reads the default bridge's gateway and knows a local engine", () => {
    expect(bridgeGateway({ IPAM: { Config: [{ Gateway: 'fd00::1' }, { Gateway: '172.17.0.1' }] } })).toBe('172.17.0.1');
    expect(bridgeGateway({ IPAM: { Config: null } })).toBeUndefined();
    expect(bridgeGateway({})).toBeUndefined();
    for (const e of ['unix:///var/run/docker.sock', 'tcp://127.0.0.1:2375', 'tcp://localhost:2376']) expect(engineIsLocal(e)).toBe(true);
    for (const e of ['tcp://build.site.example:2376', 'ssh://me@build.site.example', 'nonsense']) expect(engineIsLocal(e)).toBe(false);
  });
});

describe('deciding', () => {
  const def = aptProxySetting(undefined);
  const set = aptProxySetting('http://127.0.0.1:3142');
  const route = { proxy: 'http://172.17.0.1:3142', probe: { host: '172.17.0.1', port: 3142 } };

  it('uses a proxy that answers, configured or default', () => {
    expect(decideAptProxy(def, 'docker', route, true)).toEqual({ proxy: 'http://172.17.0.1:3142' });
    expect(decideAptProxy(set, 'docker', route, true)).toEqual({ proxy: 'http://172.17.0.1:3142' });
    expect(decideAptProxy(undefined, 'docker', route, true)).toEqual({});
  });

  it('says nothing and fetches directly when the default does not answer anywhere', () => {
    expect(decideAptProxy(def, 'host', { proxy: 'http://127.0.0.1:3142', probe: { host: '127.0.0.1', port: 3142 } }, false)).toEqual({});
    expect(decideAptProxy(def, 'docker', undefined, false)).toEqual({});
  });

  it('says once that containers cannot reach a default cache that answers on loopback only', () => {
    expect(decideAptProxy(def, 'docker', route, false, true).note).toMatch(/answers, but not where Docker containers reach it \(172\.17\.0\.1:3142\)/);
    // An engine elsewhere has no route to this host's default cache: it fetches directly, unremarked.
    expect(decideAptProxy(def, 'docker', undefined, false, true)).toEqual({});
  });

  it('fails at once when the configured proxy does not answer, naming the variable and off', () => {
    const { error } = decideAptProxy(set, 'docker', route, false);
    expect(error?.format()).toBe(
      [
        'pharos: apt cache: the apt cache http://127.0.0.1:3142 (PHAROS_APT_PROXY) does not answer at 172.17.0.1:3142, where Docker containers reach it',
        '  next: start it (npm run setup starts one on 127.0.0.1:3142), or set PHAROS_APT_PROXY=off to fetch from the Debian mirror directly',
      ].join('\n'),
    );
    expect(decideAptProxy(set, 'docker', undefined, false).error?.message).toMatch(
      /cannot reach it: the Docker engine runs elsewhere or has no default bridge/,
    );
  });
});

describe('aptProxyFor, against a real socket', () => {
  let server: Server;
  let port = 0;
  let closedPort = 0;
  const saved = process.env[APT_PROXY_ENV];
  beforeAll(async () => {
    server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    closedPort = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
  });
  afterAll(() => new Promise((r) => server.close(r)));
  afterEach(() => {
    if (saved === undefined) delete process.env[APT_PROXY_ENV];
    else process.env[APT_PROXY_ENV] = saved;
  });

  const engine = (gateway: string | undefined) => ({
    endpoint: 'unix:///var/run/docker.sock',
    docker: { getNetwork: () => ({ inspect: async () => ({ IPAM: { Config: gateway ? [{ Gateway: gateway }] : [] } }) }) } as unknown as Docker,
  });

  it('checks with one TCP connect', async () => {
    expect(await tcpAnswers('127.0.0.1', port)).toBe(true);
    expect(await tcpAnswers('127.0.0.1', closedPort)).toBe(false);
  });

  it('gives each client its address of a proxy that answers', async () => {
    process.env[APT_PROXY_ENV] = `http://127.0.0.1:${port}`;
    expect(await aptProxyFor('host')).toBe(`http://127.0.0.1:${port}`);
    expect(await aptProxyFor('qemu')).toBe(`http://10.0.2.2:${port}`);
    // A stand-in gateway this host answers on.
    expect(await aptProxyFor('docker', engine('127.0.0.1'))).toBe(`http://127.0.0.1:${port}`);
  });

  it('fails fast when the configured proxy does not answer, and gives nothing when off', async () => {
    process.env[APT_PROXY_ENV] = `http://127.0.0.1:${closedPort}`;
    const started = Date.now();
    await expect(aptProxyFor('host')).rejects.toThrow(`the apt cache http://127.0.0.1:${closedPort} (PHAROS_APT_PROXY) does not answer`);
    expect(Date.now() - started).toBeLessThan(2000);
    await expect(aptProxyFor('docker', engine(undefined))).rejects.toThrow(/no default bridge/);
    process.env[APT_PROXY_ENV] = 'off';
    expect(await aptProxyFor('host')).toBeUndefined();
  });

  it('does not ask a remote engine for its bridge', async () => {
    process.env[APT_PROXY_ENV] = `http://127.0.0.1:${port}`;
    const inspect = vi.fn();
    const remote = { endpoint: 'tcp://build.site.example:2376', docker: { getNetwork: () => ({ inspect }) } as unknown as Docker };
    await expect(aptProxyFor('docker', remote)).rejects.toThrow(/no default bridge/);
    expect(inspect).not.toHaveBeenCalled();
  });
});

describe('what a build and a container are given', () => {
  const proxy = 'http://172.17.0.1:3142';

  it("passes Docker's predefined proxy args only, the same set with or without a proxy but http_proxy", () => {
    expect(transportBuildArgs(proxy, [])).toEqual({ no_proxy: 'localhost,127.0.0.1', http_proxy: proxy });
    expect(transportBuildArgs(undefined, ['DEBIAN_FRONTEND'])).toEqual({ no_proxy: 'localhost,127.0.0.1' });
    for (const name of Object.keys(transportBuildArgs(proxy, []))) expect(PREDEFINED_PROXY_ARGS).toContain(name);
  });

  it('gives a Dockerfile that declares a proxy arg nothing: the value would be in its image', () => {
    expect(transportBuildArgs(proxy, ['http_proxy'])).toEqual({});
    expect(transportBuildArgs(proxy, ['NO_PROXY'])).toEqual({});
  });

  it('changes no label, tag or target of a build, and no build arg but http_proxy', () => {
    const req: BuildRequest = {
      contextDir: '/c',
      dockerfile: 'Dockerfile',
      tag: 'pharos/x:latest',
      buildArgs: { VERSION: '1' },
      labels: { 'org.pharos.project': 'x' },
      onOutput: () => undefined,
    };
    const through = buildOptions(req, transportBuildArgs(proxy, []));
    const direct = buildOptions(req, transportBuildArgs(undefined, []));
    const { buildargs: a, ...restThrough } = through;
    const { buildargs: b, ...restDirect } = direct;
    expect(restThrough).toEqual(restDirect);
    expect(through.labels).toEqual({ 'org.pharos.project': 'x' });
    expect(a).toEqual({ ...b, http_proxy: proxy });
    // The Dockerfile's own build args win over the transport's.
    expect(buildOptions({ ...req, buildArgs: { http_proxy: 'http://mine.example:8080' } }, transportBuildArgs(proxy, [])).buildargs?.http_proxy).toBe(
      'http://mine.example:8080',
    );
  });

  it("puts it in a container's environment unless the container sets http_proxy itself", () => {
    expect(withAptProxyEnv({ A: '1' }, proxy)).toEqual({ A: '1', http_proxy: proxy });
    expect(withAptProxyEnv(undefined, proxy)).toEqual({ http_proxy: proxy });
    expect(withAptProxyEnv({ http_proxy: 'http://mine.example:8080' }, proxy)).toEqual({ http_proxy: 'http://mine.example:8080' });
    expect(withAptProxyEnv({ A: '1' }, undefined)).toEqual({ A: '1' });
  });
});

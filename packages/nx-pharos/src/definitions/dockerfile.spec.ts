import { describe, expect, it } from 'vitest';
import { baseImages, digestReference, normalizeImageRef, parseDockerfile, pinBaseImages, pulledDigest, substituteArgs } from './dockerfile';

describe('parseDockerfile', () => {
  it('keeps the start line of each instruction across continuations and comments', () => {
    const parsed = parseDockerfile('# comment\nFROM debian:trixie\n\nRUN apt-get update \\\n  # inline comment\n  && apt-get install -y x\nCOPY a /b\n');
    expect(parsed.errors).toEqual([]);
    expect(parsed.instructions.map((i) => [i.keyword, i.line, i.lastLine])).toEqual([
      ['FROM', 2, 2],
      ['RUN', 4, 6],
      ['COPY', 7, 7],
    ]);
    expect(parsed.instructions[1].args.replace(/\s+/g, ' ')).toBe('apt-get update && apt-get install -y x');
  });

  it('reports an unknown instruction with its line', () => {
    expect(parseDockerfile('FROM a\nRUNN echo\n').errors).toEqual([{ line: 2, message: 'unknown instruction: RUNN' }]);
  });

  it('requires FROM first (ARG may come before it)', () => {
    expect(parseDockerfile('ARG X=1\nFROM a\n').errors).toEqual([]);
    expect(parseDockerfile('RUN true\nFROM a\n').errors[0]).toMatchObject({ line: 1 });
    expect(parseDockerfile('# only a comment\n').errors[0].message).toBe('no FROM instruction');
  });

  it('honours the escape directive and skips heredoc bodies', () => {
    const parsed = parseDockerfile('# escape=`\nFROM a\nRUN echo `\n  b\nRUN <<EOF\nnot an instruction\nEOF\nUSER x\n');
    expect(parsed.errors).toEqual([]);
    expect(parsed.instructions.map((i) => i.keyword)).toEqual(['FROM', 'RUN', 'RUN', 'USER']);
  });
});

describe('baseImages', () => {
  it('substitutes global ARGs and build args, and skips stages and scratch', () => {
    const parsed = parseDockerfile(
      'ARG SUITE=bookworm\nFROM debian:${SUITE} AS build\nFROM build AS again\nFROM scratch\nFROM --platform=linux/amd64 pharos/base-tools\n',
    );
    expect(baseImages(parsed).map((r) => [r.ref, r.line])).toEqual([
      ['debian:bookworm', 2],
      ['pharos/base-tools', 5],
    ]);
    expect(baseImages(parsed, { SUITE: 'trixie' })[0].ref).toBe('debian:trixie');
  });
});

describe('pinBaseImages', () => {
  const A = `sha256:${'a'.repeat(64)}`;
  const B = `sha256:${'b'.repeat(64)}`;
  /** Pins each external FROM the way the docker-image executor does: by the line baseImages reports. */
  const pin = (text: string, ids: string[], buildArgs: Record<string, string> = {}) => {
    const parsed = parseDockerfile(text);
    return pinBaseImages(text, parsed, new Map(baseImages(parsed, buildArgs).map((r, n) => [r.line, ids[n]])));
  };

  it('replaces the image of each external FROM and keeps flags, stage names and stages built on stages', () => {
    const text =
      'FROM pharos/base-tools:latest AS build\nRUN make\nFROM build AS test\nFROM --platform=linux/amd64 debian:trixie\nCOPY --from=build /a /a\nFROM scratch\n';
    expect(pin(text, [A, B])).toBe(
      `FROM ${A} AS build\nRUN make\nFROM build AS test\nFROM --platform=linux/amd64 ${B}\nCOPY --from=build /a /a\nFROM scratch\n`,
    );
  });

  it('pins a FROM spelled with build arguments to the image they chose', () => {
    const text = 'ARG BASE=debian\nARG SUITE=bookworm\nFROM ${BASE}:${SUITE} AS base\nFROM base\n';
    const parsed = parseDockerfile(text);
    expect(baseImages(parsed, { SUITE: 'trixie' }).map((r) => r.ref)).toEqual(['debian:trixie']);
    expect(pin(text, [A], { SUITE: 'trixie' })).toBe(`ARG BASE=debian\nARG SUITE=bookworm\nFROM ${A} AS base\nFROM base\n`);
  });

  it("keeps every line number, so messages still name the line of the user's file", () => {
    const text = '# syntax note\nfrom \\\n  # the base\n  pharos/x:latest \\\n  as one\r\nRUN false\r\n';
    const pinned = pin(text, [A]);
    expect(pinned).toBe(`# syntax note\nFROM ${A} as one\n\n\n\r\nRUN false\r\n`);
    expect(parseDockerfile(pinned).instructions.map((i) => [i.keyword, i.line])).toEqual(parseDockerfile(text).instructions.map((i) => [i.keyword, i.line]));
  });

  it('leaves a Dockerfile with nothing to pin as it was', () => {
    const text = 'FROM scratch\nCOPY a /a\n';
    expect(pin(text, [])).toBe(text);
  });
});

describe('substituteArgs and normalizeImageRef', () => {
  it('expands the forms the builder accepts', () => {
    expect(substituteArgs('${A:-x}-$B-${C:+y}', { B: 'b', C: '1' })).toBe('x-b-y');
  });
  it('adds :latest only where no tag or digest is given', () => {
    expect(normalizeImageRef('debian')).toBe('debian:latest');
    expect(normalizeImageRef('localhost:5000/a/b')).toBe('localhost:5000/a/b:latest');
    expect(normalizeImageRef('a@sha256:00')).toBe('a@sha256:00');
    expect(normalizeImageRef('debian:trixie')).toBe('debian:trixie');
  });
});

describe('pulled images by digest', () => {
  const D = `sha256:${'c'.repeat(64)}`;
  it('reads the digest a pull reports', () => {
    expect(pulledDigest(['trixie: Pulling from library/debian', 'Pull complete', `Digest: ${D}`, 'Status: Downloaded newer image for debian:trixie'])).toBe(D);
    expect(pulledDigest(['Status: Image is up to date for debian:trixie'])).toBeUndefined();
  });
  it('names the repository at that digest, whatever tag or digest the reference had', () => {
    expect(digestReference('debian:trixie', D)).toBe(`debian@${D}`);
    expect(digestReference('localhost:5000/site/debian', D)).toBe(`localhost:5000/site/debian@${D}`);
    expect(digestReference('localhost:5000/site/debian:12', D)).toBe(`localhost:5000/site/debian@${D}`);
    expect(digestReference(`debian@sha256:${'0'.repeat(64)}`, D)).toBe(`debian@${D}`);
  });
});

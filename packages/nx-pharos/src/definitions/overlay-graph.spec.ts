import { describe, expect, it } from 'vitest';
import { parseBuildScript } from './build-script';
import { overlayClosure, resolveDependency, resolveOverlayGraph, type OverlayNode } from './overlay-graph';

/** A node from a script whose header is `deps`, one #DEP per line from line 2. */
function node(key: string, ...deps: string[]): OverlayNode {
  const [name, version] = key.split('/');
  const file = `containers/overlays/${key}.sh`;
  const script = parseBuildScript(`#!/usr/bin/bash\n${deps.map((d) => `#DEP:${d}`).join('\n')}\ninstall() {\n}\n`, file);
  return { name, version, file, deps: script.deps };
}

const messages = (nodes: OverlayNode[]) => resolveOverlayGraph(nodes).errors.map((e) => [e.details.file, e.details.line, e.message]);

describe('resolveDependency', () => {
  it('takes the version named, or the newest from the minimum up to it, ordered as sort -V orders', () => {
    const versions = ['1.9', '1.10', '1.21', '1.22'];
    expect(resolveDependency({ version: '1.10' }, versions)).toBe('1.10');
    expect(resolveDependency({ version: '1.11' }, versions)).toBeUndefined();
    expect(resolveDependency({ version: '1.21', range: { op: '>=', min: '1.9' } }, versions)).toBe('1.21');
    expect(resolveDependency({ version: '1.20', range: { op: '>=', min: '1.9' } }, versions)).toBe('1.10');
    expect(resolveDependency({ version: '1.20', range: { op: '>', min: '1.10' } }, versions)).toBeUndefined();
    expect(resolveDependency({ version: '1.30', range: { op: '>=', min: '1.22' } }, versions)).toBe('1.22');
  });
});

describe('resolveOverlayGraph', () => {
  const tree = [
    node('toy-genome/1.0', 'samtools/1.21>=1.10'),
    node('samtools/1.21', 'htslib/1.22>=1.10 # links libhts'),
    node('htslib/1.9'),
    node('htslib/1.10'),
    node('htslib/1.21'),
    node('bwa/0.7.17', 'htslib/1.21', 'htslib/1.21>=1.9'),
  ];

  it('resolves each #DEP to one script of the tree, and orders dependencies first', () => {
    const graph = resolveOverlayGraph(tree);
    expect(graph.errors).toEqual([]);
    expect(graph.edges).toEqual([
      { source: 'bwa/0.7.17', target: 'htslib/1.21', file: 'containers/overlays/bwa/0.7.17.sh', line: 2, dep: 'htslib/1.21' },
      { source: 'samtools/1.21', target: 'htslib/1.21', file: 'containers/overlays/samtools/1.21.sh', line: 2, dep: 'htslib/1.22>=1.10' },
      { source: 'toy-genome/1.0', target: 'samtools/1.21', file: 'containers/overlays/toy-genome/1.0.sh', line: 2, dep: 'samtools/1.21>=1.10' },
    ]);
    expect(graph.order).toEqual(['htslib/1.9', 'htslib/1.10', 'htslib/1.21', 'bwa/0.7.17', 'samtools/1.21', 'toy-genome/1.0']);
    expect(graph.depsOf['bwa/0.7.17']).toEqual(['htslib/1.21']);
  });

  it('gives the overlays to mount with one, dependencies first', () => {
    const graph = resolveOverlayGraph(tree);
    expect(overlayClosure(graph, 'toy-genome/1.0')).toEqual(['htslib/1.21', 'samtools/1.21']);
    expect(overlayClosure(graph, 'htslib/1.9')).toEqual([]);
  });

  it('names the script and line of a #DEP no script provides', () => {
    expect(messages([node('samtools/1.21', 'zlib/1.3', 'htslib/1.20'), node('htslib/1.21'), node('htslib/1.9')])).toEqual([
      ['containers/overlays/samtools/1.21.sh', 2, '#DEP:zlib/1.3: no script provides zlib (there is no containers/overlays/zlib/)'],
      ['containers/overlays/samtools/1.21.sh', 3, '#DEP:htslib/1.20: no script provides htslib/1.20; the tree has htslib 1.9, 1.21'],
    ]);
  });

  it('lists the versions that exist when a range is not met', () => {
    const graph = resolveOverlayGraph([node('samtools/1.21', 'htslib/1.20>=1.10'), node('htslib/1.9'), node('htslib/1.21')]);
    expect(graph.errors.map((e) => e.message)).toEqual([
      '#DEP:htslib/1.20>=1.10: no version of htslib from 1.10 up to 1.20 is in the tree; the tree has htslib 1.9, 1.21',
    ]);
    expect(graph.errors[0].details.next).toBe('add containers/overlays/htslib/1.20.sh, or widen the range to a version the tree has');
    expect(messages([node('a/1', 'b/3>2'), node('b/2')])[0][2]).toBe('#DEP:b/3>2: no version of b above 2 up to 3 is in the tree; the tree has b 2');
    // The overlay with the bad #DEP is still ordered; the plugin reports the error on its project.
    expect(graph.order).toEqual(['htslib/1.9', 'htslib/1.21', 'samtools/1.21']);
  });

  it('names every member of a cycle in order, and leaves the cycle out of the order', () => {
    const graph = resolveOverlayGraph([node('c/1', 'a/1'), node('a/1', 'b/1'), node('b/1', 'c/1'), node('d/1', 'a/1'), node('e/1')]);
    expect(graph.errors).toHaveLength(1);
    expect(graph.errors[0].message).toBe('#DEP cycle: a/1 → b/1 → c/1 → a/1');
    expect(graph.errors[0].details).toMatchObject({ file: 'containers/overlays/a/1.sh', line: 2 });
    expect(graph.errors[0].details.next).toBe(
      'an overlay cannot be built before itself; remove one of these #DEP lines: ' +
        'containers/overlays/a/1.sh:2 #DEP:b/1, containers/overlays/b/1.sh:2 #DEP:c/1, containers/overlays/c/1.sh:2 #DEP:a/1',
    );
    expect(graph.order).toEqual(['e/1']);
  });

  it('reports a script that depends on itself, and each of two cycles once', () => {
    expect(messages([node('a/1', 'a/1>=0')])).toEqual([['containers/overlays/a/1.sh', 2, '#DEP cycle: a/1 → a/1']]);
    expect(messages([node('a/1', 'b/1'), node('b/1', 'a/1', 'c/1'), node('c/1', 'b/1')]).map((m) => m[2])).toEqual([
      '#DEP cycle: a/1 → b/1 → a/1',
      '#DEP cycle: b/1 → c/1 → b/1',
    ]);
  });

  it('refuses two scripts for one name/version', () => {
    const twice = { ...node('a/1'), file: 'containers/overlays/a/1.def' };
    expect(messages([node('a/1'), twice])).toEqual([
      ['containers/overlays/a/1.sh', undefined, 'containers/overlays/a/1.sh and containers/overlays/a/1.def are both a/1'],
    ]);
  });
});

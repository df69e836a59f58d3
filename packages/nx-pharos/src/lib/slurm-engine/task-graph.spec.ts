import { describe, expect, it } from 'vitest';
import { PharosError } from '../../utils/errors';
import { chainOrder, readTaskGraph, type TaskGraph, splitChain } from './task-graph';

/**
 * An abbreviated copy of what Nx 22.6 wrote for `nx run-many -t test --projects=tag:overlay --graph=x.json` in this
 * workspace (project nodes, outputs and taskPlans cut down; the shape is as written).
 */
function task(project: string, target: string, extra: Record<string, unknown> = {}) {
  return {
    id: `${project}:${target}`,
    target: { project, target },
    projectRoot: `containers/${project}`,
    overrides: { __overrides_unparsed__: [] },
    outputs: [],
    cache: true,
    parallelism: true,
    continuous: false,
    ...extra,
  };
}

const NX_GRAPH = {
  graph: { nodes: { 'htslib-1.16': { name: 'htslib-1.16', type: 'app', data: { root: 'containers/overlays/htslib/1.16.sh' } } }, dependencies: {} },
  tasks: {
    roots: ['debian-bookworm:image', 'debian-trixie:image'],
    tasks: Object.fromEntries(
      [
        task('htslib-1.16', 'test'),
        task('htslib-1.16', 'overlay'),
        task('overlay-build-base', 'sif'),
        task('overlay-build-base', 'image'),
        task('debian-bookworm', 'image'),
        task('dev-container', 'image'),
        task('debian-trixie', 'image'),
      ].map((t) => [t.id, t]),
    ),
    dependencies: {
      'htslib-1.16:test': ['htslib-1.16:overlay', 'overlay-build-base:sif', 'dev-container:image'],
      'htslib-1.16:overlay': ['overlay-build-base:sif', 'dev-container:image'],
      'overlay-build-base:sif': ['overlay-build-base:image', 'dev-container:image'],
      'overlay-build-base:image': ['debian-bookworm:image'],
      'debian-bookworm:image': [],
      'dev-container:image': ['debian-trixie:image'],
      'debian-trixie:image': [],
    },
    continuousDependencies: { 'htslib-1.16:test': [] },
  },
  taskPlans: { 'htslib-1.16:test': ['AllExternalDependencies'] },
};

function graphOf(deps: Record<string, string[]>): TaskGraph {
  const ids = [...new Set([...Object.keys(deps), ...Object.values(deps).flat()])];
  return {
    tasks: new Map(ids.map((id) => [id, { project: id, target: 'build' }])),
    dependencies: new Map(ids.map((id) => [id, deps[id] ?? []])),
  };
}

function errorOf(fn: () => unknown): PharosError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PharosError);
    return err as PharosError;
  }
  throw new Error('expected an error');
}

describe('readTaskGraph', () => {
  it('reads the tasks and dependencies of the graph Nx writes', () => {
    const graph = readTaskGraph(NX_GRAPH);
    expect(graph.tasks.size).toBe(7);
    expect(graph.tasks.get('htslib-1.16:overlay')).toEqual({ project: 'htslib-1.16', target: 'overlay' });
    expect(graph.dependencies.get('overlay-build-base:sif')).toEqual(['overlay-build-base:image', 'dev-container:image']);
    expect(graph.dependencies.get('debian-trixie:image')).toEqual([]);
  });

  it("keeps a task's configuration, and gives a task that Nx lists no dependencies for none", () => {
    const json = {
      graph: {},
      tasks: {
        tasks: { 'app:build:prod': task('app', 'build', { id: 'app:build:prod', target: { project: 'app', target: 'build', configuration: 'prod' } }) },
        dependencies: {},
      },
    };
    const graph = readTaskGraph(json);
    expect(graph.tasks.get('app:build:prod')).toEqual({ project: 'app', target: 'build', configuration: 'prod' });
    expect(graph.dependencies.get('app:build:prod')).toEqual([]);
  });

  it('says which Nx command writes a graph when the JSON is something else', () => {
    const err = errorOf(() => readTaskGraph({ nodes: {} }, 'tmp/g.json'));
    expect(err.message).toContain('not an Nx graph file');
    expect(err.details.file).toBe('tmp/g.json');
    expect(err.details.next).toContain('nx run-many -t <target> --graph=<file>.json');
  });

  it('says that a graph without tasks comes from a command that named no target', () => {
    expect(errorOf(() => readTaskGraph({ graph: NX_GRAPH.graph })).message).toContain('names a target (-t <target>)');
  });

  it.each([
    ['tasks not an object', { graph: {}, tasks: [] }, '"tasks" is not'],
    ['no dependencies', { graph: {}, tasks: { tasks: {} } }, '"tasks" is not'],
    ['a task under another id', { graph: {}, tasks: { tasks: { 'a:b': task('a', 'c') }, dependencies: {} } }, 'task "a:b" is not'],
    ['a task without its target', { graph: {}, tasks: { tasks: { 'a:b': { id: 'a:b' } }, dependencies: {} } }, 'task "a:b" is not'],
    [
      'a numeric configuration',
      { graph: {}, tasks: { tasks: { 'a:b': task('a', 'b', { target: { project: 'a', target: 'b', configuration: 1 } }) }, dependencies: {} } },
      'configuration that is not a string',
    ],
    ['dependencies of an unknown task', { graph: {}, tasks: { tasks: {}, dependencies: { 'x:y': [] } } }, 'names task "x:y"'],
    ['a dependency on an unknown task', { graph: {}, tasks: { tasks: { 'a:b': task('a', 'b') }, dependencies: { 'a:b': ['x:y'] } } }, 'depends on "x:y"'],
    ['dependencies not a list', { graph: {}, tasks: { tasks: { 'a:b': task('a', 'b') }, dependencies: { 'a:b': 'x:y' } } }, 'not a list of task ids'],
  ])('refuses %s', (_, json, message) => {
    expect(errorOf(() => readTaskGraph(json)).message).toContain(message);
  });
});

describe('chainOrder', () => {
  it('puts every task after all its dependencies, ties by id', () => {
    const order = chainOrder(readTaskGraph(NX_GRAPH));
    expect(order.map((s) => s.id)).toEqual([
      'debian-bookworm:image',
      'debian-trixie:image',
      'dev-container:image',
      'overlay-build-base:image',
      'overlay-build-base:sif',
      'htslib-1.16:overlay',
      'htslib-1.16:test',
    ]);
    expect(order.find((s) => s.id === 'htslib-1.16:test')).toEqual({
      id: 'htslib-1.16:test',
      task: { project: 'htslib-1.16', target: 'test' },
      after: ['dev-container:image', 'htslib-1.16:overlay', 'overlay-build-base:sif'],
    });
    expect(order[0].after).toEqual([]);
  });

  it('gives the same order whatever order the graph lists its tasks in', () => {
    const deps = { d: ['b', 'c'], b: ['a'], c: ['a'], e: [] };
    const reversed = Object.fromEntries(Object.entries(deps).reverse());
    expect(chainOrder(graphOf(deps)).map((s) => s.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(chainOrder(graphOf(reversed)).map((s) => s.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('orders an empty graph as an empty chain', () => {
    expect(chainOrder(graphOf({}))).toEqual([]);
  });

  it('names the members of a cycle, not the tasks that only wait on it', () => {
    const err = errorOf(() => chainOrder(graphOf({ a: [], b: ['a', 'd'], c: ['b'], d: ['c'], e: ['d'] })));
    expect(err.message).toBe('the task graph has a cycle (each task depends on the next): b → d → c → b');
    expect(err.details.step).toBe('order the tasks');
  });

  it('names a task that depends on itself', () => {
    expect(errorOf(() => chainOrder(graphOf({ a: ['a'] }))).message).toBe('the task graph has a cycle (each task depends on the next): a → a');
  });
});

describe('splitChain', () => {
  const step = (id: string, executor: string, after: string[] = []) => {
    const [project, target] = id.split(':');
    return { id, task: { project, target, executor }, after };
  };
  const JOBS = new Set(['@pharos/nx-plugin:overlay']);

  it('keeps Docker-based and no-op tasks here, and the jobs waiting only for jobs', () => {
    const order = [
      step('b:image', 'x:docker-image'),
      step('h:overlay', '@pharos/nx-plugin:overlay', ['b:image']),
      step('s:overlay', '@pharos/nx-plugin:overlay', ['h:overlay', 'b:image']),
    ];
    const { local, jobs } = splitChain(order, JOBS);
    expect(local.map((s) => s.id)).toEqual(['b:image']);
    expect(jobs.map((s) => [s.id, s.after])).toEqual([
      ['h:overlay', []],
      ['s:overlay', ['h:overlay']],
    ]);
  });

  it('refuses a task that runs here but depends on a job, naming both', () => {
    const order = [step('h:overlay', '@pharos/nx-plugin:overlay'), step('vm:image', 'x:packer-image', ['h:overlay'])];
    expect(() => splitChain(order, JOBS)).toThrow(
      'vm:image runs here (its executor, x:packer-image, cannot run as a Slurm job) but depends on h:overlay, which runs as one',
    );
  });
});

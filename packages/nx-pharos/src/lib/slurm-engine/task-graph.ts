import { PharosError } from '../../utils/errors';

/**
 * The task graph Nx writes with `--graph=<file>.json` (`nx run-many`, `nx affected`, `nx run`), read for
 * `pharos submit`, which turns it into a chain of Slurm jobs. Nx 22 writes `{ graph, tasks, taskPlans }`; only `tasks`
 * matters here, and only when the command named a target (without one Nx leaves it out):
 *
 *   tasks: { roots: [id…], tasks: { <id>: { id, target: { project, target, configuration? }, … } },
 *            dependencies: { <id>: [id…] }, continuousDependencies: { <id>: [id…] } }
 *
 * Nx has already removed its internal placeholder tasks from `dependencies`, so every id there names a task.
 */

/** What `nx run` needs to run one task of the graph. */
export interface GraphTask {
  project: string;
  target: string;
  configuration?: string;
  /** The target's executor, from the project graph beside the tasks (`@pharos/nx-plugin:overlay`). */
  executor?: string;
}

export interface TaskGraph {
  tasks: Map<string, GraphTask>;
  /** Every task's id → the ids of the tasks it depends on (`[]` when none). */
  dependencies: Map<string, string[]>;
}

/** One job of the chain: a task and the tasks whose jobs must complete before it may start. */
export interface ChainStep {
  id: string;
  task: GraphTask;
  after: string[];
}

const STEP = 'read the task graph';
const NEXT = 'write it with Nx 22: nx run-many -t <target> --graph=<file>.json (or nx affected -t <target> …, or nx run <project>:<target> …)';

function shapeError(message: string, file?: string): PharosError {
  return new PharosError(message, { step: STEP, next: NEXT, ...(file ? { file } : {}) });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readTask(id: string, raw: unknown, file?: string): GraphTask {
  const target = isRecord(raw) ? raw.target : undefined;
  if (!isRecord(raw) || raw.id !== id || !isRecord(target) || typeof target.project !== 'string' || typeof target.target !== 'string')
    throw shapeError(`task "${id}" is not { id: "${id}", target: { project, target } }`, file);
  if (target.configuration !== undefined && typeof target.configuration !== 'string')
    throw shapeError(`task "${id}" has a configuration that is not a string`, file);
  return { project: target.project, target: target.target, ...(target.configuration ? { configuration: target.configuration } : {}) };
}

/** The executor of a task's target, as the project graph of the same file names it (absent when it does not). */
function withExecutor(task: GraphTask, graph: unknown): GraphTask {
  const nodes = isRecord(graph) && isRecord(graph.nodes) ? graph.nodes : {};
  const node = nodes[task.project];
  const targets = isRecord(node) && isRecord(node.data) && isRecord(node.data.targets) ? node.data.targets : {};
  const target = targets[task.target];
  return isRecord(target) && typeof target.executor === 'string' ? { ...task, executor: target.executor } : task;
}

/** The tasks and their dependencies from the JSON of an Nx `--graph=<file>.json`; `file` names it in errors. */
export function readTaskGraph(json: unknown, file?: string): TaskGraph {
  if (!isRecord(json) || !isRecord(json.graph)) throw shapeError('this is not an Nx graph file (no "graph" object at its top)', file);
  const raw = json.tasks;
  if (raw === undefined) throw shapeError('the graph file holds no tasks: Nx writes them only when the command names a target (-t <target>)', file);
  if (!isRecord(raw) || !isRecord(raw.tasks) || !isRecord(raw.dependencies))
    throw shapeError('"tasks" is not { tasks: {…}, dependencies: {…} } as Nx 22 writes it', file);

  const tasks = new Map(Object.entries(raw.tasks).map(([id, task]) => [id, withExecutor(readTask(id, task, file), json.graph)] as const));
  const dependencies = new Map<string, string[]>([...tasks.keys()].map((id) => [id, []]));
  for (const [id, deps] of Object.entries(raw.dependencies)) {
    if (!tasks.has(id)) throw shapeError(`"dependencies" names task "${id}", which "tasks" lacks`, file);
    if (!Array.isArray(deps) || deps.some((d) => typeof d !== 'string')) throw shapeError(`the dependencies of "${id}" are not a list of task ids`, file);
    const missing = deps.find((d) => !tasks.has(d as string));
    if (missing !== undefined) throw shapeError(`"${id}" depends on "${missing}", which "tasks" lacks`, file);
    dependencies.set(id, [...new Set(deps as string[])]);
  }
  return { tasks, dependencies };
}

/** Code-unit order, the same on every machine and locale. */
function byId(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A cycle among `left` (tasks none of whose turn came): each has a dependency in `left`, so following one ends in a loop. */
function findCycle(left: Set<string>, dependencies: Map<string, string[]>): string[] {
  const path: string[] = [];
  let at = [...left].sort(byId)[0];
  while (!path.includes(at)) {
    path.push(at);
    at = (dependencies.get(at) ?? []).filter((d) => left.has(d)).sort(byId)[0];
  }
  return [...path.slice(path.indexOf(at)), at];
}

/**
 * The tasks in the order their jobs are submitted: each after all its dependencies (whose job ids its
 * `--dependency=afterok:` needs), ties broken by id so the same graph always gives the same chain.
 */
export function chainOrder(graph: TaskGraph): ChainStep[] {
  const waitingOn = new Map([...graph.tasks.keys()].map((id) => [id, new Set(graph.dependencies.get(id) ?? [])]));
  const dependents = new Map<string, string[]>();
  for (const [id, deps] of waitingOn) for (const d of deps) dependents.set(d, [...(dependents.get(d) ?? []), id]);

  const ready = [...waitingOn].filter(([, deps]) => deps.size === 0).map(([id]) => id);
  const order: ChainStep[] = [];
  while (ready.length) {
    ready.sort(byId);
    const id = ready.shift() as string;
    order.push({ id, task: graph.tasks.get(id) as GraphTask, after: [...(graph.dependencies.get(id) ?? [])].sort(byId) });
    waitingOn.delete(id);
    for (const next of dependents.get(id) ?? []) {
      const deps = waitingOn.get(next) as Set<string>;
      deps.delete(id);
      if (deps.size === 0) ready.push(next);
    }
  }
  if (waitingOn.size) {
    const cycle = findCycle(new Set(waitingOn.keys()), graph.dependencies);
    throw new PharosError(`the task graph has a cycle (each task depends on the next): ${cycle.join(' → ')}`, {
      step: 'order the tasks',
      next: "break the cycle in the targets' dependsOn or the projects' dependencies (nx graph shows them)",
    });
  }
  return order;
}

/**
 * The chain split in two: the tasks that can run as Slurm jobs (their work runs in Apptainer: `jobCapable` names their
 * executors), and the rest (Docker-based, or no work at all), which run here first, before any job is submitted. A job
 * only waits for the jobs of its graph dependencies; what runs here has ended by then. A task that must run here but
 * depends on one that runs as a job cannot be ordered so, and is an error naming both.
 */
export function splitChain(order: ChainStep[], jobCapable: ReadonlySet<string>): { local: ChainStep[]; jobs: ChainStep[] } {
  const asJob = new Set(order.filter((s) => s.task.executor && jobCapable.has(s.task.executor)).map((s) => s.id));
  const local = order.filter((s) => !asJob.has(s.id));
  for (const s of local) {
    const jobDep = s.after.find((d) => asJob.has(d));
    if (jobDep)
      throw new PharosError(
        `${s.id} runs here (its executor, ${s.task.executor ?? 'none'}, cannot run as a Slurm job) but depends on ${jobDep}, which runs as one`,
        {
          step: 'order the tasks',
          next: `build ${jobDep} first (nx run ${jobDep}), then submit the rest`,
        },
      );
  }
  const jobs = order.filter((s) => asJob.has(s.id)).map((s) => ({ ...s, after: s.after.filter((d) => asJob.has(d)) }));
  return { local, jobs };
}

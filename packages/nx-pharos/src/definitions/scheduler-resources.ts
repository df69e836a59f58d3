import { PharosError } from '../utils/errors';

/**
 * The `#SBATCH`, `#PBS` and `#BSUB` lines of an overlay build script, read into one resource spec. Scripts written for
 * condatainer say what a build needs in whichever scheduler's words their author knew; Pharos needs one answer (how
 * many CPUs `install()` gets, how much memory, how long), so the three are mapped onto one shape, and a flag whose
 * meaning Pharos cannot carry over is an error that names its line rather than a guess. Flags about everything else
 * (job name, partition, account, mail, output files) are kept apart, as written, for a scheduler that wants them.
 *
 * Units follow each scheduler's documentation: Slurm `--time` is minutes, minutes:seconds, hours:minutes:seconds or
 * days-hours[:minutes[:seconds]] (sbatch(1)); PBS `walltime` is seconds or [[hours:]minutes:]seconds
 * (pbs_resources(7B)); LSF `-W` is [hour:]minute (bsub -W). Pure: lines in, data out.
 */

export type Scheduler = 'slurm' | 'pbs' | 'lsf';

export const SCHEDULER_PREFIXES: Record<Scheduler, string> = { slurm: '#SBATCH', pbs: '#PBS', lsf: '#BSUB' };

/** What a build asks for. Memory and GPUs are per node, as Slurm's `--mem` and `--gres` count them. */
export interface ResourceSpec {
  nodes?: number;
  /** Tasks in the whole job (Slurm `--ntasks`). */
  tasks?: number;
  cpusPerTask?: number;
  memoryMiB?: number;
  /** Rounded up to whole minutes, as Slurm rounds seconds. */
  timeMinutes?: number;
  gpus?: number;
  /** A GPU model named with the count (`--gres=gpu:a100:2`, LSF `gmodel=`). */
  gpuType?: string;
}

/** A flag Pharos does not map, kept as written: `--partition` `short`. Slurm's short flags are given their long name. */
export interface SchedulerOption {
  flag: string;
  value?: string;
  line: number;
}

export interface SchedulerDirectives {
  resources: ResourceSpec;
  other: Record<Scheduler, SchedulerOption[]>;
}

/** One directive line: the text after its prefix (`#SBATCH`), trailing comment included. */
export interface DirectiveLine {
  scheduler: Scheduler;
  text: string;
  line: number;
}

/** The CPUs `install()` gets on its node ($NCPUS), or undefined when the script does not say. */
export function buildCpus(spec: ResourceSpec): number | undefined {
  if (spec.cpusPerTask === undefined && spec.tasks === undefined) return undefined;
  return (spec.cpusPerTask ?? 1) * Math.ceil((spec.tasks ?? 1) / (spec.nodes ?? 1));
}

export const RESOURCES_DOC = 'docs/overlays.md#scheduler-directives';

type Quantity =
  'nodes' | 'tasks' | 'tasksPerNode' | 'cpusPerTask' | 'timeMinutes' | 'gpuType' | 'memPerNode' | 'memPerCpu' | 'memPerJob' | 'gpusPerNode' | 'gpusPerJob';

const LABEL: Record<Quantity, string> = {
  nodes: 'the node count',
  tasks: 'the task count',
  tasksPerNode: 'the tasks per node',
  cpusPerTask: 'the CPUs per task',
  timeMinutes: 'the time limit (minutes)',
  gpuType: 'the GPU model',
  memPerNode: 'the memory per node (MiB)',
  memPerCpu: 'the memory per CPU (MiB)',
  memPerJob: 'the memory of the whole job (MiB)',
  gpusPerNode: 'the GPUs per node',
  gpusPerJob: 'the GPUs of the whole job',
};

interface Fact {
  value: number | string;
  line: number;
  /** The directive as written, for messages: `#SBATCH --mem=8G`. */
  as: string;
}

/** Where a flag is being read, for its error. */
interface At {
  file: string;
  line: number;
  as: string;
}

function fail(at: At, message: string, next = `see ${RESOURCES_DOC} for the flags Pharos maps and the ones it keeps apart`): never {
  throw new PharosError(`${at.as}: ${message}`, { file: at.file, line: at.line, next });
}

class Facts {
  private readonly facts = new Map<Quantity, Fact>();

  constructor(private readonly file: string) {}

  put(quantity: Quantity, value: number | string, at: At): void {
    const had = this.facts.get(quantity);
    if (had && had.value !== value) {
      throw new PharosError(`${at.as} sets ${LABEL[quantity]} to ${value}, but line ${had.line} (${had.as}) set it to ${had.value}`, {
        file: this.file,
        line: at.line,
        next: 'keep one of the two lines',
      });
    }
    if (!had) this.facts.set(quantity, { value, line: at.line, as: at.as });
  }

  get(quantity: Quantity): Fact | undefined {
    return this.facts.get(quantity);
  }

  num(quantity: Quantity): number | undefined {
    return this.facts.get(quantity)?.value as number | undefined;
  }
}

/** Shell words of a directive, quotes removed; an unquoted `#` ends the line, as condatainer strips trailing comments. */
function directiveWords(text: string, at: At): string[] {
  const out: string[] = [];
  let word = '';
  let inWord = false;
  let quote: string | null = null;
  for (let k = 0; k < text.length; k++) {
    const c = text[k];
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && k + 1 < text.length) word += text[++k];
      else word += c;
      continue;
    }
    if (c === '#') break;
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && k + 1 < text.length) {
      word += text[++k];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) fail(at, `a ${quote} quote is not closed`, 'close the quote on the same line');
  if (inWord) out.push(word);
  return out;
}

function positive(value: string, what: string, at: At): number {
  if (!/^\d+$/.test(value) || Number(value) === 0) fail(at, `${what} must be a whole number above 0, not "${value}"`);
  return Number(value);
}

const MIB_PER: Record<string, number> = { K: 1 / 1024, M: 1, G: 1024, T: 1024 ** 2, P: 1024 ** 3, E: 1024 ** 4 };

function mib(amount: number, unit: string): number {
  return Math.ceil(amount * MIB_PER[unit]);
}

/** Slurm sizes: a number of MiB, or K, M, G, T (1024-based). */
function slurmMemory(value: string, at: At): number {
  const m = /^(\d+)([KMGT])?$/i.exec(value);
  if (!m) fail(at, `"${value}" is not a Slurm size such as 8000 (MiB), 8G or 512M`);
  if (Number(m[1]) === 0)
    fail(at, 'a size of 0 asks Slurm for all of a node’s memory, which Pharos cannot size a build by', 'give the memory the build needs, e.g. --mem=8G');
  return mib(Number(m[1]), (m[2] ?? 'M').toUpperCase());
}

/** sbatch --time: minutes, minutes:seconds, hours:minutes:seconds, days-hours, days-hours:minutes, days-hours:minutes:seconds. */
export function slurmTimeMinutes(value: string): number | undefined {
  let seconds: number;
  const days = /^(\d+)-(\d+)(?::(\d+)(?::(\d+))?)?$/.exec(value);
  const clock = /^(\d+)(?::(\d+))?(?::(\d+))?$/.exec(value);
  if (days) {
    const [d, h, m, s] = days.slice(1).map((v) => Number(v ?? 0));
    seconds = ((d * 24 + h) * 60 + m) * 60 + s;
  } else if (clock) {
    const parts = clock
      .slice(1)
      .filter((v) => v !== undefined)
      .map(Number);
    if (parts.length === 1) seconds = parts[0] * 60;
    else if (parts.length === 2) seconds = parts[0] * 60 + parts[1];
    else seconds = (parts[0] * 60 + parts[1]) * 60 + parts[2];
  } else return undefined;
  return seconds > 0 ? Math.ceil(seconds / 60) : undefined;
}

/** PBS walltime: an integer number of seconds, or [[hours:]minutes:]seconds[.milliseconds]. */
export function pbsTimeMinutes(value: string): number | undefined {
  const m = /^(?:(?:(\d+):)?(\d+):)?(\d+)(?:\.\d+)?$/.exec(value);
  if (!m) return undefined;
  const [h, min, s] = m.slice(1).map((v) => Number(v ?? 0));
  const seconds = (h * 60 + min) * 60 + s;
  return seconds > 0 ? Math.ceil(seconds / 60) : undefined;
}

/** bsub -W: [hour:]minute, optionally /host_name or /host_model for CPU normalisation (ignored). */
export function lsfTimeMinutes(value: string): number | undefined {
  const m = /^(?:(\d+):)?(\d+)(?:\/\S+)?$/.exec(value);
  if (!m) return undefined;
  const minutes = Number(m[1] ?? 0) * 60 + Number(m[2]);
  return minutes > 0 ? minutes : undefined;
}

function time(value: string, parse: (v: string) => number | undefined, example: string, at: At): number {
  const minutes = parse(value);
  if (minutes === undefined) {
    fail(at, `"${value}" is not a time limit Pharos can read (e.g. ${example}); a build needs a finite limit`);
  }
  return minutes;
}

/** `[type:]count` as Slurm's --gpus and --gpus-per-node take it. */
function gpuCount(value: string, per: 'gpusPerNode' | 'gpusPerJob', facts: Facts, at: At): void {
  const m = /^(?:([^:]+):)?(\d+)$/.exec(value);
  if (!m) fail(at, `"${value}" is not a GPU count such as 2 or a100:2`);
  facts.put(per, positive(m[2], 'the GPU count', at), at);
  if (m[1]) facts.put('gpuType', m[1], at);
}

/** --gres=gpu[:type][:count][,…]: only GPUs are a resource Pharos knows. */
function slurmGres(value: string, facts: Facts, at: At): void {
  for (const entry of value.split(',')) {
    const parts = entry.split(':');
    if (parts[0] !== 'gpu') {
      fail(at, `the generic resource "${parts[0]}" is not one Pharos can give a build (it maps gpu only)`);
    }
    const count = parts.length > 1 && /^\d+$/.test(parts[parts.length - 1]) ? parts.pop() : '1';
    if (parts.length > 2) fail(at, `"${entry}" is not gpu[:type][:count]`);
    facts.put('gpusPerNode', positive(count as string, 'the GPU count', at), at);
    if (parts[1]) facts.put('gpuType', parts[1], at);
  }
}

interface FlagRule {
  short?: string;
  /** `optional`: a value only as `--flag=value`. */
  value: 'required' | 'none' | 'optional';
  map?: (value: string, facts: Facts, at: At) => void;
}

const SLURM_FLAGS: Record<string, FlagRule> = {
  nodes: {
    short: 'N',
    value: 'required',
    map: (v, f, at) => {
      const range = /^(\d+)-(\d+)$/.exec(v);
      if (range && range[1] !== range[2]) fail(at, `a range of nodes (${v}) is not one number Pharos can build with`, 'give one node count, e.g. --nodes=1');
      f.put('nodes', positive(range ? range[1] : v, 'the node count', at), at);
    },
  },
  ntasks: { short: 'n', value: 'required', map: (v, f, at) => f.put('tasks', positive(v, 'the task count', at), at) },
  'ntasks-per-node': { value: 'required', map: (v, f, at) => f.put('tasksPerNode', positive(v, 'the tasks per node', at), at) },
  'cpus-per-task': { short: 'c', value: 'required', map: (v, f, at) => f.put('cpusPerTask', positive(v, 'the CPUs per task', at), at) },
  mem: { value: 'required', map: (v, f, at) => f.put('memPerNode', slurmMemory(v, at), at) },
  'mem-per-cpu': { value: 'required', map: (v, f, at) => f.put('memPerCpu', slurmMemory(v, at), at) },
  time: { short: 't', value: 'required', map: (v, f, at) => f.put('timeMinutes', time(v, slurmTimeMinutes, '30, 2:00:00 or 1-02:00:00', at), at) },
  gres: { value: 'required', map: (v, f, at) => slurmGres(v, f, at) },
  gpus: { short: 'G', value: 'required', map: (v, f, at) => gpuCount(v, 'gpusPerJob', f, at) },
  'gpus-per-node': { value: 'required', map: (v, f, at) => gpuCount(v, 'gpusPerNode', f, at) },
  // Kept apart: they say where and how a job runs, not what the build inside it needs.
  'job-name': { short: 'J', value: 'required' },
  output: { short: 'o', value: 'required' },
  error: { short: 'e', value: 'required' },
  input: { short: 'i', value: 'required' },
  partition: { short: 'p', value: 'required' },
  account: { short: 'A', value: 'required' },
  qos: { short: 'q', value: 'required' },
  'mail-type': { value: 'required' },
  'mail-user': { value: 'required' },
  constraint: { short: 'C', value: 'required' },
  comment: { value: 'required' },
  chdir: { short: 'D', value: 'required' },
  export: { value: 'required' },
  reservation: { value: 'required' },
  licenses: { short: 'L', value: 'required' },
  nodelist: { short: 'w', value: 'required' },
  exclude: { short: 'x', value: 'required' },
  begin: { short: 'b', value: 'required' },
  dependency: { short: 'd', value: 'required' },
  array: { short: 'a', value: 'required' },
  signal: { value: 'required' },
  'open-mode': { value: 'required' },
  wckey: { value: 'required' },
  priority: { value: 'required' },
  clusters: { short: 'M', value: 'required' },
  nice: { value: 'optional' },
  exclusive: { value: 'optional' },
  'no-kill': { short: 'k', value: 'optional' },
  'get-user-env': { value: 'optional' },
  requeue: { value: 'none' },
  'no-requeue': { value: 'none' },
  hold: { short: 'H', value: 'none' },
  oversubscribe: { short: 's', value: 'none' },
  contiguous: { value: 'none' },
  quiet: { short: 'Q', value: 'none' },
  verbose: { short: 'v', value: 'none' },
  parsable: { value: 'none' },
};

const SLURM_BY_SHORT = new Map(
  Object.entries(SLURM_FLAGS)
    .filter(([, r]) => r.short)
    .map(([long, r]) => [r.short as string, long]),
);

function flagsOf(rules: Record<string, FlagRule>, spell: (name: string) => string, mapped: boolean): string[] {
  return Object.entries(rules)
    .filter(([, r]) => Boolean(r.map) === mapped)
    .map(([name]) => spell(name));
}

function unknownFlag(scheduler: Scheduler, flag: string, at: At): never {
  const rules = { slurm: SLURM_FLAGS, pbs: PBS_FLAGS, lsf: LSF_FLAGS }[scheduler];
  const spell = scheduler === 'slurm' ? (n: string) => `--${n}` : (n: string) => `-${n}`;
  fail(
    at,
    `Pharos cannot map ${flag} to a build's resources`,
    `Pharos maps ${flagsOf(rules, spell, true).join(', ')}; flags about where and how the job runs ` +
      `(${flagsOf(rules, spell, false).slice(0, 3).join(', ')}, …) are kept apart. ` +
      `Remove the flag, or say what the build needs with the mapped ones (${RESOURCES_DOC} lists both)`,
  );
}

function readSlurm(words: string[], facts: Facts, other: SchedulerOption[], at: At): void {
  for (let k = 0; k < words.length; k++) {
    const word = words[k];
    let name: string | undefined;
    let value: string | undefined;
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      name = eq < 0 ? word.slice(2) : word.slice(2, eq);
      value = eq < 0 ? undefined : word.slice(eq + 1);
    } else if (/^-[A-Za-z]/.test(word)) {
      name = SLURM_BY_SHORT.get(word[1]);
      if (word.length > 2) value = word.slice(2);
    } else {
      fail(at, `"${word}" is not a flag`);
    }
    const rule = name === undefined ? undefined : SLURM_FLAGS[name];
    if (!rule || name === undefined) unknownFlag('slurm', word.split('=')[0], at);
    if (rule.value === 'none' && value !== undefined) fail(at, `--${name} takes no value`);
    if (rule.value === 'optional' && value !== undefined && !word.startsWith('--')) fail(at, `write --${name}=${value} for a value`);
    let written = word;
    if (rule.value === 'required' && value === undefined) {
      value = words[++k];
      if (value === undefined) fail(at, `--${name} needs a value`);
      written = `${word} ${value}`;
    }
    const flagAt = { ...at, as: `#SBATCH ${written}` };
    if (rule.map) rule.map(value as string, facts, flagAt);
    else other.push({ flag: `--${name}`, ...(value !== undefined ? { value } : {}), line: at.line });
  }
}

/** PBS sizes: an integer with b, kb, mb, gb, tb, pb or w, kw, mw, gw, tw, pw (8-byte words); 1024-based. */
function pbsMemory(value: string, at: At): number {
  const m = /^(\d+)([kmgtp]?)([bw])$/i.exec(value);
  if (!m) {
    fail(
      at,
      `"${value}" is not a PBS size with its unit, such as 8gb or 512mb`,
      'write the unit: a bare number means bytes to Torque and may mean another unit to PBS Professional, so Pharos does not guess',
    );
  }
  const bytes = Number(m[1]) * 1024 ** ' kmgtp'.indexOf(m[2].toLowerCase() || ' ') * (m[3].toLowerCase() === 'w' ? 8 : 1);
  return Math.ceil(bytes / 1024 ** 2);
}

/** A select chunk `[N]:ncpus=4:mem=8gb:ngpus=1:mpiprocs=2`: N chunks, each taken as one node. */
function pbsSelect(value: string, facts: Facts, other: SchedulerOption[], at: At): void {
  if (value.includes('+'))
    fail(at, 'chunks of different kinds (joined with +) do not map to one resource spec', 'ask for one kind of chunk: select=N:ncpus=…:mem=…');
  const parts = value.split(':');
  const chunks = /^\d+$/.test(parts[0]) ? positive(parts.shift() as string, 'the chunk count', at) : 1;
  const chunk: Record<string, string> = {};
  for (const part of parts) {
    const [key, v] = part.split('=', 2);
    if (v === undefined) fail(at, `"${part}" in select is not resource=value`);
    if (['host', 'vnode', 'arch', 'model', 'ompthreads'].includes(key)) other.push({ flag: '-l', value: `select:${key}=${v}`, line: at.line });
    else if (['ncpus', 'mem', 'ngpus', 'mpiprocs'].includes(key)) chunk[key] = v;
    else fail(at, `the chunk resource "${key}" is not one Pharos can map (it maps ncpus, mem, ngpus, mpiprocs)`);
  }
  const tasksPerChunk = chunk.mpiprocs === undefined ? 1 : positive(chunk.mpiprocs, 'mpiprocs', at);
  facts.put('nodes', chunks, at);
  facts.put('tasks', chunks * tasksPerChunk, at);
  if (chunk.ncpus !== undefined) {
    const cpus = positive(chunk.ncpus, 'ncpus', at);
    if (cpus % tasksPerChunk) fail(at, `ncpus=${cpus} does not divide among mpiprocs=${tasksPerChunk} tasks`);
    facts.put('cpusPerTask', cpus / tasksPerChunk, at);
  }
  if (chunk.mem !== undefined) facts.put('memPerNode', pbsMemory(chunk.mem, at), at);
  if (chunk.ngpus !== undefined) facts.put('gpusPerNode', positive(chunk.ngpus, 'ngpus', at), at);
}

/** Torque's nodes=N:ppn=M[:gpus=G]: M processors on each of N nodes, read as one task of M CPUs per node. */
function torqueNodes(value: string, facts: Facts, at: At): void {
  if (value.includes('+')) fail(at, 'node specs joined with + do not map to one resource spec', 'ask for one kind of node: nodes=N:ppn=M');
  const [count, ...props] = value.split(':');
  const nodes = positive(count, 'the node count', at);
  facts.put('nodes', nodes, at);
  facts.put('tasks', nodes, at);
  for (const prop of props) {
    const [key, v] = prop.split('=', 2);
    if (key === 'ppn' && v !== undefined) facts.put('cpusPerTask', positive(v, 'ppn', at), at);
    else if (key === 'gpus' && v !== undefined) facts.put('gpusPerNode', positive(v, 'gpus', at), at);
    else fail(at, `"${prop}" in nodes= is not one Pharos can map (it maps ppn= and gpus=)`);
  }
}

const PBS_RESOURCES: Record<string, ((v: string, facts: Facts, other: SchedulerOption[], at: At) => void) | 'other'> = {
  select: pbsSelect,
  nodes: (v, f, _o, at) => torqueNodes(v, f, at),
  walltime: (v, f, _o, at) => f.put('timeMinutes', time(v, pbsTimeMinutes, '3600 or 02:00:00', at), at),
  mem: (v, f, _o, at) => f.put('memPerJob', pbsMemory(v, at), at),
  ncpus: (v, f, _o, at) => f.put('cpusPerTask', positive(v, 'ncpus', at), at),
  ngpus: (v, f, _o, at) => f.put('gpusPerJob', positive(v, 'ngpus', at), at),
  procs: (v, f, _o, at) => f.put('tasks', positive(v, 'procs', at), at),
  place: 'other',
  host: 'other',
  arch: 'other',
  software: 'other',
  feature: 'other',
  naccesspolicy: 'other',
  qos: 'other',
};

function pbsResourceList(list: string, facts: Facts, other: SchedulerOption[], at: At): void {
  for (const item of list.split(',')) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    const handle = PBS_RESOURCES[key];
    if (eq < 0 || !handle) {
      fail(
        at,
        `the resource "${key}" is not one Pharos can map`,
        `Pharos maps ${Object.keys(PBS_RESOURCES)
          .filter((k) => PBS_RESOURCES[k] !== 'other')
          .join(', ')} and keeps ${Object.keys(PBS_RESOURCES)
          .filter((k) => PBS_RESOURCES[k] === 'other')
          .join(', ')} apart (${RESOURCES_DOC})`,
      );
    }
    const itemAt = { ...at, as: `#PBS -l ${item}` };
    if (handle === 'other') other.push({ flag: '-l', value: item, line: at.line });
    else handle(item.slice(eq + 1), facts, other, itemAt);
  }
}

// A `map` marks a flag as mapped for the error's list; -l (and LSF's -R and -gpu) mix mapped and kept-apart parts and
// are read by their own functions.
const PBS_FLAGS: Record<string, FlagRule> = {
  l: { value: 'required', map: () => undefined },
  N: { value: 'required' },
  q: { value: 'required' },
  A: { value: 'required' },
  P: { value: 'required' },
  M: { value: 'required' },
  m: { value: 'required' },
  o: { value: 'required' },
  e: { value: 'required' },
  j: { value: 'required' },
  k: { value: 'required' },
  W: { value: 'required' },
  r: { value: 'required' },
  S: { value: 'required' },
  v: { value: 'required' },
  J: { value: 'required' },
  p: { value: 'required' },
  a: { value: 'required' },
  c: { value: 'required' },
  u: { value: 'required' },
  d: { value: 'required' },
  V: { value: 'none' },
  h: { value: 'none' },
  z: { value: 'none' },
};

function readPbs(words: string[], facts: Facts, other: SchedulerOption[], at: At): void {
  for (let k = 0; k < words.length; k++) {
    const word = words[k];
    if (!/^-[A-Za-z]/.test(word)) fail(at, `"${word}" is not a flag`);
    const flag = word[1];
    const rule = PBS_FLAGS[flag];
    if (!rule) unknownFlag('pbs', `-${flag}`, at);
    let value = word.length > 2 ? word.slice(2) : undefined;
    if (rule.value === 'none' && value !== undefined) fail(at, `-${flag} takes no value`);
    if (rule.value === 'required' && value === undefined) {
      value = words[++k];
      if (value === undefined) fail(at, `-${flag} needs a value`);
    }
    if (flag === 'l') pbsResourceList(value as string, facts, other, at);
    else other.push({ flag: `-${flag}`, ...(value !== undefined ? { value } : {}), line: at.line });
  }
}

/** LSF sizes: a number with KB, MB, GB, TB, PB, EB (or K, M, …); a bare number is `fallback`. */
function lsfMemory(value: string, fallback: string | undefined, at: At): number {
  const m = /^(\d+)\s*([KMGTPE])?B?$/i.exec(value);
  if (!m) fail(at, `"${value}" is not an LSF size such as 8000 or 8GB`);
  const unit = m[2]?.toUpperCase() ?? fallback;
  if (!unit) {
    fail(at, `"${value}" has no unit, and the unit of -M depends on the site's LSF_UNIT_FOR_LIMITS (KB unless set)`, 'write the unit, e.g. -M 8GB');
  }
  return mib(Number(m[1]), unit);
}

/** rusage[mem=8000:ngpus_physical=1]: a memory reservation (MB unless a unit is given; per host unless /task or /job). */
function lsfRusage(content: string, facts: Facts, at: At): void {
  if (content.includes('||')) fail(at, 'alternative rusage strings (||) do not map to one resource spec');
  for (const item of content.split(/[,:]/).map((s) => s.trim())) {
    const [key, v] = item.split('=', 2);
    if (v === undefined) fail(at, `"${item}" in rusage[] is not resource=value`);
    if (key === 'mem') {
      const [amount, method = 'host'] = v.split('/', 2);
      const miB = lsfMemory(amount, 'M', at);
      if (method === 'host') facts.put('memPerNode', miB, at);
      else if (method === 'task') facts.put('memPerCpu', miB, at);
      else if (method === 'job') facts.put('memPerJob', miB, at);
      else fail(at, `"/${method}" is not /host, /task or /job`);
    } else if (key === 'ngpus_physical') {
      facts.put('gpusPerNode', positive(v, 'ngpus_physical', at), at);
    } else {
      fail(at, `"${key}" in rusage[] is not one Pharos can map (it maps mem and ngpus_physical)`);
    }
  }
}

/** span[hosts=N] and span[ptile=N]. */
function lsfSpan(content: string, facts: Facts, at: At): void {
  for (const item of content.split(/\s+/).filter(Boolean)) {
    const [key, v] = item.split('=', 2);
    if (key === 'hosts' && v !== undefined) facts.put('nodes', positive(v, 'span[hosts]', at), at);
    else if (key === 'ptile' && v !== undefined) facts.put('tasksPerNode', positive(v, 'span[ptile]', at), at);
    else fail(at, `"${item}" in span[] is not one Pharos can map (it maps hosts= and ptile=)`);
  }
}

/** A -R resource requirement: rusage and span map; select, order, same, cu and affinity are kept apart. */
function lsfRequirement(value: string, facts: Facts, other: SchedulerOption[], at: At): void {
  const sections = [...value.matchAll(/(\w+)\s*\[([^\]]*)\]/g)];
  const rest = value.replace(/(\w+)\s*\[([^\]]*)\]/g, '').trim();
  // A requirement with no section name is a select string (bsub -R "type==X86_64").
  if (rest) other.push({ flag: '-R', value: rest, line: at.line });
  for (const [whole, name, content] of sections) {
    const sectionAt = { ...at, as: `#BSUB -R "${whole}"` };
    if (name === 'rusage') lsfRusage(content, facts, sectionAt);
    else if (name === 'span') lsfSpan(content, facts, sectionAt);
    else if (['select', 'order', 'same', 'cu', 'affinity'].includes(name)) other.push({ flag: '-R', value: whole, line: at.line });
    else fail(sectionAt, `"${name}[]" is not a resource requirement section Pharos knows`);
  }
}

/** -gpu "num=2:gmodel=…:mode=…": num is per host; gmodel names the model; the rest is kept apart. */
function lsfGpu(value: string, facts: Facts, other: SchedulerOption[], at: At): void {
  if (value === '-') fail(at, '"-gpu -" asks for the site’s default GPU requirement, whose count Pharos cannot know', 'give the count, e.g. -gpu "num=1"');
  const rest: string[] = [];
  for (const item of value.split(':')) {
    const [key, v] = item.split('=', 2);
    if (key === 'num' && v !== undefined) facts.put('gpusPerNode', positive(v, 'num', at), at);
    else if (key === 'gmodel' && v !== undefined) facts.put('gpuType', v, at);
    else rest.push(item);
  }
  if (rest.length) other.push({ flag: '-gpu', value: rest.join(':'), line: at.line });
}

const LSF_FLAGS: Record<string, FlagRule> = {
  n: {
    value: 'required',
    map: (v, f, at) => {
      const range = /^(\d+),(\d+)$/.exec(v);
      if (range && range[1] !== range[2]) fail(at, `a range of slots (${v}) is not one number Pharos can build with`, 'give one count, e.g. -n 4');
      f.put('tasks', positive(range ? range[1] : v, 'the slot count', at), at);
    },
  },
  W: { value: 'required', map: (v, f, at) => f.put('timeMinutes', time(v, lsfTimeMinutes, '90 or 2:00', at), at) },
  M: { value: 'required', map: (v, f, at) => f.put('memPerJob', lsfMemory(v.replace(/!$/, ''), undefined, at), at) },
  R: { value: 'required', map: () => undefined },
  gpu: { value: 'required', map: () => undefined },
  J: { value: 'required' },
  q: { value: 'required' },
  o: { value: 'required' },
  e: { value: 'required' },
  oo: { value: 'required' },
  eo: { value: 'required' },
  P: { value: 'required' },
  u: { value: 'required' },
  G: { value: 'required' },
  g: { value: 'required' },
  app: { value: 'required' },
  cwd: { value: 'required' },
  m: { value: 'required' },
  w: { value: 'required' },
  b: { value: 'required' },
  L: { value: 'required' },
  sla: { value: 'required' },
  We: { value: 'required' },
  Jd: { value: 'required' },
  env: { value: 'required' },
  B: { value: 'none' },
  N: { value: 'none' },
  x: { value: 'none' },
  r: { value: 'none' },
  rn: { value: 'none' },
};

function readLsf(words: string[], facts: Facts, other: SchedulerOption[], at: At): void {
  for (let k = 0; k < words.length; k++) {
    const word = words[k];
    if (!/^-[A-Za-z]/.test(word)) fail(at, `"${word}" is not a flag`);
    const flag = word.slice(1);
    const rule = LSF_FLAGS[flag];
    if (!rule) unknownFlag('lsf', word, at);
    let value: string | undefined;
    if (rule.value === 'required') {
      value = words[++k];
      if (value === undefined) fail(at, `${word} needs a value`);
    }
    const flagAt = { ...at, as: `#BSUB ${word}${value === undefined ? '' : ` ${/\s/.test(value) ? `"${value}"` : value}`}` };
    if (flag === 'R') lsfRequirement(value as string, facts, other, flagAt);
    else if (flag === 'gpu') lsfGpu(value as string, facts, other, flagAt);
    else if (rule.map) rule.map(value as string, facts, flagAt);
    else other.push({ flag: word, ...(value !== undefined ? { value } : {}), line: at.line });
  }
}

/** Every form a quantity can be given in, reduced to one value; forms that disagree are an error naming both lines. */
function agree(file: string, what: string, forms: { value: number; fact: Fact; note: string }[]): number | undefined {
  const [first, ...rest] = forms;
  for (const form of rest) {
    if (form.value !== first.value) {
      throw new PharosError(
        `${what} is given twice and the two disagree: ${first.fact.as} (line ${first.fact.line}) is ${first.value}${first.note}, ` +
          `${form.fact.as} (line ${form.fact.line}) is ${form.value}${form.note}`,
        { file, line: form.fact.line, next: 'keep one of the two, or make them agree' },
      );
    }
  }
  return first?.value;
}

function resolve(facts: Facts, file: string): ResourceSpec {
  const nodes = facts.num('nodes');
  const perNode = nodes ?? 1;
  const tasksForms = [];
  const tasks = facts.get('tasks');
  const tasksPerNode = facts.get('tasksPerNode');
  if (tasks) tasksForms.push({ value: tasks.value as number, fact: tasks, note: '' });
  if (tasksPerNode) tasksForms.push({ value: (tasksPerNode.value as number) * perNode, fact: tasksPerNode, note: ` × ${perNode} node(s)` });
  const taskCount = agree(file, 'The task count', tasksForms);
  const cpusPerTask = facts.num('cpusPerTask');

  const memForms = [];
  const memPerNode = facts.get('memPerNode');
  const memPerCpu = facts.get('memPerCpu');
  const memPerJob = facts.get('memPerJob');
  const cpusPerNode = (cpusPerTask ?? 1) * ((tasksPerNode?.value as number | undefined) ?? Math.ceil((taskCount ?? 1) / perNode));
  if (memPerNode) memForms.push({ value: memPerNode.value as number, fact: memPerNode, note: ' MiB per node' });
  if (memPerCpu) memForms.push({ value: (memPerCpu.value as number) * cpusPerNode, fact: memPerCpu, note: ` MiB per node (${cpusPerNode} CPUs)` });
  if (memPerJob) memForms.push({ value: Math.ceil((memPerJob.value as number) / perNode), fact: memPerJob, note: ` MiB per node (${perNode} node(s))` });
  const memoryMiB = agree(file, 'The memory', memForms);

  const gpuForms = [];
  const gpusPerNode = facts.get('gpusPerNode');
  const gpusPerJob = facts.get('gpusPerJob');
  if (gpusPerNode) gpuForms.push({ value: gpusPerNode.value as number, fact: gpusPerNode, note: ' per node' });
  if (gpusPerJob) {
    const total = gpusPerJob.value as number;
    if (total % perNode) {
      throw new PharosError(`${gpusPerJob.as}: ${total} GPUs do not divide evenly among ${perNode} nodes`, {
        file,
        line: gpusPerJob.line,
        next: 'give the GPUs per node instead, e.g. --gpus-per-node',
      });
    }
    gpuForms.push({ value: total / perNode, fact: gpusPerJob, note: ' per node' });
  }
  const gpus = agree(file, 'The GPU count', gpuForms);

  const spec: ResourceSpec = {
    nodes,
    tasks: taskCount,
    cpusPerTask,
    memoryMiB,
    timeMinutes: facts.num('timeMinutes'),
    gpus,
    gpuType: facts.get('gpuType')?.value as string | undefined,
  };
  return Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined)) as ResourceSpec;
}

const READERS: Record<Scheduler, (words: string[], facts: Facts, other: SchedulerOption[], at: At) => void> = {
  slurm: readSlurm,
  pbs: readPbs,
  lsf: readLsf,
};

/**
 * The resource spec of a script's directive lines, whichever schedulers they are written for. The same quantity given
 * twice (on two lines, by two schedulers, or in two forms such as --mem and --mem-per-cpu) must agree; exact repeats
 * are ignored. `other` keeps the flags about everything else, once each, in the order written.
 */
export function readSchedulerDirectives(lines: readonly DirectiveLine[], file: string): SchedulerDirectives {
  const facts = new Facts(file);
  const other: Record<Scheduler, SchedulerOption[]> = { slurm: [], pbs: [], lsf: [] };
  for (const { scheduler, text, line } of lines) {
    const raw: At = { file, line, as: `${SCHEDULER_PREFIXES[scheduler]} ${text.trim()}` };
    const words = directiveWords(text, raw);
    const kept: SchedulerOption[] = [];
    READERS[scheduler](words, facts, kept, { ...raw, as: `${SCHEDULER_PREFIXES[scheduler]} ${words.join(' ')}` });
    for (const option of kept) {
      const seen = other[scheduler].some((o) => o.flag === option.flag && o.value === option.value);
      if (!seen) other[scheduler].push(option);
    }
  }
  return { resources: resolve(facts, file), other };
}

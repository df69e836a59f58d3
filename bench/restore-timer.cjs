// Loaded into the nx process by bench/restore.mjs (NODE_OPTIONS=--require): times Nx's own restore of a cache hit,
// unchanged, by wrapping two of its functions as they load. `apply` is the whole of TaskOrchestrator.applyCachedResult
// (the cache lookup, the check of existing outputs, the copy), `copy` the copy alone (DbCache.copyFilesFromCache, Nx's
// native copy). Each call appends one tab-separated line to BENCH_RESTORE_LOG. Does nothing in any other process.
const Module = require('node:module');
const { appendFileSync } = require('node:fs');

const log = process.env.BENCH_RESTORE_LOG;
const load = Module._load;
const since = (t) => Number(process.hrtime.bigint() - t) / 1e6;

function timeCalls(proto, name, line) {
  if (!proto || typeof proto[name] !== 'function' || proto[name].benchTimed) return;
  const original = proto[name];
  const timed = async function (...args) {
    const t = process.hrtime.bigint();
    const result = await original.apply(this, args);
    appendFileSync(log, `${line(args, result, since(t).toFixed(3))}\n`);
    return result;
  };
  timed.benchTimed = true;
  proto[name] = timed;
}

if (log) {
  Module._load = function (...args) {
    const exported = load.apply(this, args);
    if (exported?.TaskOrchestrator) {
      timeCalls(exported.TaskOrchestrator.prototype, 'applyCachedResult', ([task], r, ms) => `apply\t${task.id}\t${r?.status ?? 'miss'}\t${ms}`);
    }
    if (exported?.DbCache) timeCalls(exported.DbCache.prototype, 'copyFilesFromCache', ([, , outputs], _, ms) => `copy\t${outputs.join(',')}\t${ms}`);
    return exported;
  };
}

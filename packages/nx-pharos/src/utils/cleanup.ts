/**
 * One place that undoes half-finished work (temporary files, containers, aborted requests) when a task fails or
 * is interrupted. Nx forwards Ctrl-C to the task process as SIGINT (or SIGTERM); without this, a killed build would
 * leave a partial archive in dist/ or a container running.
 */
type Cleanup = () => void | Promise<void>;

const pending = new Set<Cleanup>();
let installed = false;
let received: NodeJS.Signals | undefined; // a second signal while cleaning up must not start a second cleanup
let cleaning: Promise<void> | undefined;

function install(): void {
  if (installed) return;
  installed = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (received) return;
      received = signal;
      process.stderr.write(`\npharos: ${signal} received, cleaning up…\n`);
      firstPass = runAll();
      // The interrupted work goes on until it notices (its container gone, its request aborted), and may write a file
      // the first pass already looked for; its own cleanups run again as it unwinds (see onInterrupt), so the process
      // ends only once it has, or after SETTLE_MS.
      cleaning = firstPass.then(settled).then(runAll);
      void cleaning.finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
}

/** How long an interrupted process waits for its work to unwind before it exits anyway. */
const SETTLE_MS = 15_000;
const unwinding = new Set<Promise<unknown>>();
let firstPass: Promise<void> | undefined;

async function settled(): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, SETTLE_MS)));
  await Promise.race([Promise.allSettled([...unwinding]), limit]);
  clearTimeout(timer);
}

/**
 * Marks `work` (an executor's body) as something an interrupt waits for, so the cleanups it runs in its own `finally`
 * blocks happen before the process exits.
 */
export function unwindsBeforeExit<T>(work: Promise<T>): Promise<T> {
  unwinding.add(work);
  const done = () => unwinding.delete(work);
  work.then(done, done);
  return work;
}

async function runAll(): Promise<void> {
  const all = [...pending].reverse();
  pending.clear();
  for (const fn of all) {
    try {
      await fn();
    } catch {
      // Best effort: one failed cleanup must not stop the others.
    }
  }
}

/** The whole of an interrupt's cleanup, which ends the process; resolved at once when no interrupt came. */
export async function interruptCleanup(): Promise<void> {
  await cleaning;
}

/** The signal that interrupted this process, if one did: work that fails after it was stopped, not broken. */
export function interruptSignal(): NodeJS.Signals | undefined {
  return received;
}

/**
 * Registers `fn` to run on interrupt; call the returned function to run it now (and unregister). When an interrupt is
 * already cleaning up, it waits for the interrupt's first pass, then runs `fn` again: the interrupted work often fails
 * at once (its container is gone), and the task must not return to Nx, which exits the process, while cleanups are
 * still pending; and it may have written something after the first pass ran.
 */
export function onInterrupt(fn: Cleanup): () => Promise<void> {
  install();
  pending.add(fn);
  return async () => {
    if (!pending.delete(fn)) {
      // The interrupt ran it already, while the work went on: run it again once that first pass is done, for what the
      // work made since (a cleanup is removal, so twice is harmless).
      await firstPass;
      await fn();
      return;
    }
    await fn();
  };
}

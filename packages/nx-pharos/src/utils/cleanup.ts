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
      cleaning = runAll();
      void cleaning.finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
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

/** The signal that interrupted this process, if one did: work that fails after it was stopped, not broken. */
export function interruptSignal(): NodeJS.Signals | undefined {
  return received;
}

/**
 * Registers `fn` to run on interrupt; call the returned function to run it now (and unregister). When an interrupt is
 * already cleaning up, it waits for that to finish: the interrupted work often fails at once (its container is gone),
 * and the task must not return to Nx, which exits the process, while later cleanups are still pending.
 */
export function onInterrupt(fn: Cleanup): () => Promise<void> {
  install();
  pending.add(fn);
  return async () => {
    if (!pending.delete(fn)) {
      await cleaning;
      return;
    }
    await fn();
  };
}

// Ctrl-C (SIGINT) or SIGTERM for a long command: the first asks the work to stop cleanly (the returned
// signal aborts); a second quits at once, exit 130, like a shell's Ctrl-C.

import type { Io } from './io.js';

export interface Interrupt {
  signal: AbortSignal;
  /** Stop listening (call when the work is over). */
  dispose(): void;
}

/** @param first what to print on the first signal (its name given); @param second on the second. */
export function onInterrupt(io: Io, first: (signal: string) => string, second: string): Interrupt {
  const ctrl = new AbortController();
  const handler = (sig: string): void => {
    if (ctrl.signal.aborted) {
      io.err(second);
      process.exit(130);
    }
    io.err(first(sig));
    ctrl.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: ctrl.signal,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

// The calling thread's CPU time, from Linux's /proc/thread-self/schedstat (its first field: nanoseconds
// the thread has run on a CPU). Unlike wall time it does not grow while the thread waits for a core that
// another thread or process holds, so a bench's per-run CPU time moves with the code, not with the load
// on a shared machine. Null where the file is missing (other systems, kernels without scheduler
// statistics); Node 20 has no per-thread CPU clock of its own.

import { readFileSync } from 'node:fs';

const FILE = '/proc/thread-self/schedstat';
let available: boolean | undefined;

/** Milliseconds of CPU this thread has used, or null when the system does not say. */
export function threadCpuMs(): number | null {
  if (available === false) return null;
  try {
    const ns = Number(readFileSync(FILE, 'latin1').split(' ', 1)[0]);
    available = Number.isFinite(ns);
    return available ? ns / 1e6 : null;
  } catch {
    available = false;
    return null;
  }
}

// CPU time by thread, where the kernel tells it (Linux: /proc/<pid>/task/<tid>/schedstat, nanoseconds on
// the CPU; Node 20 has no per-thread CPU clock of its own). A worker thread learns its own thread id from
// /proc/thread-self; the main thread then reads that thread's time whenever it likes. Elsewhere: null.

import { readFileSync, readlinkSync } from 'node:fs';

/** This thread's kernel thread id (null where /proc/thread-self does not exist). */
export function ownThreadId(): number | null {
  try {
    const m = /task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Seconds thread `tid` of this process has run on a CPU (null: unknown, or the thread is gone). */
export function threadCpuSeconds(tid: number | null): number | null {
  if (tid === null) return null;
  try {
    const ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    return Number.isFinite(ns) ? ns / 1e9 : null;
  } catch {
    return null;
  }
}

/** Seconds the calling thread has run on a CPU (null where the kernel does not say). */
export function ownThreadCpuSeconds(): number | null {
  try {
    const ns = Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
    return Number.isFinite(ns) ? ns / 1e9 : null;
  } catch {
    return null;
  }
}

/** Seconds every thread of this process has run on a CPU, those that ended included (user + system). */
export function processCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

// Per-thread CPU time from the kernel (Linux): a worker thread learns its own thread id, and the main
// thread reads that thread's CPU while it runs. Progress-bound (no wall-clock speed assumed).
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { ownThreadId, processCpuSeconds, threadCpuSeconds } from '../../../src/guest/real/thread-cpu.js';

const linux = existsSync('/proc/thread-self/schedstat');
if (!linux) console.warn('thread CPU test skipped: no /proc/thread-self/schedstat here (not Linux)');

describe.skipIf(!linux)('thread CPU time', () => {
  it("the main thread's id is the process id; a worker's is its own, and its busy CPU shows under its id only", async () => {
    expect(ownThreadId()).toBe(process.pid);
    // The worker reports its id, then spins until the kernel counts 0.1 s of CPU for it, then waits.
    const code = `
      const { parentPort } = require('node:worker_threads');
      const { readFileSync, readlinkSync } = require('node:fs');
      const tid = Number(/task\\/(\\d+)$/.exec(readlinkSync('/proc/thread-self'))[1]);
      const own = () => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e9;
      parentPort.postMessage({ tid });
      parentPort.once('message', () => {
        const start = own();
        let x = 0;
        while (own() - start < 0.1) for (let i = 0; i < 1e5; i++) x += i;
        parentPort.postMessage({ spun: x > 0 });
      });`;
    const w = new Worker(code, { eval: true });
    const { tid } = await new Promise<{ tid: number }>((r) => w.once('message', r));
    expect(tid).not.toBe(process.pid);
    const before = { worker: threadCpuSeconds(tid)!, main: threadCpuSeconds(process.pid)!, process: processCpuSeconds() };
    w.postMessage('go');
    await new Promise((r) => w.once('message', r));
    const after = { worker: threadCpuSeconds(tid)!, main: threadCpuSeconds(process.pid)!, process: processCpuSeconds() };
    expect(after.worker - before.worker).toBeGreaterThanOrEqual(0.1);
    // The main thread only waited meanwhile; the process counts the worker's time too.
    expect(after.main - before.main).toBeLessThan(after.worker - before.worker);
    expect(after.process - before.process).toBeGreaterThanOrEqual(0.09);
    await w.terminate();
    // A thread that is gone has no count.
    expect(threadCpuSeconds(tid)).toBeNull();
    expect(threadCpuSeconds(null)).toBeNull();
  }, 30_000);
});

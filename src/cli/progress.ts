// Bench progress on stderr: a cli-progress bar on a terminal, otherwise one line every `interval`
// seconds (CI logs). Everything goes through the Io, so tests see it.

import { SingleBar } from 'cli-progress';
import { performance } from 'node:perf_hooks';
import type { Io } from './io.js';

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

export function progressFor(io: Io, opts: { total: number; intervalS: number; label: string }): Progress {
  return io.errIsTTY ? barProgress(io, opts.total, opts.label) : lineProgress(io, opts.total, opts.intervalS, opts.label);
}

function barProgress(io: Io, total: number, label: string): Progress {
  // cli-progress writes terminal control sequences with node:readline helpers, which only call write().
  const stream = {
    isTTY: true,
    get columns() {
      return io.errColumns ?? 80;
    },
    write(s: string) {
      io.err(s);
      return true;
    },
  };
  const bar = new SingleBar({
    stream: stream as unknown as NodeJS.WritableStream,
    format: `${label} [{bar}] {percentage}% | {value}/{total} runs | {duration_formatted} elapsed, ETA {eta_formatted}`,
    hideCursor: true,
    clearOnComplete: false,
    fps: 10,
  });
  bar.start(total, 0);
  return {
    update: (done) => bar.update(done),
    stop: () => bar.stop(),
  };
}

function lineProgress(io: Io, total: number, intervalS: number, label: string): Progress {
  const t0 = performance.now();
  let last = t0;
  let done = 0;
  const line = (): void => {
    const s = (performance.now() - t0) / 1000;
    const eta = done > 0 ? ` , about ${Math.ceil((s / done) * (total - done))} s left` : '';
    io.err(`${label}: ${done}/${total} runs (${total ? Math.floor((100 * done) / total) : 100}%), ${s.toFixed(1)} s elapsed${eta.replace(' ,', ',')}\n`);
  };
  return {
    update(d) {
      done = d;
      const now = performance.now();
      if (now - last >= intervalS * 1000) {
        last = now;
        line();
      }
    },
    stop() {},
  };
}

import { describe, expect, it } from 'vitest';
import { memoryIo } from '../../src/cli/io.js';
import { progressFor } from '../../src/cli/progress.js';

describe('bench progress', () => {
  it('prints a progress line per interval when stderr is not a terminal', () => {
    const io = memoryIo();
    const p = progressFor(io, { total: 4, intervalS: 0, label: 'bench quick' });
    p.update(1, 4);
    p.update(4, 4);
    p.stop();
    const lines = io.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^bench quick: 1\/4 runs \(25%\), [\d.]+ s elapsed, about \d+ s left$/);
    expect(lines[1]).toMatch(/^bench quick: 4\/4 runs \(100%\)/);
    expect(io.stdout).toBe('');
  });

  it('stays quiet between intervals', () => {
    const io = memoryIo();
    const p = progressFor(io, { total: 100, intervalS: 3600, label: 'x' });
    for (let i = 1; i <= 100; i++) p.update(i, 100);
    expect(io.stderr).toBe('');
  });

  it('draws a progress bar through the Io on a terminal', () => {
    const io = { ...memoryIo(), errIsTTY: true, errColumns: 120 };
    let err = '';
    io.err = (t: string) => void (err += t);
    const p = progressFor(io, { total: 10, intervalS: 5, label: 'bench default' });
    p.update(5, 10);
    p.stop();
    expect(err).toMatch(/bench default \[=+-+\] 50% \| 5\/10 runs/);
    expect(err).toContain('\x1B[?25l'); // cursor hidden while drawing, shown again at the end
    expect(err).toContain('\x1B[?25h');
  });
});

// A reader that closes the pipe early (`migbench ... | head -1`) ends the CLI quietly, not with a stack trace.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { BIN } from '../support/processes.js';

describe('a closed standard output', () => {
  it('ends the command with status 0 and nothing on stderr', async () => {
    // `channels` of 32 NICs writes its table in several pieces: the reader closes after the first, so a
    // later write meets a closed pipe (before the fix: an unhandled EPIPE with a stack trace, exit 1).
    const child = spawn(process.execPath, [BIN, 'channels', '--nics', '32x10g'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(err).not.toMatch(/EPIPE|Unhandled/);
    expect(code).toBe(0);
  }, 30_000);
});

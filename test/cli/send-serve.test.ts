// End-to-end: the compiled CLI (`npm test` builds dist/ first) as two processes on loopback.
import { afterEach, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killStarted, startCli, type Done } from '../support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'migbench-cli-'));
const KEYFILE = join(dir, 'key');
writeFileSync(KEYFILE, `${randomBytes(32).toString('hex')}\n`);

afterEach(killStarted);

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => startCli(args, { env, timeoutMs: 30_000 });

/** Start `serve --once --json` on a free loopback port; resolves with its address. */
async function serve(extra: string[] = []): Promise<{ addr: string; done: Promise<Done>; child: ChildProcess; stderr: () => string }> {
  const s = cli(['serve', '--listen', '127.0.0.1:0', '--once', '--json', ...extra]);
  const end = Date.now() + 10_000;
  while (!s.stdout().includes('\n')) {
    if (Date.now() > end || s.child.exitCode !== null) throw new Error(`serve did not start: ${(await s.done).stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const addr = JSON.parse(s.stdout().split('\n')[0]!).listening[0] as string;
  return { addr, done: s.done, child: s.child, stderr: s.stderr };
}

/** Wait (bounded) until `text` shows a line matching `re` `count` times. */
async function waitFor(text: () => string, re: RegExp, count: number, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while ((text().match(new RegExp(re.source, 'g')) ?? []).length < count) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${count} x ${re}: ${text()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('migbench serve + send', () => {
  it('sends a synthetic stream over 4 channels; both sides report it verified (exit 0)', async () => {
    const rx = await serve(['--key-file', KEYFILE]);
    const tx = await cli(['send', '--to', rx.addr, '--key-file', KEYFILE, '--size', '6MiB', '--chunk', '256KiB', '--json']).done;
    expect(tx.stderr).toBe('');
    expect(tx.code).toBe(0);
    const j = JSON.parse(tx.stdout);
    expect(j).toMatchObject({ bytes: 6 * 2 ** 20, verified: true, status: 'verified' });
    expect(j.channels).toHaveLength(4);
    expect(j.goodput_gbps).toBeGreaterThan(0);
    expect(j.seconds).toBeGreaterThan(0);
    expect(j.sha256).toMatch(/^[0-9a-f]{64}$/);
    const r = await rx.done;
    expect(r.code).toBe(0);
    const session = JSON.parse(r.stdout.trim().split('\n')[1]!);
    expect(session).toMatchObject({ verified: true, sha256: j.sha256, bytes: 6 * 2 ** 20, channels: 4 });
  });

  it('sends a file into --out, written atomically and identical; the key may come from MIGBENCH_KEY', async () => {
    const src = join(dir, 'src.bin');
    const dst = join(dir, 'dst.bin');
    writeFileSync(src, randomBytes(3_000_001));
    const key = readFileSync(KEYFILE, 'utf8').trim();
    const s = cli(['serve', '--listen', '127.0.0.1:0', '--once', '--json', '--out', dst], { MIGBENCH_KEY: key });
    await new Promise((r) => setTimeout(r, 50));
    const end = Date.now() + 10_000;
    while (!s.stdout().includes('\n') && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    const addr = JSON.parse(s.stdout().split('\n')[0]!).listening[0] as string;
    const tx = await cli(['send', '--to', addr, '--file', src, '--channels-per-address', '3', '--chunk', '64KiB'], { MIGBENCH_KEY: key }).done;
    expect(tx.code).toBe(0);
    expect(tx.stdout).toMatch(/channel  2 to 127\.0\.0\.1:\d+: .*\n/);
    expect(tx.stdout).toMatch(/total: 2\.86 MiB in .* over 3 channels\nsha256 [0-9a-f]{64}: verified/);
    expect((await s.done).code).toBe(0);
    expect(readFileSync(dst).equals(readFileSync(src))).toBe(true);
  });

  it('a wrong key exits 3 and says the receiver refused it', async () => {
    const rx = await serve(['--key-file', KEYFILE]);
    const other = join(dir, 'other');
    writeFileSync(other, 'another key that is long enough');
    const tx = await cli(['send', '--to', rx.addr, '--key-file', other, '--size', '1MiB']).done;
    expect(tx.code).toBe(3);
    expect(tx.stderr).toMatch(/refused: authentication failed/);
    rx.child.kill('SIGTERM');
  });

  it('losing every channel (the receiver dies) exits 3 and says all channels were lost', async () => {
    const rx = await serve(['--key-file', KEYFILE]);
    const tx = cli(['send', '--to', rx.addr, '--key-file', KEYFILE, '--size', '64MiB', '--rate', '20Mbit/s', '--chunk', '64KiB']);
    await waitFor(rx.stderr, /channel-bound/, 4); // every channel is up and sending at 20 Mbit/s
    rx.child.kill('SIGKILL');
    const d = await tx.done;
    expect(d.code).toBe(3);
    expect(d.stderr).toMatch(/all 4 channels lost/);
    expect(d.stderr).toMatch(/channel 3: /);
  });

  it('bad input exits 2 and names the flag and the expected form', async () => {
    const a = await cli(['send', '--to', '127.0.0.1:1', '--key-file', KEYFILE, '--size', '12XB']).done;
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--size: expected a size such as 8GiB/);
    const b = await cli(['send', '--to', 'localhost', '--key-file', KEYFILE, '--size', '1MiB']).done;
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/--to: expected ADDR:PORT/);
    const c = await cli(['send', '--to', '127.0.0.1:1', '--size', '1MiB']).done;
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/--key-file: expected a pre-shared key file/);
    const d = await cli(['send', '--to', '127.0.0.1:1', '--key', 'secret', '--size', '1MiB']).done;
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/unknown option '--key'/);
    const e = await cli(['serve', '--listen', '127.0.0.1:0']).done;
    expect(e.code).toBe(2);
    expect(e.stderr).toMatch(/--key-file: expected a pre-shared key/);
    const f = await cli(['serve', '--listen', '0.0.0.0:0', '--insecure']).done;
    expect(f.code).toBe(2);
    expect(f.stderr).toMatch(/--insecure: expected loopback listen addresses only/);
    const g = await cli(['send', '--to', '127.0.0.1:1,127.0.0.1:2', '--bind', '127.0.0.1,127.0.0.2,127.0.0.3', '--key-file', KEYFILE, '--size', '1MiB']).done;
    expect(g.code).toBe(2);
    expect(g.stderr).toMatch(/--bind: expected one address, or one per --to address \(2\)/);
  });

  it('--insecure works on loopback with --bind per channel address', async () => {
    const rx = await serve(['--insecure', '--discard']);
    const tx = await cli(['send', '--to', rx.addr, '--insecure', '--size', '2MiB', '--bind', '127.0.0.5', '--json']).done;
    expect(tx.code).toBe(0);
    const j = JSON.parse(tx.stdout);
    expect(j.status).toBe('unchecked');
    expect(j.verified).toBe(false);
    expect(j.channels.every((c: { bind: string }) => c.bind === '127.0.0.5')).toBe(true);
    expect(tx.stderr).toMatch(/not verified: the receiver discards data/);
    expect((await rx.done).stderr).toMatch(/127\.0\.0\.5:\d+ session/);
  });
});

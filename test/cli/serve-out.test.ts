// Issue 15, item 1: no verified stream is lost. `serve --out DIR` keeps one file per session; `--out FILE`
// takes one session at a time (a concurrent one is refused and its sender says so) and never replaces a
// file without --force; a crashed serve's temporary files are removed at the next start.
// Item 6/7 (send): a failed transfer stops hashing at once and `--json` prints a failure object.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SenderSession } from '../../src/transport/tcp/sender.js';
import { killStarted, startCli, type Started } from '../support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'migbench-serve-out-'));
const KEYFILE = join(dir, 'key');
writeFileSync(KEYFILE, `${randomBytes(32).toString('hex')}\n`);
afterEach(killStarted);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (args: string[]) => startCli(args, { timeoutMs: 60_000 });
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
const readKey = () => Buffer.from(readFileSync(KEYFILE, 'utf8').trim());

/** `serve --json` on a free loopback port; resolves with its address once it listens. */
async function serve(extra: string[]): Promise<Started & { addr: string }> {
  const s = cli(['serve', '--listen', '127.0.0.1:0', '--json', '--key-file', KEYFILE, ...extra]);
  const end = Date.now() + 15_000;
  while (!s.stdout().includes('\n')) {
    if (Date.now() > end || s.child.exitCode !== null) throw new Error(`serve did not start: ${(await s.done).stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { ...s, addr: JSON.parse(s.stdout().split('\n')[0]!).listening[0] as string };
}

const send = (addr: string, seed: number, size = '8MiB', extra: string[] = []) =>
  cli(['send', '--to', addr, '--key-file', KEYFILE, '--size', size, '--seed', String(seed), '--channels-per-address', '2', '--json', ...extra]).done;

describe('serve --out', () => {
  it('--out DIR: three concurrent sessions each land in their own file, identical to what was sent', async () => {
    const out = join(dir, 'many');
    mkdirSync(out);
    const rx = await serve(['--out', out]);
    const sent = await Promise.all([1, 2, 3].map((seed) => send(rx.addr, seed)));
    for (const s of sent) expect(s.code, s.stderr).toBe(0);
    const lines = () => rx.stdout().trim().split('\n').slice(1);
    for (let i = 0; i < 300 && lines().length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    const reports = lines().map((l) => JSON.parse(l) as { session: string; file: string; sha256: string; verified: boolean });
    expect(reports).toHaveLength(3);
    expect(readdirSync(out).sort()).toEqual(reports.map((r) => `${r.session}.bin`).sort());
    for (const r of reports) {
      expect(r.verified).toBe(true);
      expect(r.file).toBe(join(out, `${r.session}.bin`));
      expect(sha(r.file)).toBe(r.sha256);
    }
    expect(new Set(reports.map((r) => r.sha256))).toEqual(new Set(sent.map((s) => JSON.parse(s.stdout).sha256)));
  }, 90_000);

  it('--out FILE: a concurrent second session is refused (exit 3, saying why); the file holds the verified stream', async () => {
    const file = join(dir, 'one.bin');
    const rx = await serve(['--out', file]);
    // The first session is held open (bound, nothing sent yet) while a second one arrives.
    const [host, port] = rx.addr.split(':');
    const data = randomBytes(3 << 20);
    const first = await SenderSession.open({ targets: [{ host: host!, port: Number(port) }], key: readKey(), size: data.length });
    const second = await send(rx.addr, 2, '1MiB');
    expect(second.code).toBe(3);
    expect(second.stderr).toMatch(/refused: --out .*one\.bin takes one session at a time/);
    expect(JSON.parse(second.stdout)).toMatchObject({ status: 'failed', verified: false });
    await first.write(0, data);
    expect((await first.commit(createHash('sha256').update(data).digest())).status).toBe('verified');
    first.close();
    expect(readFileSync(file).equals(data)).toBe(true);
    for (let i = 0; i < 500 && !/session-end session/.test(rx.stderr()); i++) await new Promise((r) => setTimeout(r, 20));
    // Now the file exists: a later session is refused too (no --force), and the file is unchanged.
    const third = await send(rx.addr, 3, '1MiB');
    expect(third.code).toBe(3);
    expect(third.stderr).toMatch(/refused: --out .*one\.bin exists .*--force replaces it/);
    expect(readFileSync(file).equals(data)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.startsWith('one.bin'))).toEqual(['one.bin']);
  }, 90_000);

  it('refuses an existing file without --force (exit 2), replaces it with --force', async () => {
    const file = join(dir, 'exists.bin');
    writeFileSync(file, 'keep me');
    const r = await cli(['serve', '--listen', '127.0.0.1:0', '--key-file', KEYFILE, '--out', file]).done;
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out: expected a file that does not exist yet \(--force replaces it\).*the file exists/);
    expect(readFileSync(file, 'utf8')).toBe('keep me');
    const rx = await serve(['--out', file, '--force', '--once']);
    const s = await send(rx.addr, 4, '1MiB');
    expect(s.code, s.stderr).toBe(0);
    expect((await rx.done).code).toBe(0);
    expect(sha(file)).toBe(JSON.parse(s.stdout).sha256);
  }, 60_000);

  it('removes the temporary files of a serve that no longer runs, and reports them', async () => {
    const file = join(dir, 'crashed.bin');
    // A pid that is not running: the highest one the kernel could give, plus one.
    const pid = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8')) + 1;
    const stale = `${file}.tmp-${pid}-0123abcd`;
    writeFileSync(stale, Buffer.alloc(4096));
    const rx = await serve(['--out', file]);
    expect(existsSync(stale)).toBe(false);
    expect(rx.stderr()).toContain(`removed ${stale}, a temporary file a stopped serve left`);
  });
});

describe('serve limits', () => {
  it('a smaller --max-connections keeps room for authenticated channels by default (half of it unauthenticated)', async () => {
    const rx = await serve(['--max-connections', '10', '--once']);
    const s = await send(rx.addr, 5, '1MiB');
    expect(s.code, s.stderr).toBe(0);
    expect((await rx.done).code).toBe(0);
    const bad = await cli(['serve', '--listen', '127.0.0.1:0', '--key-file', KEYFILE, '--max-connections', '10', '--max-unauthenticated', '10']).done;
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--max-unauthenticated: expected an integer from 1 to 9/);
  });
});

describe('send failures', () => {
  it('an unreachable receiver: exit 3 at once (the 1 TiB hash is stopped), and --json prints the failure', async () => {
    const port = await new Promise<number>((r) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => r(p)); // nothing listens there any more
      });
    });
    const s = await startCli(['send', '--to', `127.0.0.1:${port}`, '--insecure', '--size', '1TiB', '--json'], { timeoutMs: 30_000 }).done;
    expect(s.code).toBe(3);
    expect(s.stderr).toMatch(/ECONNREFUSED/);
    expect(JSON.parse(s.stdout)).toMatchObject({ status: 'failed', verified: false, bytes: 0, error: { code: 'E_TRANSPORT' } });
  }, 40_000);
});

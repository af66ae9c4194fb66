// Issue 15 and `migbench migrate-receiver` (the compiled CLI as a process; the source side in-process):
// item 4, a hello that reuses an existing VM's id is refused and deletes nothing; item 5, fault requests are
// refused unless the receiver was started with the test-only --allow-fault-injection; item 7, a supervised
// receiver that cannot start exits with the endpoint's code (2), not 0. Issue 12, item 1: --max-incoming
// (one more migration is refused, `migrate` saying why), and a crash with several migrations in flight.
import { afterEach, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DestinationLink } from '../../src/drivers/real/link.js';
import { PROTOCOL_VERSION, STAGING_BYTES, type Request } from '../../src/drivers/real/protocol.js';
import { parseEndpoints } from '../../src/transport/tcp/address.js';
import { SenderSession } from '../../src/transport/tcp/sender.js';
import { killStarted, startCli, type Started } from '../support/processes.js';
import { adminAsk, RawMigration } from '../drivers/real/raw-source.js';

const dirs: string[] = [];
const sessions: SenderSession[] = [];
afterEach(() => {
  for (const s of sessions.splice(0)) s.close();
  killStarted();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Dest {
  rx: Started;
  addr: string;
  key: Buffer;
  keyFile: string;
  dir: string;
}

async function receiver(extra: string[] = []): Promise<Dest> {
  const d = mkdtempSync(join(tmpdir(), 'migbench-mr-'));
  dirs.push(d);
  const keyFile = join(d, 'key');
  const key = randomBytes(32).toString('hex');
  writeFileSync(keyFile, key);
  const dir = join(d, 'vms');
  mkdirSync(dir);
  const rx = startCli(['migrate-receiver', '--listen', '127.0.0.1:0', '--dir', dir, '--key-file', keyFile, '--json', ...extra], { timeoutMs: 120_000 });
  const end = Date.now() + 20_000;
  while (!rx.stdout().includes('\n')) {
    if (Date.now() > end || rx.child.exitCode !== null) throw new Error(`migrate-receiver did not start: ${(await rx.done).stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { rx, addr: JSON.parse(rx.stdout().split('\n')[0]!).listening[0] as string, key: Buffer.from(key), keyFile, dir };
}

/** A session to the destination with the migration protocol on top; `size` is the stream it declares. */
async function link(d: Dest, size = 1): Promise<{ link: DestinationLink; errors: string[]; session: SenderSession }> {
  const session = await SenderSession.open({ targets: parseEndpoints(d.addr, 'test'), key: d.key, size, connectTimeout: 10 });
  sessions.push(session);
  const l = new DestinationLink(session, 10);
  const errors: string[] = [];
  l.errors((cause, message) => errors.push(`${cause}: ${message}`));
  return { link: l, errors, session };
}

const refusal = (p: Promise<unknown>) => p.then(() => 'accepted', (e: Error) => e.message);

describe('migrate-receiver', () => {
  it('refuses a hello that reuses an existing VM id, and deletes none of that VM\'s files (item 4)', async () => {
    const d = await receiver();
    const id = 'abcdef0123456789';
    const vm = `vm-${id}`;
    writeFileSync(join(d.dir, `${vm}.vmcx`), 'a completed VM');
    writeFileSync(join(d.dir, `${vm}-disk0.img`), Buffer.alloc(8192, 7));
    const ram = 2 ** 20;
    const disk = 2 ** 20;
    const { link: l } = await link(d, ram + disk + STAGING_BYTES);
    const hello: Request = { t: 'hello', kind: 'migrate', version: PROTOCOL_VERSION, id, vm, ramBytes: ram, diskBytes: disk, stateBytes: 0, stagingBytes: STAGING_BYTES };
    const refused = await refusal(l.request(hello, Buffer.from('config')));
    expect(refused).not.toBe('accepted');
    // The source rolls back: the destination must not remove the existing VM's files.
    const r = await l.request({ t: 'abort', id });
    expect(readdirSync(d.dir).sort()).toEqual([`${vm}-disk0.img`, `${vm}.vmcx`]);
    expect(r['filesLeft']).toBe(2);
    expect(refused).toMatch(/VM vm-abcdef0123456789 already exists on this destination/);
  }, 60_000);

  it('refuses fault injection unless started with --allow-fault-injection, and stays up (item 5)', async () => {
    const d = await receiver();
    const { link: l, errors } = await link(d);
    await l.request({ t: 'hello', kind: 'admin', version: PROTOCOL_VERSION });
    expect(await refusal(l.request({ t: 'fault', kind: 'dest-storage-error' }))).toMatch(/does not allow fault injection .*--allow-fault-injection/);
    l.tell({ t: 'fault', kind: 'crash' }); // as the driver sends it: no reply awaited
    for (let i = 0; i < 200 && errors.length < 2; i++) await new Promise((r) => setTimeout(r, 25));
    expect(errors[1]).toMatch(/^dest_refused: this destination does not allow fault injection/);
    // Still the same process, answering.
    expect((await l.request({ t: 'status', id: '00000000' }))['filesLeft']).toBe(0);
    expect(d.rx.stderr()).toMatch(/refused a fault-injection request \(crash\)/);
    expect(d.rx.stderr()).not.toMatch(/endpoint died/);
  }, 60_000);

  it('with --allow-fault-injection, a crash request kills the endpoint and its supervisor restarts it', async () => {
    const d = await receiver(['--allow-fault-injection']);
    const { link: l } = await link(d);
    await l.request({ t: 'hello', kind: 'admin', version: PROTOCOL_VERSION });
    l.tell({ t: 'fault', kind: 'crash' });
    for (let i = 0; i < 400 && !/restarting \(1\)/.test(d.rx.stderr()); i++) await new Promise((r) => setTimeout(r, 25));
    expect(d.rx.stderr()).toMatch(/the endpoint died \(SIGKILL\); restarting \(1\)/);
  }, 60_000);

  it('a remote migration with --fault dest-storage-error against a receiver without the switch fails cleanly (exit 3, saying why)', async () => {
    const d = await receiver();
    const r = await startCli(
      ['migrate', '--mode', 'shared-nothing', '--memory', '32MiB', '--disk', '32MiB', '--workload', 'idle', '--to', d.addr, '--key-file', d.keyFile, '--probe', '0', '--fault', 'dest-storage-error@storage-copy:0.5'],
      { timeoutMs: 90_000 },
    ).done;
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/failure \(dest_refused\): this destination does not allow fault injection/);
    expect(r.stderr).toMatch(/migration rolled back \(dest_refused\): .*\(.*does not allow fault injection.*\).*0 file\(s\) left on the destination/);
    expect(readdirSync(d.dir)).toEqual([]);
  }, 120_000);

  it('exits 2 (not 0) when its supervised endpoint cannot start (item 7)', async () => {
    const d = mkdtempSync(join(tmpdir(), 'migbench-mr-'));
    dirs.push(d);
    const keyFile = join(d, 'key');
    writeFileSync(keyFile, randomBytes(32).toString('hex'));
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const cases: [string, string[], RegExp][] = [
        ['port in use', ['--listen', `127.0.0.1:${port}`, '--insecure'], /--listen: expected an address of this host and a free port.*EADDRINUSE/],
        ['not this host', ['--listen', '192.0.2.1:7100', '--key-file', keyFile], /--listen: .*EADDRNOTAVAIL/],
        ['--insecure off loopback', ['--listen', '0.0.0.0:0', '--insecure'], /--insecure: expected loopback listen addresses only/],
        ['--max-memory beyond the host', ['--listen', '127.0.0.1:0', '--insecure', '--max-memory', '3TiB'], /--max-memory: expected at most this host's memory/],
        ['--max-incoming 0', ['--listen', '127.0.0.1:0', '--insecure', '--max-incoming', '0'], /--max-incoming: expected an integer from 1 to 64, got "0"/],
        ['--max-incoming 65', ['--listen', '127.0.0.1:0', '--insecure', '--max-incoming', '65'], /--max-incoming: expected an integer from 1 to 64, got "65"/],
        ['--max-incoming two', ['--listen', '127.0.0.1:0', '--insecure', '--max-incoming', 'two'], /--max-incoming: expected an integer from 1 to 64, got "two"/],
      ];
      for (const [what, args, re] of cases) {
        const r = await startCli(['migrate-receiver', '--dir', d, ...args], { timeoutMs: 30_000 }).done;
        expect(r.code, what).toBe(2);
        expect(r.stderr, what).toMatch(re);
      }
    } finally {
      busy.close();
    }
  }, 90_000);

  it('--max-incoming 2: a third migration at once is refused naming the limit (migrate exits 3, saying why); the two in flight complete verified', async () => {
    const d = await receiver(['--max-incoming', '2']);
    const target = { endpoint: parseEndpoints(d.addr, 'test')[0]!, key: d.key };
    const a = new RawMigration(target, { ram: 8 * 2 ** 20, disk: 4 * 2 ** 20, packets: 2 });
    const b = new RawMigration(target, { ram: 8 * 2 ** 20, packets: 2 });
    expect(await a.hello()).toBe('accepted');
    expect(await b.hello()).toBe('accepted');
    const r = await startCli(['migrate', '--memory', '16MiB', '--workload', 'web', '--to', d.addr, '--key-file', d.keyFile, '--probe', '0'], { timeoutMs: 90_000 }).done;
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/migration rolled back \(dest_refused\): the destination refused the migration \(.*this destination already receives 2 migration\(s\), its limit \(migrate-receiver --max-incoming 2\)/);
    expect(r.stderr).toMatch(/memory intact.*0 file\(s\) left on the destination/);
    await Promise.all([a.send(), b.send()]);
    await Promise.all([a.switchOver(), b.switchOver()]);
    expect(await a.finish()).toEqual(a.expected());
    expect(await b.finish()).toEqual(b.expected());
    expect(readdirSync(d.dir).sort()).toEqual([`${a.vm}-disk0.img`, `${a.vm}.vmcx`, `${b.vm}.vmcx`].sort());
  }, 120_000);

  it('a crash with several migrations in flight: the restarted endpoint removes every interrupted one, and only those', async () => {
    const d = await receiver(['--allow-fault-injection']);
    const target = { endpoint: parseEndpoints(d.addr, 'test')[0]!, key: d.key };
    // One completed before the crash: its files must stay as they are.
    const done = new RawMigration(target, { ram: 4 * 2 ** 20, disk: 2 * 2 ** 20 });
    expect(await done.hello()).toBe('accepted');
    await done.send();
    await done.switchOver();
    expect(await done.finish()).toEqual(done.expected());
    const kept = readdirSync(d.dir).sort();
    const hash = (f: string) => createHash('sha256').update(readFileSync(join(d.dir, f))).digest('hex');
    const before = kept.map(hash);
    // Three in flight: two with their data sent, one just set up.
    const flying = [new RawMigration(target, { ram: 4 * 2 ** 20, disk: 2 * 2 ** 20 }), new RawMigration(target, { ram: 4 * 2 ** 20 }), new RawMigration(target, { ram: 2 * 2 ** 20, disk: 2 ** 20 })];
    for (const m of flying) expect(await m.hello()).toBe('accepted');
    await Promise.all(flying.slice(0, 2).map((m) => m.send()));
    expect(readdirSync(d.dir).filter((f) => f.endsWith('.migrating'))).toHaveLength(3);
    flying[0]!.link.tell({ t: 'fault', kind: 'crash' });
    // The restarted endpoint sweeps, then listens again (printing its addresses once more): wait for both.
    const relistened = () => (d.rx.stdout().match(/"listening"/g) ?? []).length >= 2;
    for (let i = 0; i < 800 && ((d.rx.stderr().match(/removed \d file\(s\) of an interrupted migration/g) ?? []).length < 3 || !relistened()); i++) await new Promise((r) => setTimeout(r, 25));
    expect(relistened()).toBe(true);
    expect(d.rx.stderr()).toMatch(/the endpoint died \(SIGKILL\); restarting \(1\)/);
    expect(d.rx.stderr().match(/removed \d file\(s\) of an interrupted migration/g)).toHaveLength(3);
    expect(readdirSync(d.dir).sort()).toEqual(kept);
    expect(kept.map(hash)).toEqual(before);
    // Asked afterwards, the restarted destination says who runs each VM.
    expect((await adminAsk(target, { t: 'owner', id: done.id })).owner).toBe('destination');
    for (const m of flying) expect(await adminAsk(target, { t: 'owner', id: m.id })).toMatchObject({ owner: 'source', filesLeft: 0 });
  }, 120_000);

  it('--help says what --max-incoming does and what one migration\'s failure affects', async () => {
    const r = await startCli(['migrate-receiver', '--help'], { timeoutMs: 30_000 }).done;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--max-incoming <n>\s+migrations received at once, 1-64/);
    expect(r.stdout).toMatch(/\(default: "4"\)/);
    expect(r.stdout).toMatch(/removes only its own\s+files; the others\s+carry on/);
  }, 60_000);
});

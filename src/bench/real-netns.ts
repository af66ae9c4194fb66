// `npm run bench:real -- --netns`: bench:real over real links between network namespaces. For each link
// rate (`--netns-rates 1Gbit/s,2.5Gbit/s`): two namespaces joined by two veth pairs (two "NICs", so
// multichannel has two paths), each shaped by the kernel with tc tbf to that rate; `migrate-receiver` runs
// in the destination namespace, and bench:real itself runs again in the source namespace with `--to` both
// of its addresses, so every migration and evacuation crosses the shaped links. Everything made is removed
// afterwards, also after a failure or Ctrl-C. Root only (with a clear message otherwise).

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatRate } from '../units/index.js';
import { createNetnsPair, describeNetns, netnsUnavailable, type NetnsPair } from './netns.js';

export interface NetnsBenchOptions {
  /** Each link's shaped rate, bytes/s, one bench per rate. */
  rates: number[];
  /** The compiled CLI (bin/migbench.js) and bench:real's script (dist/bench/real.js). */
  cli: string;
  script: string;
  /** bench:real's arguments for the run inside the namespace (without --netns). */
  args: string[];
  out: (s: string) => void;
  err: (s: string) => void;
}

const PORT = 7100;

/** Label of a rate for report names: 1Gbit/s -> 1gbit. */
export const rateTag = (rate: number): string => formatRate(rate).replace(/\s+/g, '').replace('/s', '').toLowerCase();

/** Run the benches; the exit code (2: namespaces unavailable). */
export async function runNetnsBench(o: NetnsBenchOptions): Promise<number> {
  const why = netnsUnavailable();
  if (why) {
    o.err(`bench:real --netns: cannot create network namespaces here: ${why}. Run it as root on Linux with iproute2 (apt-get install iproute2), or drop --netns to bench on loopback.\n`);
    return 2;
  }
  let code = 0;
  for (const rate of o.rates) {
    const c = await oneRate(rate, o);
    if (c !== 0) code = c;
    if (c === 130) break;
  }
  return code;
}

async function oneRate(rate: number, o: NetnsBenchOptions): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'migbench-netns-bench-'));
  const keyFile = join(dir, 'key');
  writeFileSync(keyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  mkdirSync(join(dir, 'vms'));
  let pair: NetnsPair | null = null;
  let receiver: ChildProcess | null = null;
  let bench: ChildProcess | null = null;
  const onSigint = () => bench?.kill('SIGINT');
  process.on('SIGINT', onSigint);
  try {
    pair = createNetnsPair({ links: 2, rate, tag: `b${process.pid % 10000}` });
    o.out(`bench:real --netns: ${describeNetns(pair)}\n`);
    const listen = pair.links.map((l) => `${l.dstAddr}:${PORT}`).join(',');
    receiver = pair.spawn('dst', process.execPath, [o.cli, 'migrate-receiver', '--listen', listen, '--dir', join(dir, 'vms'), '--key-file', keyFile, '--max-incoming', '16', '--json', '--quiet', '--no-supervise'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await listening(receiver);
    const label = `netns-2x${rateTag(rate)}`;
    const args = [...o.args, '--to', listen, '--bind', pair.links.map((l) => l.srcAddr).join(','), '--key-file', keyFile, '--link-name', label, '--link-description', describeNetns(pair)];
    bench = pair.spawn('src', process.execPath, [o.script, ...args], { stdio: 'inherit' });
    return await new Promise<number>((resolve) => bench!.on('close', (c, sig) => resolve(c ?? (sig === 'SIGINT' ? 130 : 1))));
  } finally {
    process.off('SIGINT', onSigint);
    receiver?.kill('SIGKILL');
    pair?.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}

function listening(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error('migrate-receiver in the destination namespace did not start within 30 s')), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      if (out.includes('listening')) {
        clearTimeout(t);
        resolve();
      }
    });
    child.once('exit', (c) => {
      clearTimeout(t);
      reject(new Error(`migrate-receiver in the destination namespace exited (${c}) before listening`));
    });
  });
}

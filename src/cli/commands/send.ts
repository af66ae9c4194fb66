// `migbench send`: stripe a stream (synthetic or a file) over authenticated channels to `migbench serve`.

import type { Command } from 'commander';
import { open, stat } from 'node:fs/promises';
import { InputError, MigbenchError } from '../../errors.js';
import { parseAddresses, parseEndpoints } from '../../transport/tcp/address.js';
import { KEY_ENV, loadKey } from '../../transport/tcp/auth.js';
import { SenderSession, type SenderStats } from '../../transport/tcp/sender.js';
import { PatternSource, sha256InWorker } from '../../transport/tcp/source.js';
import type { CommitResult } from '../../transport/tcp/messages.js';
import { formatBytes, formatDuration, formatRate, toGbps } from '../../units/index.js';
import { durationFlag, intFlag, rateFlag, sizeFlag } from '../flags.js';
import type { Io } from '../io.js';
import { MAX_DATA_PAYLOAD } from '../../transport/defaults.js';

interface SendFlags {
  to?: string;
  keyFile?: string;
  insecure?: boolean;
  size?: string;
  file?: string;
  channelsPerAddress: string;
  rate?: string;
  bind?: string;
  chunk: string;
  window: string;
  policy: string;
  channelTimeout: string;
  seed: string;
  crcThreads: string;
  tls?: boolean;
  json?: boolean;
}

const BLOCK = 4 * 2 ** 20;

export function registerSend(program: Command, io: Io): void {
  program
    .command('send')
    .description('send a stream striped over several authenticated TCP channels and verify it at the receiver')
    .option('--to <addrs>', 'receiver ADDR:PORT[,ADDR:PORT...] (one entry per destination NIC)')
    .option('--key-file <file>', `pre-shared key file (or the ${KEY_ENV} environment variable)`)
    .option('--insecure', 'use no key (the receiver runs --insecure on loopback)')
    .option('--size <size>', 'send a synthetic pseudo-random stream of this size, e.g. 4GiB')
    .option('--file <path>', 'send this file')
    .option('--channels-per-address <n>', 'channels to each --to address (SMB opens 4 per RSS NIC)', '4')
    .option('--rate <rate>', 'token-bucket limit per channel, e.g. 1Gbit/s (emulates a slower link)')
    .option('--bind <addrs>', 'local address per --to address (or one for all), so each channel leaves by its NIC')
    .option('--chunk <size>', 'chunk size', '1MiB')
    .option('--window <size>', 'unacknowledged bytes per channel', '8MiB')
    .option('--policy <policy>', 'least-loaded or round-robin', 'least-loaded')
    .option('--channel-timeout <duration>', 'a channel with no acknowledgement for this long has failed', '5s')
    .option('--seed <n>', 'seed of the synthetic stream', '1')
    .option('--crc-threads <n>', 'worker threads computing CRC-32C of the synthetic stream (0: on the main thread)', '0')
    .option('--tls', 'TLS 1.2 with a PSK derived from the key')
    .option('--json', 'print one JSON object')
    .action(async (o: SendFlags) => {
      if (!o.to) throw new InputError({ source: '--to', expected: 'ADDR:PORT[,ADDR:PORT...]' });
      const to = parseEndpoints(o.to, '--to');
      if ((o.size === undefined) === (o.file === undefined)) throw new InputError({ source: '--size/--file', expected: 'exactly one of --size SIZE or --file PATH' });
      const binds = o.bind !== undefined ? parseAddresses(o.bind, '--bind') : [];
      if (binds.length > 1 && binds.length !== to.length) {
        throw new InputError({ source: '--bind', expected: `one address, or one per --to address (${to.length})`, got: o.bind });
      }
      const policy = o.policy;
      if (policy !== 'least-loaded' && policy !== 'round-robin') throw new InputError({ source: '--policy', expected: 'least-loaded or round-robin', got: policy });
      const key = loadKey({ ...(o.keyFile !== undefined ? { keyFile: o.keyFile } : {}), env: process.env });
      if (!key && !o.insecure) throw new InputError({ source: '--key-file', expected: `a pre-shared key file (or ${KEY_ENV}), or --insecure for a loopback receiver` });
      let size: number;
      if (o.file !== undefined) {
        try {
          const st = await stat(o.file);
          if (!st.isFile()) throw new Error('not a regular file');
          size = st.size;
        } catch (e) {
          throw new InputError({ source: '--file', expected: 'a readable file', got: o.file, detail: (e as Error).message });
        }
      } else size = sizeFlag('--size', o.size!, 1);
      const chunkSize = sizeFlag('--chunk', o.chunk, 1);
      if (chunkSize > MAX_DATA_PAYLOAD) throw new InputError({ source: '--chunk', expected: `a size up to ${formatBytes(MAX_DATA_PAYLOAD)} (the receiver's frame limit)`, got: o.chunk });
      const channelsPerTarget = intFlag('--channels-per-address', o.channelsPerAddress, 1, 32);
      if (channelsPerTarget * to.length > 32) throw new InputError({ source: '--channels-per-address', expected: 'at most 32 channels in total (SMB MaxChannelPerSession)', got: channelsPerTarget * to.length });
      const opts = {
        targets: to.map((t, i) => ({ ...t, ...(binds.length > 0 ? { localAddress: binds.length === 1 ? binds[0]! : binds[i]! } : {}) })),
        channelsPerTarget,
        ...(key ? { key } : { insecure: true }),
        tls: Boolean(o.tls),
        size,
        chunkSize,
        window: sizeFlag('--window', o.window, 1),
        policy: policy as 'least-loaded' | 'round-robin',
        channelTimeout: durationFlag('--channel-timeout', o.channelTimeout),
        crcThreads: intFlag('--crc-threads', o.crcThreads, 0, 8),
        ...(o.rate !== undefined ? { rate: rateFlag('--rate', o.rate) } : {}),
      };
      const pattern = o.file === undefined ? new PatternSource(intFlag('--seed', o.seed, 0)) : undefined;
      // The hash runs beside the transfer; a failed transfer stops it (a 64 GiB stream hashes for ~40 s).
      const stopHashing = new AbortController();
      const hashing = sha256InWorker(pattern ? { pattern } : { path: o.file! }, size, stopHashing.signal);
      hashing.catch(() => undefined);
      let s: SenderSession | undefined;
      let result: CommitResult;
      let commitSeconds: number;
      let sha: string;
      try {
        s = await SenderSession.open(opts);
        s.on('channel-failed', (e: { channel: number; reason: string }) => io.err(`migbench send: channel ${e.channel} failed: ${e.reason}; its chunks go to the other channels\n`));
        await sendStream(s, size, pattern, o.file);
        await s.flush();
        const t = performance.now();
        result = await s.commit(await hashing);
        commitSeconds = (performance.now() - t) / 1000;
        sha = (await hashing).toString('hex');
      } catch (e) {
        stopHashing.abort();
        // --json prints one object whatever happens: here the failure, with what was acknowledged.
        if (o.json) io.out(`${JSON.stringify(failureJson(e, s?.stats()))}\n`);
        throw e;
      } finally {
        s?.close();
      }
      const st = s.stats();
      if (o.json) io.out(`${JSON.stringify(toJson(st, result, sha, commitSeconds))}\n`);
      else io.out(human(st, result, sha, commitSeconds));
      if (result.status === 'unchecked') io.err(`migbench send: not verified: ${result.reason}\n`);
      if (result.status === 'failed') throw new MigbenchError('E_TRANSPORT', `the receiver failed: ${result.reason}`);
      if (result.status === 'mismatch' || result.status === 'incomplete') {
        throw new MigbenchError('E_TRANSPORT', `verification failed (${result.status}): ${result.reason}`);
      }
    });
}

async function sendStream(s: SenderSession, size: number, pattern: PatternSource | undefined, file: string | undefined): Promise<void> {
  if (pattern) {
    for (let off = 0; off < size; off += BLOCK) await s.write(off, pattern.view(off, Math.min(BLOCK, size - off)));
    return;
  }
  const fh = await open(file!, 'r');
  try {
    for (let off = 0; off < size; ) {
      const buf = Buffer.allocUnsafe(Math.min(BLOCK, size - off));
      const { bytesRead } = await fh.read(buf, 0, buf.length, off);
      if (bytesRead <= 0) throw new InputError({ source: '--file', expected: 'a file that does not shrink while it is sent', got: file });
      await s.write(off, buf.subarray(0, bytesRead));
      off += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

/** The --json object of a transfer that failed (nothing verified): the error, and what was acknowledged. */
function failureJson(e: unknown, st: SenderStats | undefined) {
  const err = e instanceof MigbenchError ? { code: e.code, message: e.message } : { code: 'E_INTERNAL', message: (e as Error).message };
  return {
    bytes: st?.bytesAcked ?? 0,
    seconds: st?.seconds ?? 0,
    channels: (st?.channels ?? []).map((c) => ({ id: c.id, to: c.target, bind: c.localAddress, bytes: c.bytesAcked, failed: c.failure !== null, failure: c.failure })),
    status: 'failed',
    verified: false,
    reason: err.message,
    error: err,
  };
}

function toJson(st: SenderStats, r: CommitResult, sha: string, commitSeconds: number) {
  return {
    bytes: st.bytesAcked,
    seconds: st.seconds,
    goodput_gbps: toGbps(st.goodputBps),
    channels: st.channels.map((c) => ({
      id: c.id,
      to: c.target,
      bind: c.localAddress,
      bytes: c.bytesAcked,
      goodput_gbps: toGbps(c.goodputBps),
      failed: c.failure !== null,
      failure: c.failure,
    })),
    bytes_resent: st.bytesResent,
    commit_seconds: commitSeconds,
    sha256: sha,
    status: r.status,
    verified: r.status === 'verified',
    reason: r.reason,
  };
}

function human(st: SenderStats, r: CommitResult, sha: string, commitSeconds: number): string {
  const lines = st.channels.map((c) => {
    const from = c.localAddress ? ` from ${c.localAddress}` : '';
    const state = c.failure !== null ? `  FAILED: ${c.failure}` : '';
    return `  channel ${String(c.id).padStart(2)} to ${c.target}${from}: ${formatBytes(c.bytesAcked)} at ${formatRate(c.goodputBps)}${state}\n`;
  });
  const failed = st.channels.filter((c) => c.failure !== null).length;
  const resent = st.bytesResent > 0 ? `, ${formatBytes(st.bytesResent)} re-sent after failover` : '';
  return (
    lines.join('') +
    `total: ${formatBytes(st.bytesAcked)} in ${formatDuration(st.seconds)}: ${formatRate(st.goodputBps)} over ${st.channels.length} channels` +
    `${failed > 0 ? ` (${failed} failed)` : ''}${resent}\n` +
    `sha256 ${sha}: ${r.status} (${r.reason}; commit took ${formatDuration(commitSeconds)})\n`
  );
}


// `migbench serve`: the receiving end of a real multichannel transfer.

import type { Command } from 'commander';
import { totalmem } from 'node:os';
import { InputError, MigbenchError } from '../../errors.js';
import { formatEndpoint, parseEndpoints } from '../../transport/tcp/address.js';
import { KEY_ENV, loadKey } from '../../transport/tcp/auth.js';
import { DEFAULT_ADMISSION } from '../../transport/tcp/admission.js';
import { outputMode, Outputs } from '../../transport/tcp/outputs.js';
import { Receiver, type CommitReport, type ReceiverLogEvent, type ReceiverSession } from '../../transport/tcp/receiver.js';
import { formatBytes, formatDuration, formatRate, toGbps } from '../../units/index.js';
import { durationFlag, intFlag, sizeFlag } from '../flags.js';
import type { Io } from '../io.js';

interface ServeFlags {
  listen?: string;
  keyFile?: string;
  insecure?: boolean;
  out?: string;
  force?: boolean;
  discard?: boolean;
  memoryBudget?: string;
  maxSize?: string;
  tls?: boolean;
  json?: boolean;
  once?: boolean;
  window?: string;
  maxConnections?: string;
  maxPerAddress?: string;
  maxUnauthenticated?: string;
  maxUnauthenticatedPerAddress?: string;
  idleTimeout?: string;
  handshakeTimeout?: string;
  quiet?: boolean;
}

export function registerServe(program: Command, io: Io): void {
  program
    .command('serve')
    .description('receive multichannel transfers: authenticate channels, write chunks at their offsets, verify the commit')
    .option('--listen <addrs>', 'ADDR:PORT[,ADDR:PORT...] to listen on (port 0 picks one)')
    .option('--key-file <file>', `pre-shared key file (or the ${KEY_ENV} environment variable)`)
    .option('--insecure', 'run without a key; only on loopback addresses')
    .option('--out <path>', 'write the stream to FILE (one session at a time), or DIR/<session>.bin per session (atomically: a temp file renamed after a verified commit)')
    .option('--force', 'with --out FILE: replace an existing file')
    .option('--discard', 'discard the data (benchmarks); the SHA-256 cannot be checked')
    .option('--max-size <size>', 'largest stream accepted (default 8GiB in memory, 1TiB otherwise)')
    .option('--memory-budget <size>', "bytes all open in-memory sessions may hold together (default 75% of this host's memory)")
    .option('--tls', 'TLS 1.2 with a PSK derived from the key (the sender needs --tls too)')
    .option('--window <size>', 'bytes a channel may have read but not yet written before reading pauses', '32MiB')
    .option('--max-connections <n>', 'connections in total', '256')
    .option('--max-per-address <n>', 'connections per remote address', '64')
    .option('--max-unauthenticated <n>', `connections that have not proved the key yet, in total (the oldest is dropped for a newcomer; default ${DEFAULT_ADMISSION.maxUnauthenticated}, at most half of --max-connections)`)
    .option('--max-unauthenticated-per-address <n>', `the same per remote address (default ${DEFAULT_ADMISSION.maxUnauthenticatedPerAddress})`)
    .option('--idle-timeout <duration>', 'drop a silent connection after this long', '60s')
    .option('--handshake-timeout <duration>', 'drop a connection that does not authenticate in time', '5s')
    .option('--once', 'exit after the first session ends (exit 0 when it verified)')
    .option('--quiet', 'do not log channel events to stderr')
    .option('--json', 'one JSON object per line: the listening addresses, then one per session')
    .action(async (o: ServeFlags) => {
      if (!o.listen) throw new InputError({ source: '--listen', expected: 'ADDR:PORT[,ADDR:PORT...]' });
      const listen = parseEndpoints(o.listen, '--listen', { allowPortZero: true });
      const mode = outputMode(o);
      const key = loadKey({ ...(o.keyFile !== undefined ? { keyFile: o.keyFile } : {}), env: process.env });
      const sinkKind = mode.kind === 'dir' ? 'file' : mode.kind;
      const maxSize = o.maxSize !== undefined ? sizeFlag('--max-size', o.maxSize, 1) : sinkKind === 'memory' ? 8 * 2 ** 30 : 2 ** 40;
      const budget = o.memoryBudget !== undefined ? sizeFlag('--memory-budget', o.memoryBudget, 1) : Math.floor(0.75 * totalmem());
      const maxConnections = intFlag('--max-connections', o.maxConnections ?? '256', 2);
      const outputs = new Outputs(mode);
      const r = new Receiver({
        listen,
        ...(key ? { key } : {}),
        insecure: Boolean(o.insecure),
        tls: Boolean(o.tls),
        maxSize,
        ...(sinkKind === 'memory' ? { sizeBudget: budget } : {}),
        window: sizeFlag('--window', o.window ?? '32MiB', 65536),
        maxConnections,
        maxPerAddress: intFlag('--max-per-address', o.maxPerAddress ?? '64'),
        // Default: 128, or half of a smaller --max-connections (the rest stays for authenticated channels).
        ...(o.maxUnauthenticated !== undefined ? { maxUnauthenticated: intFlag('--max-unauthenticated', o.maxUnauthenticated, 1, maxConnections - 1) } : {}),
        ...(o.maxUnauthenticatedPerAddress !== undefined ? { maxUnauthenticatedPerAddress: intFlag('--max-unauthenticated-per-address', o.maxUnauthenticatedPerAddress) } : {}),
        idleTimeout: durationFlag('--idle-timeout', o.idleTimeout ?? '60s'),
        handshakeTimeout: durationFlag('--handshake-timeout', o.handshakeTimeout ?? '5s'),
        sink: ({ session, size }) => outputs.make(session, size),
        log: (e) => {
          if (!o.quiet && e.event !== 'listening') io.err(`migbench serve: ${describe(e)}\n`);
        },
      });
      r.on('session-end', (s: ReceiverSession) => outputs.ended(s.id));
      const stale = outputs.cleanStale();
      for (const f of stale.removed) io.err(`migbench serve: removed ${f}, a temporary file a stopped serve left\n`);
      for (const f of stale.live) io.err(`migbench serve: ${f} belongs to another running process; left alone\n`);
      if (!key && o.insecure) io.err('migbench serve: --insecure: no key, loopback only; anyone on this host can send\n');
      const eps = await r.listen();
      const where = mode.kind === 'file' ? ` ${mode.path}` : mode.kind === 'dir' ? ` per session in ${mode.dir}` : mode.kind === 'memory' ? `, budget ${formatBytes(budget)}` : '';
      io.err(`migbench serve: listening on ${eps.map(formatEndpoint).join(', ')} (${sinkKind} sink${where}${o.tls ? ', TLS' : ''})\n`);
      if (o.json) io.out(`${JSON.stringify({ listening: eps.map(formatEndpoint) })}\n`);
      let lastOk = true;
      r.on('commit', (c: CommitReport) => {
        lastOk = c.status === 'verified' || c.status === 'unchecked';
        const file = outputs.fileOf(c.session) ?? null;
        if (o.json) io.out(`${JSON.stringify({ ...toJson(c), file: c.status === 'verified' || c.status === 'unchecked' ? file : null })}\n`);
        else io.out(`${human(c)}${file && c.status === 'verified' ? ` -> ${file}` : ''}\n`);
      });
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        if (o.once) r.once('session-end', stop);
      });
      await r.close();
      if (o.once && !lastOk) throw new MigbenchError('E_TRANSPORT', 'the session did not verify');
    });
}

function describe(e: ReceiverLogEvent): string {
  const where = [e.remote, e.session ? `session ${e.session}` : '', e.channel !== undefined ? `channel ${e.channel}` : ''].filter(Boolean).join(' ');
  return `${e.event}${where ? ` ${where}` : ''}${e.code ? ` [${e.code}]` : ''}${e.reason ? `: ${e.reason}` : ''}`;
}

function toJson(c: CommitReport) {
  return {
    session: c.session,
    bytes: c.written,
    size: c.size,
    seconds: c.seconds,
    data_seconds: c.dataSeconds,
    goodput_gbps: c.dataSeconds > 0 ? toGbps(c.written / c.dataSeconds) : 0,
    channels: c.channels,
    sink: c.sink,
    sha256: c.sha256,
    status: c.status,
    verified: c.verified,
    reason: c.reason,
  };
}

function human(c: CommitReport): string {
  const rate = c.dataSeconds > 0 ? formatRate(c.written / c.dataSeconds) : 'n/a';
  return `session ${c.session}: ${formatBytes(c.written)} over ${c.channels} channel(s) in ${formatDuration(c.dataSeconds)} (${rate}) into ${c.sink}: ${c.status}: ${c.reason}`;
}

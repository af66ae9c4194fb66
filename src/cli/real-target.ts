// The flags that say where and how a real migration (or a calibration of one) goes: the destination
// (--to, --key-file, --bind, a local receiver's --no-reserve) and the transport (--chunk, --window).
// `migrate` and `calibrate` share them, so a profile and the run it predicts are described alike.

import type { Command } from 'commander';
import { InputError } from '../errors.js';
import type { RunTarget } from '../drivers/real/profile.js';
import { formatEndpoint, parseAddresses, parseEndpoints, type Endpoint } from '../transport/tcp/address.js';
import { KEY_ENV, loadKey } from '../transport/tcp/auth.js';
import { MAX_DATA_PAYLOAD } from '../transport/defaults.js';
import { formatBytes } from '../units/index.js';
import { sizeFlag } from './flags.js';

export interface TargetFlags {
  to?: string;
  keyFile?: string;
  bind?: string;
  chunk: string;
  window: string;
  reserve: boolean;
}

export interface Target {
  to?: Endpoint[];
  key?: Buffer;
  bind?: string[];
  chunkSize: number;
  window: number;
  destReserve: boolean;
}

/** Register the target flags (the caller adds --channels, --rate and its own). */
export function addTargetOptions(cmd: Command): Command {
  return cmd
    .option('--to <addrs>', 'destination ADDR:PORT[,...] running `migbench migrate-receiver` (default: one started on loopback)')
    .option('--key-file <file>', `pre-shared key file for --to (or the ${KEY_ENV} environment variable)`)
    .option('--bind <addrs>', 'local address per --to address (or one for all)')
    .option('--chunk <size>', 'transport chunk size', '1MiB')
    .option('--window <size>', 'unacknowledged bytes per channel', '8MiB')
    .option('--no-reserve', "local receiver: do not reserve the guest's memory (zeroed, faulted in) before the migration");
}

export function targetFrom(o: TargetFlags): Target {
  const to = o.to !== undefined ? parseEndpoints(o.to, '--to') : undefined;
  const key = loadKey({ ...(o.keyFile !== undefined ? { keyFile: o.keyFile } : {}), env: process.env });
  if (to && !key) throw new InputError({ source: '--key-file', expected: `a pre-shared key file (or ${KEY_ENV}) to reach --to` });
  const bind = o.bind !== undefined ? parseAddresses(o.bind, '--bind') : undefined;
  if (bind && bind.length > 1 && bind.length !== (to?.length ?? 1)) throw new InputError({ source: '--bind', expected: 'one address, or one per --to address', got: o.bind });
  const chunkSize = sizeFlag('--chunk', o.chunk, 4096);
  if (chunkSize > MAX_DATA_PAYLOAD) throw new InputError({ source: '--chunk', expected: `at most ${formatBytes(MAX_DATA_PAYLOAD)} (the receiver's frame limit)`, got: o.chunk });
  return { ...(to ? { to } : {}), ...(key ? { key } : {}), ...(bind ? { bind } : {}), chunkSize, window: sizeFlag('--window', o.window, 65536), destReserve: o.reserve };
}

/** The run as a profile must match it. */
export function runTarget(t: Target, channels: number, rate: number | null): RunTarget {
  return { to: t.to ? t.to.map(formatEndpoint) : null, bind: t.bind ?? null, destReserve: t.to ? null : t.destReserve, chunkBytes: t.chunkSize, windowBytes: t.window, channels, rate };
}

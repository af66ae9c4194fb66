// What every role of a real migration shares (the source's memory, the storage move, the destination
// control, the probes): the scenario and options, the migration's identity and clock, its log and
// measurements, and the way back to the loop for a failure the world shows.

import { randomBytes } from 'node:crypto';
import type { Cause, Event } from '../../migration/events.js';
import { MigbenchError } from '../../errors.js';
import type { Scenario } from '../../scenario.js';
import { CHUNK_SIZE, CHANNEL_WINDOW } from '../../transport/defaults.js';
import type { RealMeasured, RealOptions } from './options.js';

/** A step was left behind: the migration moved on (a failure, a rollback) while it was in progress. */
export class Abandoned extends Error {
  constructor() {
    super('the step was abandoned');
  }
}

export class RealContext {
  readonly s: Scenario;
  readonly id = randomBytes(8).toString('hex');
  readonly vm = `vm-${this.id}`;
  readonly channels: number;
  /** Bytes per chunk on the channels (the transport's 1 MiB unless `chunkSize` says otherwise). */
  readonly chunkSize: number;
  readonly window: number;
  readonly log: (line: string) => void;
  readonly measured: RealMeasured;
  private t0 = 0;
  private deliver: ((ev: Event) => boolean) | null = null;

  constructor(readonly o: RealOptions) {
    this.s = o.scenario;
    this.channels = o.channels ?? 4;
    this.chunkSize = o.chunkSize ?? CHUNK_SIZE;
    this.window = o.window ?? CHANNEL_WINDOW;
    this.log = o.log ?? (() => undefined);
    this.measured = emptyMeasured(this.vm, this.channels, o.rate ?? null);
  }

  get ramBytes(): number {
    return this.s.memoryBytes;
  }

  /** Seconds since the timed migration started. */
  now(): number {
    return (performance.now() - this.t0) / 1000;
  }

  /** The timed migration starts now; failures go to the loop from here on (`deliver`: false once it ended). */
  begin(deliver: (ev: Event) => boolean): void {
    this.t0 = performance.now();
    this.deliver = deliver;
  }

  /** A failure the world showed (a lost session, an error from the destination): the core decides. */
  fail(cause: Cause, message: string): void {
    if (this.deliver?.({ type: 'failure', now: this.now(), cause })) this.noteFailure(cause, message);
  }

  /** A failure the core took up: logged, and the first is kept for the report (`real.failure`). */
  noteFailure(cause: Cause, message: string): void {
    this.log(`failure (${cause}): ${message}`);
    this.measured.failure ??= { cause, message };
  }
}

/** The VM configuration sent at setup: a small JSON description padded to `bytes`. */
export function configBlob(bytes: number, vm: string): Buffer {
  const b = Buffer.alloc(bytes, 0x20);
  b.write(JSON.stringify({ vm, generator: 'migbench' }).slice(0, bytes));
  return b;
}

/** Errors that mean the destination or the path to it failed (rather than a bug). */
export function isTransportError(e: unknown): e is MigbenchError {
  return e instanceof MigbenchError && ['E_TRANSPORT', 'E_PROTOCOL', 'E_AUTH'].includes(e.code);
}

function emptyMeasured(vm: string, channels: number, rate: number | null): RealMeasured {
  return {
    vm,
    channels,
    rate_bps: rate,
    targets: [],
    link_goodput_bps: null,
    page_path_goodput_bps: null,
    zero_scan_bps: null,
    run_cost_s: null,
    control_rtt_s: null,
    round0_goodput_bps: null,
    phases: { config_s: 0, storage_copy_s: 0, precopy_s: 0, blackout_s: 0, handoff_s: 0, resume_s: 0, cleanup_s: 0 },
    dest_prepare_s: null,
    dest_cpu_s: null,
    dest_memory_reserved: null,
    dest_resume_s: null,
    in_doubt: null,
    bytes_resent: 0,
    failure: null,
    channels_failed: [],
    hashes: { source_ram: null, dest_ram: null, source_disk: null, dest_disk: null, state: null, dest_state: null },
    source_intact: { memory: null, disk: null },
    guest_writes: 0,
    disk_writes: 0,
    held_writes: 0,
    verify_s: 0,
    notes: [],
  };
}

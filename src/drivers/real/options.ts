// What a real migration is given, what it measured besides the result record, and the checks of its
// inputs that the real engine adds to the scenario's own.

import { totalmem } from 'node:os';
import { InputError } from '../../errors.js';
import { formatBytes } from '../../units/index.js';
import type { RealGuest } from '../../guest/real/guest.js';
import type { MigrationResult } from '../../result.js';
import type { Scenario } from '../../scenario.js';
import type { Endpoint } from '../../transport/tcp/address.js';
import type { DiskWriter } from './disk-writer.js';
import { MAX_PIECE } from './protocol.js';

export interface RealOptions {
  /**
   * Cancels the migration when aborted (the CLI's Ctrl-C): before the point of no return it rolls back
   * (rollback_reason `cancelled`: the VM keeps running on the source, the destination is cleaned up);
   * after it the migration completes. Aborted before the migration starts: InterruptedError.
   */
  signal?: AbortSignal;
  scenario: Scenario;
  /** Channels in total, spread over the targets like SMB spreads them over NICs (default 4). */
  channels?: number;
  /** Payload rate of the whole link, bytes/s, shared evenly by the channels (token buckets); none: unlimited. */
  rate?: number;
  /** Destination addresses (`migbench migrate-receiver` there); none: start one on loopback. */
  to?: Endpoint[];
  /** Pre-shared key for `to` (a local receiver gets a fresh random key). */
  key?: Buffer;
  /** Local address per target (or one for all), so channels leave by their NIC. */
  bind?: string[];
  chunkSize?: number;
  window?: number;
  /** Where the local receiver keeps the VM's files (kept); default: a temporary directory removed after the run. */
  destDir?: string;
  /** Where the source disk image is created; default: a temporary directory removed after the run. */
  sourceDir?: string;
  /** Local destination: keep the guest's memory size zeroed and faulted in before the migration (as a
   *  host's free memory), instead of faulting each page in as its data arrives (default true). */
  destReserve?: boolean;
  /**
   * Bytes of the probes before the migration (probe.ts; 0: none): the plain link probe sends this much,
   * the page-path probe walks a scratch memory of this size (whole MiB; under 1 MiB it is skipped, and so
   * is it on a rate-limited link), the zero-page read probe at most 128 MiB of it.
   */
  probeBytes?: number;
  /** Hand the source guest and disk to the caller instead of stopping them (tests inspect them). */
  keepSource?: boolean;
  /**
   * Awaited once the source guest (and disk) run and the link was probed, just before the timed migration
   * (an evacuation starts and probes every guest first, then lets each move when its slot opens).
   */
  beforeMigrating?: () => Promise<void>;
  /** Called when the timed migration ends (completed or rolled back), before the untimed verification. */
  onMigrated?: () => void;
  /** Awaited before that verification (an evacuation verifies every VM after the drain, so the hashing
   *  does not take CPU from the moves still running). */
  beforeVerify?: () => Promise<void>;
  /**
   * A measurement, not a move to keep (calibration, benches): the destination removes the VM's files once
   * its source verified and released it, so runs against a remote receiver leave nothing there.
   */
  scratch?: boolean;
  /**
   * Measure the migration's CPU (source_cpu_s, default true): the source process's CPU time over the timed
   * migration less its guest's threads'. Only right when this migration is the process's only one; an
   * evacuation, moving several in one process, turns it off.
   */
  measureCpu?: boolean;
  log?: (line: string) => void;
}

export interface PhaseTimes {
  config_s: number;
  storage_copy_s: number;
  precopy_s: number;
  blackout_s: number;
  handoff_s: number;
  resume_s: number;
  cleanup_s: number;
}

/** Measurements beside the result record (migrate --json prints them as `real`). */
export interface RealMeasured {
  /** The migrated VM's name at the destination (its files are `<vm>.vmcx`, `<vm>-disk0.img` there). */
  vm: string;
  channels: number;
  rate_bps: number | null;
  targets: string[];
  /** Loopback goodput of the link probe before the migration (payload bytes/s), null without one. */
  link_goodput_bps: number | null;
  /**
   * Goodput of the migration's own page path before the migration (payload bytes/s): the non-zero pages of
   * a scratch memory walked, copied, checksummed and sent as whole runs by the code the rounds run (into
   * the destination's probe ring), while the guest runs; median of 3 passes. Null without a page-path
   * probe (none asked, or a rate-limited link).
   */
  page_path_goodput_bps: number | null;
  /** Bytes per second of zero memory round 0's walk reads to find zero pages (probed), null without a probe. */
  zero_scan_bps: number | null;
  /** Seconds per run of scattered pages beyond their bytes at the page path's rate (probed), null without a probe. */
  run_cost_s: number | null;
  /** Median round trip of a control request, seconds. */
  control_rtt_s: number | null;
  /** Memory bytes per second of round 0 (non-zero pages over the round's duration). */
  round0_goodput_bps: number | null;
  phases: PhaseTimes;
  /** The destination reserving memory and creating the VM's files. */
  dest_prepare_s: number | null;
  /** The destination process's CPU seconds from this migration's hello to its end, as it reported them
   *  (null: not reported, or other migrations ran there at the same time). */
  dest_cpu_s: number | null;
  /** Local destination: its memory for the VM was reserved (zeroed, faulted in) before the migration. */
  dest_memory_reserved: boolean | null;
  /** From the source's resume request to the destination's resume instant (loopback: one clock). */
  dest_resume_s: number | null;
  /**
   * The resume's answer was lost: when the source noticed (seconds since the start), why, when the
   * destination's word came and what it was (null when the window never opened).
   */
  in_doubt: { since_s: number; cause: string; resolved_s: number | null; owner: 'source' | 'destination' | null } | null;
  bytes_resent: number;
  /** The failure that ended the migration's way forward (what the world said), null when none did. */
  failure: { cause: string; message: string } | null;
  channels_failed: string[];
  hashes: { source_ram: string | null; dest_ram: string | null; source_disk: string | null; dest_disk: string | null; state: string | null; dest_state: string | null };
  /** After a rollback: the source's memory and disk equal a replay of the guest's own writes. */
  source_intact: { memory: boolean | null; disk: boolean | null };
  guest_writes: number;
  disk_writes: number;
  held_writes: number;
  /** Seconds spent hashing and checking after the timed migration (not part of total_time_s). */
  verify_s: number;
  notes: string[];
}

export interface SourceHandles {
  guest: RealGuest;
  disk: DiskWriter | null;
  diskPath: string | null;
  /** Stop the guest and its disk writer and remove temporary files. */
  release(): Promise<void>;
}

export interface RealRun {
  result: MigrationResult & { verified: boolean | null };
  measured: RealMeasured;
  source?: SourceHandles;
}

/** The real engine's limits on a scenario (each names its flag). */
export function checkRealScenario(o: RealOptions): void {
  const s = o.scenario;
  if (s.mode !== 'cluster' && s.mode !== 'shared-nothing') {
    throw new InputError({ source: '--mode', expected: 'cluster (memory; the files stay) or shared-nothing (memory and a disk image) for the real engine', got: s.mode });
  }
  if (s.memoryBytes % 4096 !== 0 || s.memoryBytes < 1 << 20) throw new InputError({ source: '--memory', expected: 'a whole number of 4 KiB pages, at least 1MiB', got: s.memoryBytes });
  // The guest's memory is real here (and a local destination holds a second copy): never more than this
  // host has, or the run ends in the kernel's OOM killer.
  const copies = o.to ? 1 : 2;
  const host = totalmem();
  if (s.memoryBytes * copies > 0.75 * host) {
    const most = Math.floor((0.75 * host) / copies / 2 ** 20) * 2 ** 20;
    throw new InputError({
      source: '--memory',
      expected: `at most ${formatBytes(most)} on this host (${formatBytes(host)} of memory; ${o.to ? 'the guest' : 'the guest and its local destination'} may use 75% of it)`,
      got: formatBytes(s.memoryBytes),
    });
  }
  if (s.timing.configBytes > MAX_PIECE) throw new InputError({ source: '--config-size', expected: `at most ${MAX_PIECE} bytes for the real engine (it travels in one control message)`, got: s.timing.configBytes });
  if (s.vm.source !== '--disk') throw new InputError({ source: '--vm', expected: 'no VM spec: the real engine moves one disk image (--disk)', got: s.vm.source });
  const channels = o.channels ?? 4;
  const targets = o.to?.length ?? 1;
  if (!Number.isInteger(channels) || channels < 1 || channels > 32 || channels % targets !== 0) {
    throw new InputError({ source: '--channels', expected: `1 to 32 channels, a multiple of the ${targets} --to address(es)`, got: channels });
  }
  for (const f of s.faults) {
    if (f.kind === 'stall' && o.to) throw new InputError({ source: '--fault', expected: 'stall only with a local receiver (it stops the receiver process)', got: f.text });
  }
}

// What an evacuation is asked to do and what it reports. Field names of the result are the JSON keys and
// CSV columns (snake_case, the unit in the name); docs/evacuation.md documents each.

import type { ScenarioInput } from '../scenario.js';
import type { VmOrder } from './plan.js';
import type { VmEntry } from './vm-fields.js';

/** A fault of the whole evacuation, at a time since it started. */
export interface EvacuationFault {
  kind: 'link-down' | 'nic-down' | 'dest-crash';
  /** Seconds since the start. */
  time: number;
  text: string;
}

export interface EvacuationSpec {
  /** The options every VM shares (a `simulate` scenario); an inventory entry overrides memory, workload, disk and mode. */
  base: ScenarioInput;
  vms: VmEntry[];
  /** Live migrations at once per host (Set-VMHost -MaximumVirtualMachineMigrations, default 2). */
  maxLive: number;
  /** Storage migrations at once per host (-MaximumStorageMigrations, default 2). */
  maxStorage: number;
  /** A single host's drain: the VMs go to this many destination hosts. */
  destinations: number;
  /** Memory each destination host (or, rolling, each node) has for VMs, bytes; null: unlimited. */
  destMemory: number | null;
  order: VmOrder;
  /** The maintenance window, seconds (null: none given). */
  window: number | null;
  /** A rolling drain of this many cluster nodes, one after another (null: one host's drain). */
  rolling: number | null;
  /** Rolling: time a node takes to update and come back before the next node drains, seconds. */
  updateTime: number;
  faults: EvacuationFault[];
}

export interface EvacuatedVm {
  name: string;
  source: string;
  destination: string | null;
  mode: string;
  running: boolean;
  memory_bytes: number;
  /** Seconds from the start of its host's drain until its migration started. */
  queued_s: number;
  start_s: number;
  end_s: number;
  total_time_s: number;
  downtime_ms: number;
  memory_bytes_sent: number;
  total_bytes_sent: number;
  storage_bytes_copied: number;
  /** `completed`, `rolled_back` (it stays on its source), or `unplaced` (no host had room: not moved). */
  outcome: 'completed' | 'rolled_back' | 'unplaced';
  rollback_reason: string | null;
  converged: boolean | null;
  missed_pings: number;
  verified: boolean | null;
  /** Why a VM was not placed (null otherwise). */
  note: string | null;
}

export interface NodeDrain {
  node: string;
  start_s: number;
  end_s: number;
  vms: number;
  moved: number;
}

export interface LinkUse {
  /** host/nic/tx or host/nic/rx (the real engine: source/IF/tx|rx, this host's interfaces) */
  link: string;
  /** Line rate in bits/s; null where the kernel knows none (loopback). */
  capacity_bps: number | null;
  /** Bytes/s over the makespan, and in the busiest moment (the simulator: instantaneous; the real engine: its busiest timeline slice). */
  mean_bytes_per_s: number;
  peak_bytes_per_s: number;
  /** The same as shares of the capacity (null without one). */
  mean_utilisation: number | null;
  peak_utilisation: number | null;
}

/** One link over one timeline slice. */
export interface LinkSample {
  t_s: number;
  link: string;
  /** Bytes/s the link carried over the slice. */
  bytes_per_s: number;
  /** Share of its capacity (null without one). */
  utilisation: number | null;
}

export interface EvacuationResult {
  makespan_s: number;
  window_s: number | null;
  /** The drain ends within the window (null without one), and by how much (negative: over). */
  fits_window: boolean | null;
  window_margin_s: number | null;
  peak_live: number;
  peak_storage: number;
  /** Distinct VMs (a rolling drain may move one VM more than once). */
  vm_count: number;
  /** Moves attempted or reported: one `vms` row each (rolling: a VM placed on a node not yet drained moves again when that node drains). */
  migrations: number;
  moved: number;
  failed: number;
  unplaced: number;
  max_live: number;
  max_storage: number;
  vms: EvacuatedVm[];
  nodes: NodeDrain[];
  links: LinkUse[];
  /** Each link's throughput and utilisation, averaged over `interval_s` slices. */
  timeline: { interval_s: number; samples: LinkSample[] };
  faults: string[];
}

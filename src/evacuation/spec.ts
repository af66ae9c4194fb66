// An evacuation's options as given (flags, or a bench matrix entry: strings such as "2", "64GiB", "30min")
// validated into an EvacuationSpec; every error names its flag and the form it expects.

import { InputError, UnitError } from '../errors.js';
import type { ScenarioInput } from '../scenario.js';
import { parseDuration, parseSize } from '../units/index.js';
import { readInventory } from './inventory.js';
import { VM_ORDERS, type VmOrder } from './plan.js';
import type { EvacuationFault, EvacuationSpec } from './types.js';
import type { VmEntry } from './vm-fields.js';

export interface EvacuationInput {
  vms?: string | number;
  inventory?: string;
  maxLive?: string | number;
  maxStorage?: string | number;
  destinations?: string | number;
  destMemory?: string;
  order?: string;
  window?: string;
  rolling?: string | number;
  updateTime?: string;
  fault?: string[];
}

/** Most VMs `--vms` makes (an inventory has its own cap). */
export const MAX_VMS = 100_000;
const FAULT_KINDS = ['link-down', 'nic-down', 'dest-crash'] as const;

function int(flag: string, raw: string | number | undefined, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (raw === undefined) return dflt;
  const s = String(raw).trim();
  const n = Number(s);
  if (!/^[0-9]+$/.test(s) || n < min || n > max) throw new InputError({ source: flag, expected: `a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}`, got: raw });
  return n;
}

function unit<T>(flag: string, raw: string, parse: (v: string) => T, expected: string): T {
  try {
    return parse(raw);
  } catch (e) {
    if (e instanceof UnitError) throw new InputError({ source: flag, expected, got: raw });
    throw e;
  }
}

/** `KIND@TIME`: a fault of the whole evacuation (link-down or nic-down of the host being drained, dest-crash of its first destination). */
export function parseEvacuationFault(text: string): EvacuationFault {
  const at = text.indexOf('@');
  const kind = at < 0 ? '' : text.slice(0, at).trim();
  const form = `KIND@TIME with KIND one of ${FAULT_KINDS.join(', ')} and TIME a time since the evacuation began, such as 30s`;
  if (!(FAULT_KINDS as readonly string[]).includes(kind)) throw new InputError({ source: '--fault', expected: form, got: text });
  const time = unit('--fault', text.slice(at + 1).trim(), parseDuration, form);
  if (!(time >= 0)) throw new InputError({ source: '--fault', expected: form, got: text });
  return { kind: kind as EvacuationFault['kind'], time, text };
}

/** `count` VMs alike (every option from the base scenario), named vm1..vmN. */
export function alikeVms(count: number, memoryBytes: number): VmEntry[] {
  return Array.from({ length: count }, (_, i) => ({ name: `vm${i + 1}`, memoryBytes, workload: null, diskBytes: null, mode: null, running: true, host: null, origin: `--vms (vm${i + 1})` }));
}

/**
 * The spec from the given options; `memoryOf` is the base scenario's memory (for `--vms`, every VM alike).
 * `--vms` and `--inventory` exclude each other; without either, 8 VMs alike.
 */
export function evacuationSpec(o: EvacuationInput, base: ScenarioInput, memoryOf: number): EvacuationSpec {
  if (o.vms !== undefined && o.inventory !== undefined) throw new InputError({ source: '--vms', expected: 'either --vms N (VMs alike) or --inventory FILE, not both', got: o.vms });
  const vms = o.inventory !== undefined ? readInventory(o.inventory) : alikeVms(int('--vms', o.vms, 8, 1, MAX_VMS), memoryOf);
  const order = o.order ?? 'inventory';
  if (!(VM_ORDERS as readonly string[]).includes(order)) throw new InputError({ source: '--order', expected: `one of ${VM_ORDERS.join(', ')}`, got: order });
  const destMemory = o.destMemory === undefined ? null : unit('--dest-memory', o.destMemory, parseSize, 'a size such as 256GiB');
  if (destMemory !== null && !(destMemory > 0)) throw new InputError({ source: '--dest-memory', expected: 'a positive size such as 256GiB', got: o.destMemory });
  const window = o.window === undefined ? null : unit('--window', o.window, parseDuration, 'a duration such as 2h or 45min');
  if (window !== null && !(window > 0)) throw new InputError({ source: '--window', expected: 'a positive duration such as 2h', got: o.window });
  const updateTime = o.updateTime === undefined ? 0 : unit('--update-time', o.updateTime, parseDuration, 'a duration such as 20min');
  if (!(updateTime >= 0)) throw new InputError({ source: '--update-time', expected: 'a duration of 0 or more', got: o.updateTime });
  const rolling = o.rolling === undefined ? null : int('--rolling', o.rolling, 0, 2, 1024);
  const destinations = int('--destinations', o.destinations, 1, 1, 1024);
  if (rolling !== null && o.destinations !== undefined) throw new InputError({ source: '--destinations', expected: 'no --destinations with --rolling (each node drains to the others)', got: o.destinations });
  return {
    base,
    vms,
    maxLive: int('--max-live', o.maxLive, 2, 1, 64),
    maxStorage: int('--max-storage', o.maxStorage, 2, 1, 64),
    destinations,
    destMemory,
    order: order as VmOrder,
    window,
    rolling,
    updateTime,
    faults: (o.fault ?? []).map(parseEvacuationFault),
  };
}

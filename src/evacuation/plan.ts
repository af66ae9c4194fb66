// Which VM moves first, and where each one goes.
//
// Order: the inventory's order, largest memory first, or smallest first; a stable sort, so VMs of equal
// memory keep their inventory order.
//
// Placement is "worst fit": each VM, in the given order, goes to the destination host with the most free
// memory that still holds it (ties: the host listed first), and that host's free memory shrinks by the
// VM's memory plus a per-VM overhead. Worst fit spreads the VMs over the hosts, as a cluster drain does:
// Windows Server 2012's node drain places VMs with "memory-aware intelligent placement" (Failover
// Clustering team blog, 2012), choosing the node best suited by memory and CPU load (reported). The exact
// rule Failover Clustering uses is not published; "most free memory" is this project's reading of it
// (docs/evacuation.md). A VM that fits on no host is reported with the reason, never placed anyway.
//
// Overhead: Hyper-V keeps some memory per running VM beyond what the guest sees (its own page tables and
// device state; measured small, e.g. Aidan Finn's 2008 VID partition overhead figures), and reserves memory
// for the host itself. Neither is published as a rule, so the per-VM overhead is a parameter (default
// 0); the host reserve belongs in each host's free memory. Placement reserves memory for Off and Saved VMs
// too: they are moved so that they can start on the destination.

import { InputError } from '../errors.js';
import type { ScenarioInput } from '../scenario.js';
import { formatBytes } from '../units/index.js';
import type { VmEntry } from './vm-fields.js';

/** One VM's scenario options: the options every VM shares, with its own memory, workload, disk and mode. */
export function vmScenarioInput(base: ScenarioInput, vm: VmEntry): ScenarioInput {
  const input: ScenarioInput = { ...base, memory: String(vm.memoryBytes) };
  if (vm.workload !== null) input.workload = vm.workload;
  if (vm.diskBytes !== null) input.disk = String(vm.diskBytes);
  if (vm.mode !== null) input.mode = vm.mode;
  return input;
}

export type VmOrder = 'inventory' | 'largest-first' | 'smallest-first';
export const VM_ORDERS: readonly VmOrder[] = ['inventory', 'largest-first', 'smallest-first'];

/** The VMs in the order they should move (a new array; stable: ties keep the inventory order). */
export function orderVms(vms: readonly VmEntry[], order: VmOrder): VmEntry[] {
  const out = [...vms];
  if (order === 'largest-first') out.sort((a, b) => b.memoryBytes - a.memoryBytes);
  else if (order === 'smallest-first') out.sort((a, b) => a.memoryBytes - b.memoryBytes);
  else if (order !== 'inventory') throw new InputError({ source: '--order', expected: `one of ${VM_ORDERS.join(', ')}`, got: order });
  return out;
}

export interface DestinationHost {
  name: string;
  /** Memory available to VMs on the host, bytes (after the host's own reserve). */
  freeBytes: number;
}

export interface Placement {
  /** Placed VMs, in the order they were placed. */
  placed: { vm: VmEntry; host: string }[];
  /** VMs no host had room for at their turn, with the reason. */
  unplaced: { vm: VmEntry; reason: string }[];
  /** Free memory left on each host, bytes. */
  free: Map<string, number>;
}

/**
 * Place `vms` in the given order on `hosts` by worst fit (see above). `overheadBytes(vm)` is the memory
 * Hyper-V needs beside the VM's own (default: none). Throws InputError for hosts without a unique name or
 * with a negative or non-finite free memory, and for a negative overhead.
 */
export function place(vms: readonly VmEntry[], hosts: readonly DestinationHost[], overheadBytes: (vm: VmEntry) => number = () => 0): Placement {
  const free = new Map<string, number>();
  hosts.forEach((h, i) => {
    if (h.name === '' || free.has(h.name)) throw new InputError({ source: 'destination hosts', path: `[${i}].name`, expected: 'a unique, non-empty host name', got: h.name });
    if (!(h.freeBytes >= 0) || !Number.isFinite(h.freeBytes)) throw new InputError({ source: 'destination hosts', path: `[${i}].freeBytes`, expected: 'free memory of 0 bytes or more', got: h.freeBytes });
    free.set(h.name, h.freeBytes);
  });
  const placed: Placement['placed'] = [];
  const unplaced: Placement['unplaced'] = [];
  for (const vm of vms) {
    const overhead = overheadBytes(vm);
    if (!(overhead >= 0) || !Number.isFinite(overhead)) throw new InputError({ source: 'placement', path: `overhead of ${vm.name}`, expected: 'an overhead of 0 bytes or more', got: overhead });
    const need = vm.memoryBytes + overhead;
    let best: string | null = null;
    let most: string | null = null;
    for (const h of hosts) {
      const f = free.get(h.name)!;
      if (most === null || f > free.get(most)!) most = h.name;
      if (f >= need && (best === null || f > free.get(best)!)) best = h.name;
    }
    if (best !== null) {
      free.set(best, free.get(best)! - need);
      placed.push({ vm, host: best });
    } else {
      const needs = overhead > 0 ? `${formatBytes(need)} (${formatBytes(vm.memoryBytes)} of memory + ${formatBytes(overhead)} of overhead)` : `${formatBytes(need)} of memory`;
      const room = most === null ? 'there is no destination host' : `the most free memory on any destination is ${formatBytes(free.get(most)!)} (${most})`;
      unplaced.push({ vm, reason: `${vm.name} needs ${needs}; ${room}` });
    }
  }
  return { placed, unplaced, free };
}

// The `evacuations` section of a matrix file (docs/bench.md#evacuations): axes over the VM count, the
// live-migration limit per host, the network and the transport; `set` with the scenario options every VM
// shares and the evacuation's own options; its own repeats. Values that name models (sizes, durations,
// modes) are checked again when the matrix is planned (evacuation-plan.ts), with errors naming the field.

import * as z from 'zod';
import { VM_ORDERS } from '../evacuation/plan.js';
import { MAX_VMS } from '../evacuation/spec.js';
import { NetworkEntry } from './network-axis.js';
import { TRANSPORTS } from '../result.js';
import { OPTIONS, OPTION_KEYS, type OptionKey } from '../scenario.js';

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const size = z.union([z.string(), z.number()]);

/** Most live (or storage) migrations at once per host that `migbench evacuate` takes. */
export const MAX_LIVE = 64;

/**
 * Scenario options an evacuation's `set` may not carry: the axes' own (network, transport), the seed (each
 * run's is derived), `nics` (it would replace the network axis silently) and `fault` (a simulate fault
 * strikes one migration; an evacuation's faults are of the whole drain).
 */
export const EVACUATION_RESERVED_KEYS: readonly OptionKey[] = ['network', 'transport', 'seed', 'nics', 'fault'];
export const EVACUATION_SCENARIO_KEYS: readonly OptionKey[] = OPTION_KEYS.filter((k) => !EVACUATION_RESERVED_KEYS.includes(k));
/** The evacuation's own options in `set` (as `migbench evacuate`'s flags). */
export const EVACUATION_OPTION_KEYS = ['maxStorage', 'destinations', 'destMemory', 'order', 'window'] as const;

const scenarioShape = Object.fromEntries(
  EVACUATION_SCENARIO_KEYS.map((k) => [k, scalar.optional().describe(`${OPTIONS[k].help} (${OPTIONS[k].flag}${OPTIONS[k].form ? ' ' + OPTIONS[k].form : ''})`)]),
);

export const EvacuationAxes = z.strictObject({
  vms: z.array(z.int().min(1).max(MAX_VMS)).min(1).describe('VM counts: every VM alike (the scenario options of `set`)'),
  maxLive: z.array(z.int().min(1).max(MAX_LIVE)).min(1).describe('live migrations at once per host (Set-VMHost -MaximumVirtualMachineMigrations)'),
  networks: z.array(NetworkEntry).min(1).describe('networks: profiles or NIC specs'),
  transports: z.array(z.enum(TRANSPORTS)).min(1).describe('Hyper-V performance options'),
});

export const EvacuationSet = z.strictObject({
  ...scenarioShape,
  maxStorage: z.int().min(1).max(MAX_LIVE).optional().describe('storage migrations at once per host (-MaximumStorageMigrations; default 2)'),
  destinations: z.int().min(1).max(1024).optional().describe('destination hosts the VMs spread over (default 1)'),
  destMemory: size.optional().describe('memory each destination host has for VMs, such as 256GiB (default: unlimited)'),
  order: z.enum(VM_ORDERS as [string, ...string[]]).optional().describe('the order the VMs move in (default inventory)'),
  window: size.optional().describe('the maintenance window, such as 2h: evacuations.csv says whether the drain fits'),
});

export const EvacuationsSchema = z
  .strictObject({
    axes: EvacuationAxes,
    set: EvacuationSet.default({}).describe('scenario options every VM shares (as the top-level set; mode, memory, workload, disk and policy too) and the evacuation options'),
    repeats: z.int().min(1).max(1000).optional().describe("runs per evacuation scenario (default: the matrix's repeats)"),
  })
  .describe('evacuation scenarios: whole drains of one host, many VMs moving at once on shared links (migbench evacuate)');

export type Evacuations = z.output<typeof EvacuationsSchema>;

/** Field names of each part, for "a known field (...)" messages. */
export const EVACUATION_KNOWN_KEYS = {
  top: ['axes', 'set', 'repeats'],
  axes: Object.keys(EvacuationAxes.shape),
  set: [...EVACUATION_SCENARIO_KEYS, ...EVACUATION_OPTION_KEYS],
} as const;

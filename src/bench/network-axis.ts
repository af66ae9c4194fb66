// A value of a matrix's networks axis (and of its evacuations' networks axis): a named network profile
// (`10g`, `2x10g`, ...) or a NIC spec as `--nics` takes it (`2x25g-rdma,1g`, `4x10g-team`; docs/network.md).
// The value is also the `network` label of the runs, so a spec may not hold a `/` (the scenario key's
// separator): speeds are written in Gbit/s as `25g`.

import * as z from 'zod';
import { InputError } from '../errors.js';
import { NETWORK_NAMES } from '../network/index.js';
import { NIC_SPEC_GRAMMAR, parseNicSpec } from '../network/nic-spec.js';
import type { OptionKey } from '../scenario.js';

export const NETWORK_AXIS_FORM = `a network profile (${NETWORK_NAMES.join(', ')}) or a NIC spec: ${NIC_SPEC_GRAMMAR}`;

/** Why `value` is not a networks-axis entry, or null when it is one. */
export function networkAxisProblem(value: string): string | null {
  if (NETWORK_NAMES.includes(value)) return null;
  if (value.includes('/')) return `"${value}": write each speed in Gbit/s as 25g (a "/" would split the run's key)`;
  try {
    parseNicSpec(value, 'networks');
    return null;
  } catch (e) {
    const why = e instanceof InputError ? [e.path, e.detail ?? (e.expected === NIC_SPEC_GRAMMAR ? undefined : e.expected)].filter(Boolean).join(': ') : (e as Error).message;
    return `"${value}" is neither a profile nor a NIC spec${why ? ` (${why})` : ''}`;
  }
}

/** A profile name (an enum, so an editor offers the names) or a NIC spec (checked by the spec's parser). */
export const NetworkEntry = z
  .union([
    z.enum(NETWORK_NAMES as [string, ...string[]]).describe('a network profile'),
    z
      .string()
      .min(1)
      .superRefine((v, ctx) => {
        const why = networkAxisProblem(v);
        if (why !== null) ctx.addIssue({ code: 'custom', message: `expected ${NETWORK_AXIS_FORM}; ${why}` });
      })
      .describe(`a NIC spec: ${NIC_SPEC_GRAMMAR}`),
  ])
  .describe(`network: ${NETWORK_AXIS_FORM}`);

/** The scenario option a networks-axis value sets: `network` for a profile, `nics` for a NIC spec. */
export function networkOptionOf(value: string): Extract<OptionKey, 'network' | 'nics'> {
  return NETWORK_NAMES.includes(value) ? 'network' : 'nics';
}

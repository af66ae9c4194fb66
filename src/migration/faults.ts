// Faults: `--fault KIND@WHEN`, repeatable. WHEN is a phase with an optional fraction of it
// (`precopy:0.5`; the middle of the phase when no fraction is given) or a time since the start (`12.5s`).
// Which kinds a mode can suffer, and in which phases, is fixed here (the core applies these tables when
// a fault strikes: `faultApplies`); docs/modes.md explains why.

import { InputError, UnitError } from '../errors.js';
import type { Mode } from '../result.js';
import { parseDuration } from '../units/index.js';

export const FAULT_KINDS = ['link-down', 'nic-down', 'channel-down', 'dest-crash', 'dest-storage-error', 'auth-failure', 'stall'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * The phases of a migration, in order. `handoff` is the storage handoff inside the blackout; `resume`
 * runs from the resume request leaving the source to its answer (or, when that answer is lost, to the
 * destination's word on which host runs the VM): the window in which the VM may already run on the
 * destination while the source does not know it.
 */
export const PHASES = ['config', 'storage-copy', 'precopy', 'blackout', 'handoff', 'resume', 'cleanup'] as const;
export type Phase = (typeof PHASES)[number];

/** The phases each mode goes through, in order. */
export const MODE_PHASES: Record<Mode, readonly Phase[]> = {
  cluster: ['config', 'precopy', 'blackout', 'handoff', 'resume', 'cleanup'],
  'smb-share': ['config', 'precopy', 'blackout', 'handoff', 'resume', 'cleanup'],
  'shared-nothing': ['config', 'storage-copy', 'precopy', 'blackout', 'handoff', 'resume', 'cleanup'],
  storage: ['config', 'storage-copy', 'handoff', 'cleanup'],
};

/** Fault kinds each mode can suffer. A storage-only move stays on one host: no link, no peer to authenticate. */
export const MODE_FAULTS: Record<Mode, readonly FaultKind[]> = {
  cluster: FAULT_KINDS,
  'smb-share': FAULT_KINDS,
  'shared-nothing': FAULT_KINDS,
  storage: ['dest-storage-error', 'stall'],
};

/**
 * Phases a kind can hit. Authentication happens when the hosts connect. A crash at `resume` strikes with
 * the resume request in flight, before the destination acts on it. Once the destination opened the VM's
 * files (the handoff) no storage failure is the migration's; after the point of no return the VM runs on
 * the destination, and a crash there is a host failure, not a migration fault.
 */
export const KIND_PHASES: Record<FaultKind, readonly Phase[]> = {
  'link-down': PHASES,
  'nic-down': PHASES,
  'channel-down': PHASES,
  stall: PHASES,
  'dest-crash': ['config', 'storage-copy', 'precopy', 'blackout', 'handoff', 'resume'],
  'dest-storage-error': ['config', 'storage-copy', 'precopy', 'blackout', 'handoff'],
  'auth-failure': ['config'],
};

/** Whether a fault of `kind` can strike a migration of `mode` in `phase` (the core asks when one does). */
export function faultApplies(mode: Mode, kind: FaultKind, phase: Phase): boolean {
  return MODE_FAULTS[mode].includes(kind) && MODE_PHASES[mode].includes(phase) && KIND_PHASES[kind].includes(phase);
}

/**
 * A storage failure on the destination that the migration meets only later: on shared storage (cluster,
 * SMB share) the destination first touches the VM's files at the handoff, so a failure during the memory
 * copy is met there.
 */
export function storageFailureDeferred(mode: Mode, phase: Phase): boolean {
  return (mode === 'cluster' || mode === 'smb-share') && (phase === 'precopy' || phase === 'blackout');
}

export type FaultWhen = { phase: Phase; fraction: number } | { time: number };

export interface FaultSpec {
  kind: FaultKind;
  when: FaultWhen;
  /** The text as given, for the `faults` result field. */
  text: string;
}

const FORM = 'KIND@WHEN, where KIND is one of ' + FAULT_KINDS.join(', ') + ' and WHEN a phase (' + PHASES.join(', ') + ') with an optional fraction (precopy:0.5) or a time (12.5s)';

/** Parse one `--fault` value, checking it against the mode. */
export function parseFault(text: string, mode: Mode, source = '--fault'): FaultSpec {
  const at = text.indexOf('@');
  if (at < 0) throw new InputError({ source, expected: FORM, got: text });
  const kind = text.slice(0, at).trim();
  const when = text.slice(at + 1).trim();
  if (!(FAULT_KINDS as readonly string[]).includes(kind)) throw new InputError({ source, expected: `a fault kind among ${FAULT_KINDS.join(', ')}`, got: kind });
  const k = kind as FaultKind;
  if (!MODE_FAULTS[mode].includes(k)) {
    throw new InputError({ source, expected: `a fault kind that mode ${mode} can suffer (${MODE_FAULTS[mode].join(', ')})`, got: kind, detail: 'a storage-only move stays on one host' });
  }
  const [phaseText, fracText] = when.split(':');
  if ((PHASES as readonly string[]).includes(phaseText!)) {
    const phase = phaseText as Phase;
    if (!MODE_PHASES[mode].includes(phase)) {
      throw new InputError({ source, expected: `a phase that mode ${mode} has (${MODE_PHASES[mode].join(', ')})`, got: phase });
    }
    if (!KIND_PHASES[k].includes(phase)) {
      throw new InputError({ source, expected: `a phase ${k} can hit (${KIND_PHASES[k].filter((p) => MODE_PHASES[mode].includes(p)).join(', ')})`, got: phase });
    }
    let fraction = 0.5;
    if (fracText !== undefined) {
      fraction = Number(fracText);
      if (fracText.trim() === '' || !(fraction >= 0 && fraction < 1)) throw new InputError({ source, expected: 'a fraction of the phase in [0, 1), such as precopy:0.5', got: when });
    }
    return { kind: k, when: { phase, fraction }, text };
  }
  try {
    const time = parseDuration(when);
    if (!(time >= 0)) throw new UnitError('a time', when);
    return { kind: k, when: { time }, text };
  } catch (err) {
    if (err instanceof UnitError) throw new InputError({ source, expected: `a phase (${MODE_PHASES[mode].join(', ')}) or a time such as 12.5s`, got: when });
    throw err;
  }
}

// One VM of an evacuation inventory, and the checks of its fields shared by every inventory format (plain
// CSV, PowerShell's Export-Csv, YAML, JSON). Each check names where the value came from (`host1.csv row 3`,
// `vms.yaml`), the field (`MemoryAssigned`, `vms[3].memory`) and the form it expects. See
// docs/evacuation.md for the formats and the decisions (states, row numbers).

import { InputError, UnitError } from '../errors.js';
import { MAX_GUEST_MEMORY } from '../scenario.js';
import { formatBytes, parseSize } from '../units/index.js';

export type InventoryMode = 'cluster' | 'smb-share' | 'shared-nothing';
/** Migration modes a VM of an evacuation can take (a storage-only move leaves the VM on its host). */
export const INVENTORY_MODES: readonly InventoryMode[] = ['cluster', 'smb-share', 'shared-nothing'];

export interface VmEntry {
  name: string;
  /** Guest memory, whole bytes, > 0. */
  memoryBytes: number;
  /** A workload preset name as given (the caller validates it); null: the default. */
  workload: string | null;
  /** Virtual disk size, bytes; null: the default. */
  diskBytes: number | null;
  /** null: the default. */
  mode: InventoryMode | null;
  /** false: an Off or Saved VM, moved by configuration only. */
  running: boolean;
  /** The cluster node the VM runs on (for a rolling drain); null: unspecified. */
  host: string | null;
  /** Where it came from, for messages: "host1.csv row 3", "vms.yaml vms[2]". */
  origin: string;
}

/** Largest inventory file read, bytes. */
export const MAX_INVENTORY_BYTES = 64 * 2 ** 20;
/** Most VMs one inventory may hold (after `count` expansion). */
export const MAX_INVENTORY_VMS = 100_000;
/** Smallest guest memory accepted (what the simulator accepts: `--memory` at least 1 MiB). */
export const MIN_VM_MEMORY = 2 ** 20;

/** Where a value sits: the file (and row), and the field. */
export interface At {
  source: string;
  path: string;
}

/**
 * Hyper-V's VM states (Microsoft.HyperV.PowerShell.VMState), lower case. Off and Saved (and their
 * Critical and Fast variants) hold no running memory: the VM moves by configuration only. Every other
 * state (Paused, Starting, Stopping, Saving...) still has its memory resident on the host, so it counts as
 * running: its memory is copied live.
 */
const VM_STATES = [
  'other', 'running', 'off', 'stopping', 'saved', 'paused', 'starting', 'reset', 'saving', 'pausing', 'resuming',
  'fastsaved', 'fastsaving', 'runningcritical', 'offcritical', 'stoppingcritical', 'savedcritical', 'pausedcritical',
  'startingcritical', 'resetcritical', 'savingcritical', 'pausingcritical', 'resumingcritical', 'fastsavedcritical',
  'fastsavingcritical',
] as const;
const NOT_RUNNING = new Set(['off', 'offcritical', 'saved', 'savedcritical', 'fastsaved', 'fastsavedcritical']);
const STATE_FORM = 'a Hyper-V VM state: Running, Off, Saved, Paused, Starting, Stopping, Saving... (Off and Saved move by configuration only)';

/** A VM name: trimmed, not empty, no control characters. */
export function nameValue(raw: string, at: At): string {
  const name = raw.trim();
  if (name === '') throw new InputError({ ...at, expected: 'a VM name (not empty)' });
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new InputError({ ...at, expected: 'a VM name without control characters (line breaks, tabs)', got: name });
  return name;
}

/** Optional text: trimmed; empty means unset (null). */
export function textValue(raw: string | null | undefined): string | null {
  const t = (raw ?? '').trim();
  return t === '' ? null : t;
}

/**
 * A size: a string the units grammar reads ("8GiB", "512MiB", "8GB") or a whole number of bytes (a number,
 * or digits). Zero, fractions of a byte and values past 2^53 are refused.
 */
export function sizeValue(raw: string | number, at: At): number {
  const form = 'a size above 0 such as 8GiB, 512MiB or a whole number of bytes';
  let bytes: number;
  if (typeof raw === 'number') {
    if (!Number.isSafeInteger(raw)) throw new InputError({ ...at, expected: form, got: raw });
    bytes = raw;
  } else {
    const t = raw.trim();
    if (t === '') throw new InputError({ ...at, expected: form, got: raw });
    // A bare number is bytes and must be whole: "1.5" bytes is a mistake, not a size.
    if (/^[0-9.eE+-]+$/.test(t) && !Number.isSafeInteger(Number(t))) throw new InputError({ ...at, expected: form, got: raw });
    try {
      bytes = parseSize(t);
    } catch (e) {
      if (e instanceof UnitError) throw new InputError({ ...at, expected: e.expected, got: raw });
      throw e;
    }
  }
  if (!(bytes > 0)) throw new InputError({ ...at, expected: form, got: raw });
  return bytes;
}

/** Guest memory: a size within what the simulator models (1 MiB to 4 TiB). */
export function memoryValue(raw: string | number, at: At): number {
  const bytes = sizeValue(raw, at);
  if (bytes < MIN_VM_MEMORY || bytes > MAX_GUEST_MEMORY) {
    throw new InputError({ ...at, expected: `guest memory from ${formatBytes(MIN_VM_MEMORY)} to ${formatBytes(MAX_GUEST_MEMORY)}`, got: raw });
  }
  return bytes;
}

/** PowerShell's byte counts (MemoryAssigned, MemoryStartup): digits only. Returns 0 for an empty value. */
export function bytesValue(raw: string, at: At): number {
  const t = raw.trim();
  if (t === '') return 0;
  if (!/^[0-9]+$/.test(t) || !Number.isSafeInteger(Number(t))) throw new InputError({ ...at, expected: 'bytes (a whole number)', got: raw });
  return Number(t);
}

/** A Hyper-V state; true when the VM's memory moves live. Empty: running. */
export function runningValue(raw: string | null | undefined, at: At): boolean {
  const t = (raw ?? '').trim().toLowerCase();
  if (t === '') return true;
  if (!(VM_STATES as readonly string[]).includes(t)) throw new InputError({ ...at, expected: STATE_FORM, got: raw });
  return !NOT_RUNNING.has(t);
}

/** A migration mode; empty: unset (null). */
export function modeValue(raw: string | null | undefined, at: At): InventoryMode | null {
  const t = (raw ?? '').trim().toLowerCase();
  if (t === '') return null;
  if (!(INVENTORY_MODES as readonly string[]).includes(t)) throw new InputError({ ...at, expected: `one of ${INVENTORY_MODES.join(', ')}`, got: raw });
  return t as InventoryMode;
}

/**
 * Refuse two VMs with the same name (compared without regard to case, as Windows compares names): `at`
 * names the field of the later one, its message the origin of the first.
 */
export function checkUnique(vms: readonly VmEntry[], at: (i: number) => At): void {
  const seen = new Map<string, VmEntry>();
  vms.forEach((vm, i) => {
    const key = vm.name.toLowerCase();
    const first = seen.get(key);
    if (first) throw new InputError({ ...at(i), expected: `a name no other VM has (${first.origin} is "${first.name}")`, got: vm.name });
    seen.set(key, vm);
  });
}

/** Refuse more than MAX_INVENTORY_VMS VMs (`n`: the count, or a count past which reading stopped). */
export function checkCount(n: number, source: string, stoppedAt = false): void {
  if (n > MAX_INVENTORY_VMS) {
    const got = `${stoppedAt ? 'more than ' : ''}${(stoppedAt ? MAX_INVENTORY_VMS : n).toLocaleString('en-US')} VMs`;
    throw new InputError({ source, expected: `at most ${MAX_INVENTORY_VMS.toLocaleString('en-US')} VMs (split the inventory)`, got });
  }
}

// What passes between the migration core (core.ts) and a driver. The core returns *actions*; a driver
// performs each with its effects (drivers/loop.ts) and answers with the *event* it produced, carrying the
// driver's `now` (seconds since the migration began). Step actions run one at a time and each is answered
// by one event; side actions (impair, unstall) run beside the step in progress. Failures, faults and a
// cancel may arrive at any time; the core's own deadlines arrive through `handleTimeout`.
//
//   step action                      -> event
//   setup {configBytes}              -> setup-done
//   copy-segment {start, end}        -> segment-copied
//   sync {final}                     -> synced {pages, zeroPages}
//   send {round, throttle}           -> sent {pages, zeroPages, wireBytes}
//   pause                            -> paused
//   send-final {round, stateBytes}   -> sent
//   handoff                          -> handed-off
//   resume                           -> resumed
//   query-owner                      -> owner {owner, resumedAt}   (the resume's answer was lost: in doubt)
//   cleanup {removeSourceFiles}      -> cleaned-up
//   resume-source                    -> resumed-source
//   clean-destination {cause}        -> destination-cleaned
//
//   side action                      -> event
//   impair {kind, cuts}              -> impaired {lost}   (an injected fault, carried out on the world)
//   unstall                             (an injected stall ends)
//
//   from the world at any time: failure {cause}, fault {kind}, cancel

import type { FaultKind, Phase } from './faults.js';
import type { MemoryAction, MemoryEvent } from './precopy.js';

/**
 * Why a migration rolled back. Real engine only: `dest_refused`, the destination refused a step for a
 * reason of its own (it names it), such as too little memory for the VM; `cancelled`, the operator's
 * Ctrl-C or SIGTERM, rolled back like a fault.
 */
export type Cause = 'link_down' | 'all_channels_lost' | 'dest_crash' | 'dest_storage_error' | 'auth_failure' | 'stall_timeout' | 'no_convergence' | 'dest_refused' | 'cancelled';

/** Which host runs the VM, in the destination's own word (null: no word came). */
export type Owner = 'source' | 'destination' | null;

export type StepAction =
  | { type: 'setup'; configBytes: number }
  | { type: 'copy-segment'; start: number; end: number }
  | Exclude<MemoryAction, { type: 'memory-done' } | { type: 'memory-abort' }>
  | { type: 'handoff' }
  | { type: 'resume' }
  | { type: 'query-owner' }
  | { type: 'cleanup'; removeSourceFiles: number }
  | { type: 'resume-source' }
  | { type: 'clean-destination'; cause: Cause };

export type SideAction =
  /**
   * Carry out an injected fault on the world. `cuts`: the step in progress can no longer complete (the
   * link, the destination or its storage is gone); false for a stall (the step waits) and for a lost
   * channel or NIC, whose effect the world decides (failover, or everything lost: `impaired.lost`).
   */
  | { type: 'impair'; kind: FaultKind; phase: Phase; cuts: boolean }
  /** The injected stall is over: the destination goes on. */
  | { type: 'unstall' };

export type Action = StepAction | SideAction;

export type StepEvent =
  | { type: 'setup-done'; now: number }
  | { type: 'segment-copied'; now: number }
  | MemoryEvent
  | { type: 'handed-off'; now: number }
  | { type: 'resumed'; now: number }
  /** The destination's word on who runs the VM, and since when it does (owner `destination`). */
  | { type: 'owner'; now: number; owner: Owner; resumedAt: number | null }
  | { type: 'cleaned-up'; now: number }
  | { type: 'resumed-source'; now: number }
  | { type: 'destination-cleaned'; now: number };

export type Event =
  | StepEvent
  /** A failure the driver observed (a lost session, a refusal, a request timed out). */
  | { type: 'failure'; now: number; cause: Cause }
  /** An injected fault strikes now; the core decides whether it applies. */
  | { type: 'fault'; now: number; kind: FaultKind }
  /** What an `impair` did: `lost`, the hosts can no longer reach each other over the migration's links. */
  | { type: 'impaired'; now: number; kind: FaultKind; lost: boolean }
  /** The operator cancels (Ctrl-C): honoured up to the blackout, ignored from the handoff on. */
  | { type: 'cancel'; now: number };

export const isStepAction = (a: Action): a is StepAction => a.type !== 'impair' && a.type !== 'unstall';

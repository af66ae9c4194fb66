// What an injected fault does to a migration, as the core applies it: whether it cuts the step in progress
// short, when the source notices it and as what (modelled detection: the simulator; the real engine
// observes failures instead), and when a stall ends. One table for both engines; the world decides only
// whether a lost channel or NIC took every path (`impaired.lost`).

import type { CoreTiming } from './config.js';
import type { Cause } from './events.js';
import { storageFailureDeferred, type FaultKind, type Phase } from './faults.js';
import type { Mode } from '../result.js';

export interface FaultReaction {
  /** The step in progress can no longer complete (it stops at the fault). */
  cuts: boolean;
  /** Noticed this long after it struck, armed at once (a stall that outlasts the transfer timeout). */
  noticeNow: { after: number; cause: Cause } | null;
  /**
   * Noticed this long after the world reported what the fault did (`impaired`), only with modelled
   * detection; `ifLost`: only when every path between the hosts is gone.
   */
  noticeAfterImpair: { after: number; cause: Cause; ifLost: boolean } | null;
  /** A stall: it ends this long after it struck. */
  stallEnds: number | null;
}

export function faultReaction(mode: Mode, kind: FaultKind, phase: Phase, t: CoreTiming): FaultReaction {
  const none: FaultReaction = { cuts: false, noticeNow: null, noticeAfterImpair: null, stallEnds: null };
  const detect = t.detectTime;
  const modelled = <T>(x: T): T | null => (detect === null ? null : x);
  switch (kind) {
    case 'link-down':
      return { ...none, cuts: true, noticeAfterImpair: modelled({ after: detect!, cause: 'link_down', ifLost: false }) };
    case 'dest-crash':
      return { ...none, cuts: true, noticeAfterImpair: modelled({ after: detect!, cause: 'dest_crash', ifLost: false }) };
    case 'nic-down':
    case 'channel-down':
      // Survivors carry on (failover); only losing every path is a failure.
      return { ...none, noticeAfterImpair: modelled({ after: detect!, cause: 'all_channels_lost', ifLost: true }) };
    case 'auth-failure':
      // The destination refuses the channels: its answer takes a round trip.
      return { ...none, cuts: true, noticeAfterImpair: modelled({ after: t.replyTime, cause: 'auth_failure', ifLost: false }) };
    case 'dest-storage-error':
      // On shared storage the destination first touches the files at the handoff, which it then refuses.
      if (storageFailureDeferred(mode, phase)) return none;
      return { ...none, cuts: true, noticeAfterImpair: modelled({ after: t.replyTime, cause: 'dest_storage_error', ifLost: false }) };
    case 'stall': {
      // A stall as long as the transfer timeout fails the transfer; a shorter one only delays it.
      const fails = t.stallTime >= t.transferTimeout;
      return { ...none, cuts: fails, stallEnds: t.stallTime, noticeNow: fails ? { after: t.transferTimeout, cause: 'stall_timeout' } : null };
    }
  }
}

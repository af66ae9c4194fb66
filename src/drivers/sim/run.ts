// One run of the virtual-time driver: the migration orchestrator's actions performed against a
// page-level guest memory, a region-level disk image, a storage timing model and a link, on the event
// kernel. Faults arrive as events at resolved times. Guest activity (memory dirtying, storage writes) is
// applied lazily, up to each event, with the rates in force since the previous one.

import { DiskImage, REGION_BYTES } from '../../guest/disk.js';
import { GuestMemory, giveBack, sameImage, takeBytes } from '../../guest/memory.js';
import { WorkloadModel } from '../../guest/workload.js';
import { KIND_PHASES, type FaultSpec } from '../../migration/faults.js';
import { MigrationCore, type Action, type Cause, type Event, type MigrationSummary } from '../../migration/orchestrator.js';
import { Rng } from '../../random/index.js';
import type { Scenario } from '../../scenario.js';
import { Simulator } from '../../sim/index.js';
import { getEndpoint } from '../../storage/endpoints.js';
import { buildLink } from '../../transport/model.js';
import { PAGE_SIZE } from '../../units/index.js';
import { ActivityClock } from './activity.js';
import { SimLink } from './link.js';
import { StorageSim, type WriteCounts } from './storage.js';

export interface ResolvedFault {
  spec: FaultSpec;
  /** Seconds since the start, or null when the fault's phase never happened. */
  time: number | null;
}

export interface RunOutput {
  summary: MigrationSummary;
  memoryVerified: boolean | null;
  writesLost: number;
  writes: WriteCounts;
  storageBytesCopied: number;
  /** Bytes the storage copy and the mirrored writes put on the network. */
  storageWireBytes: number;
  faultsApplied: number;
}

export function runOnce(s: Scenario, faults: ResolvedFault[]): RunOutput {
  const memoryMode = s.mode !== 'storage';
  const copies = s.mode === 'shared-nothing' || s.mode === 'storage';
  const pages = Math.ceil(s.memoryBytes / PAGE_SIZE);

  const mem = memoryMode ? new GuestMemory(pages, s.workload.zeroFraction, Rng.stream(s.seed, 'memory-layout')) : null;
  const workloadRng = Rng.stream(s.seed, 'workload');
  const workload = memoryMode ? new WorkloadModel(s.workload, pages, workloadRng) : null;
  const dest = memoryMode ? takeBytes(pages).fill(0) : null;
  // Shared-nothing sends the configuration in its setup phase; a storage-only move copies every file.
  const copySpec = s.mode === 'shared-nothing' ? { ...s.vm, files: s.vm.files.filter((f) => f.kind !== 'config') } : s.vm;
  const disk = copies ? new DiskImage(copySpec, s.workload.io, Rng.stream(s.seed, 'disk-layout')) : null;
  const storage = new StorageSim(disk, s.workload.io, s.storage.source, copies ? s.storage.dest : null, Rng.stream(s.seed, 'storage-io'), s.storage.copyMinShare);
  const link = new SimLink(buildLink(s.network, s.transport, { compression: s.compression, ...(s.zeroScanRate !== null ? { zeroScanRate: s.zeroScanRate } : {}), runCost: s.runCost }), s.network.nics);
  // What a storage-only move to or from an SMB share gets: the host's SMB multichannel links.
  const smbLinkRate = s.mode === 'storage' ? buildLink(s.network, 'smb').rate : 0;
  const rtt = memoryMode ? link.rtt : 0;
  const core = new MigrationCore({
    mode: s.mode,
    memory: memoryMode ? { memoryPages: pages, policy: s.policy, onNoConverge: s.onNoConverge, stateBytes: s.timing.stateBytes } : null,
    storage: disk
      ? {
          regions: disk.regions,
          segmentRegions: Math.max(1, Math.round(s.storage.segmentBytes / REGION_BYTES)),
          boundaries: disk.boundaries,
          destFiles: copySpec.files.length,
          sourceFiles: s.vm.files.length,
        }
      : null,
    configBytes: s.timing.configBytes,
  });
  const sim = new Simulator();

  // Guest state.
  let guestClock = 0;
  let running = true;
  let ioPaused = false;
  let throttle = 0;
  let ioScale = storage.baseScale;
  let logging = false;
  let pending = { pages: 0, zeroPages: 0, runs: 0 };
  // Outcome data.
  let memoryVerified: boolean | null = null;
  let writesLost = 0;
  let bytesCopied = 0;
  let storageWire = 0;
  let faultsApplied = 0;
  // Fault state.
  let destCrashed = false;
  let destStorageBroken = false;
  let failurePending = false;

  // Memory writes before dirty logging starts only decide which pages are non-zero and their versions
  // when round 0 reads them; for a Poisson write process, one interval of their total length has the
  // same distribution as many, so they are applied in one step at the first sync.
  let unloggedGuestTime = 0;
  const advanceGuest = (to: number): void => {
    const dt = to - guestClock;
    if (dt > 0 && running) {
      if (mem && workload) {
        if (logging) workload.advance(mem, dt, throttle, workloadRng);
        else unloggedGuestTime += dt;
      }
      const m = core.mirror;
      if (!ioPaused && m?.status === 'copying') storage.write(dt, ioScale, (r) => m.route(r));
      else if (!ioPaused && m?.status === 'mirroring') storage.writeMirrored(dt, ioScale);
    }
    if (to > guestClock) guestClock = to;
  };

  /** Other traffic on the migration's links while the VM runs, and the guest's IO speed it allows. */
  const setBackground = (): void => {
    link.background = 0;
    ioScale = storage.baseScale;
    if (!running) return;
    if (s.mode === 'shared-nothing' && core.mirror?.status === 'mirroring') {
      ioScale = storage.mirroredScale(link.rate);
      link.background = storage.writeRate(ioScale);
    } else if (s.mode === 'smb-share' && s.storage.converged) {
      ioScale = storage.convergedScale(link.rate);
      link.background = storage.ioRate(ioScale);
    }
  };

  const activity = new ActivityClock(sim, link, s.timing.detectTime, (ev) => deliver(ev));

  const deliver = (ev: Event): void => {
    advanceGuest(ev.now);
    switch (ev.type) {
      case 'segment-copied':
        storage.releaseHeld();
        break;
      case 'resumed':
        if (disk) writesLost = disk.missingOnDestination();
        break;
      case 'handed-off':
        if (s.mode === 'storage' && disk) writesLost = disk.missingOnDestination();
        break;
      case 'resumed-source':
        running = true;
        ioPaused = false;
        break;
    }
    const action = core.handle(ev);
    if (core.mirror?.status === 'stopped') storage.dropHeld();
    perform(action);
  };

  const failAfter = (delay: number, cause: Cause): void => {
    failurePending = true;
    activity.cancel();
    sim.after(delay, () => {
      failurePending = false;
      deliver({ type: 'failure', now: sim.now, cause });
    });
  };

  const perform = (a: Action): void => {
    const now = sim.now;
    switch (a.type) {
      case 'setup': {
        setBackground();
        const c = link.cost(0, 0, a.configBytes);
        activity.start((memoryMode ? c.seconds : 0) + s.timing.setupTime, (t) => ({ type: 'setup-done', now: t }));
        return;
      }
      case 'copy-segment': {
        const d = disk!;
        const bytes = d.bytesIn(a.start, a.end);
        d.copy(a.start, a.end); // the segment is read now; writes into it wait until it lands
        const file = d.fileAt(a.start);
        const target = file.destination ? getEndpoint(file.destination) : s.storage.dest;
        // Shared-nothing copies to the other host; a storage move to or from an SMB file share reaches
        // the file server over the host's SMB multichannel links. Otherwise the copy stays in the host.
        const overLink = s.mode === 'shared-nothing' || target.kind === 'smb' || s.storage.source.kind === 'smb';
        const linkRate = s.mode === 'shared-nothing' ? link.available : smbLinkRate;
        const t = storage.segment(bytes, a.start, overLink ? linkRate : null, target);
        ioScale = t.scale;
        // Only a shared-nothing copy rides the migration link; a failure there re-times the segment
        // (the disks may still be the bound) and the guest IO it leaves room for.
        const rateAt = (available: number): number => {
          if (s.mode !== 'shared-nothing') return bytes / t.seconds;
          const r = storage.segment(bytes, a.start, available, target);
          advanceGuest(sim.now); // the guest IO so far at the old speed, from now on at the new one
          ioScale = r.scale;
          return bytes / r.seconds;
        };
        activity.start(
          t.seconds,
          (tt) => {
            bytesCopied += bytes;
            if (overLink) storageWire += bytes;
            return { type: 'segment-copied', now: tt };
          },
          { bytes, rateAt },
        );
        return;
      }
      case 'sync': {
        if (!logging) {
          workload!.advance(mem!, unloggedGuestTime, 0, workloadRng);
          mem!.startLogging();
          logging = true;
        }
        pending = mem!.sync(s.runCost > 0); // runs cost only with --run-cost
        const c = pending;
        activity.start(0, (t) => ({ type: 'synced', now: t, pages: c.pages, zeroPages: c.zeroPages }));
        return;
      }
      case 'send':
      case 'send-final': {
        if (a.type === 'send') throttle = a.throttle;
        setBackground();
        const sent = pending;
        const c = link.cost(sent.pages - sent.zeroPages, sent.zeroPages, a.type === 'send-final' ? a.stateBytes : 0, sent.runs);
        const availableAtStart = link.available;
        // Pages are read when the round starts: a write during the round makes the destination's copy
        // stale, and only the next round's resend can repair it (the strictest ordering).
        mem!.sendSnapshot(dest!);
        activity.start(
          c.seconds,
          (t) => ({ type: 'sent', now: t, pages: sent.pages, zeroPages: sent.zeroPages, wireBytes: c.wireBytes }),
          // The link's part stretches as the link thins; the source's page work (the floor) does not.
          { bytes: c.wireBytes, rateAt: (available) => c.wireBytes / Math.max((c.wireSeconds * availableAtStart) / available, c.floor) },
          link.striped ? link.stripedSpec(c.wireBytes, c.floor) : undefined,
        );
        return;
      }
      case 'pause':
        running = false;
        activity.start(0, (t) => ({ type: 'paused', now: t }));
        return;
      case 'handoff':
        if (s.mode === 'storage') ioPaused = true; // the VM's IO pauses while it switches to the new files
        if (destStorageBroken) {
          failAfter(rtt, 'dest_storage_error'); // the destination cannot open the VM's files
          return;
        }
        activity.start(rtt + s.timing.handoffTime, (t) => ({ type: 'handed-off', now: t }));
        return;
      case 'resume':
        memoryVerified = sameImage(mem!.version, dest!);
        activity.start(rtt + s.timing.resumeTime, (t) => ({ type: 'resumed', now: t }));
        return;
      case 'cleanup':
        ioPaused = false;
        activity.start(rtt + s.timing.cleanupTime + (s.mode === 'cluster' ? s.timing.clusterUpdateTime : 0), (t) => ({ type: 'cleaned-up', now: t }));
        return;
      case 'resume-source':
        activity.start(s.timing.resumeTime, (t) => ({ type: 'resumed-source', now: t }));
        return;
      case 'clean-destination': {
        ioPaused = false;
        // Reachable: ask the destination to delete its VM and files. Unreachable: it notices the dead
        // migration itself and cleans up. Crashed: it cleans up when it comes back.
        const wait = destCrashed ? s.timing.destRestartTime : link.down && memoryMode ? s.timing.transferTimeout : rtt;
        activity.start(wait + s.timing.cleanupTime, (t) => ({ type: 'destination-cleaned', now: t }));
        return;
      }
      case 'continue':
        return;
      case 'done':
        void now;
        return;
    }
  };

  const onFault = (f: FaultSpec): void => {
    const phase = core.currentPhase;
    if (phase === 'done' || phase === 'rollback' || failurePending) return; // nothing left to break
    if (!KIND_PHASES[f.kind].includes(phase)) return; // e.g. a timed auth-failure after the hosts connected
    faultsApplied++;
    switch (f.kind) {
      case 'link-down':
        link.fail();
        failAfter(s.timing.detectTime, 'link_down');
        return;
      case 'nic-down': {
        const { died, moved } = link.failNic();
        if (link.down) failAfter(s.timing.detectTime, 'all_channels_lost');
        else if (died.length > 0 && activity.striped) {
          if (!activity.restripe(died)) failAfter(s.timing.detectTime, 'all_channels_lost');
        } else if (died.length > 0) activity.degrade(true);
        else if (moved.length > 0) activity.degrade(false); // a team moved the flows: nothing to resend
        return;
      }
      case 'channel-down': {
        const id = link.nextToFail;
        if (link.failChannel() === 'lost') failAfter(s.timing.detectTime, 'all_channels_lost');
        else if (activity.striped && id !== undefined) {
          if (!activity.restripe([id])) failAfter(s.timing.detectTime, 'all_channels_lost');
        } else activity.degrade(true);
        return;
      }
      case 'dest-crash':
        destCrashed = true;
        failAfter(s.timing.detectTime, 'dest_crash');
        return;
      case 'dest-storage-error':
        destStorageBroken = true;
        // On shared storage the destination touches the VM's files only at the handoff.
        if ((s.mode === 'cluster' || s.mode === 'smb-share') && (phase === 'precopy' || phase === 'blackout')) return;
        failAfter(rtt, 'dest_storage_error');
        return;
      case 'auth-failure':
        failAfter(rtt, 'auth_failure');
        return;
      case 'stall':
        if (s.timing.stallTime >= s.timing.transferTimeout) failAfter(s.timing.transferTimeout, 'stall_timeout');
        else activity.delay(s.timing.stallTime);
        return;
    }
  };

  for (const f of faults) if (f.time !== null) sim.at(f.time, () => onFault(f.spec), 1);
  perform(core.start(0));
  sim.run();
  const summary = core.summary();
  mem?.release();
  if (dest) giveBack(dest);
  const mirrorOverLink = s.mode === 'shared-nothing' || (s.mode === 'storage' && storageWire > 0);
  return { summary, memoryVerified, writesLost, writes: storage.counts, storageBytesCopied: bytesCopied, storageWireBytes: storageWire + (mirrorOverLink ? storage.counts.mirroredBytes : 0), faultsApplied };
}

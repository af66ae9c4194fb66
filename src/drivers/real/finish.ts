// After the timed migration: verification and the result record. A completed move is verified by hashing
// both sides (the source's memory as it was at the pause, its disk image, the device state; the
// destination's the same) and the source's disk image is removed only once its copy is verified. After a
// rollback the source is proven intact: its memory and disk must equal a replay of the guest's own
// writes, and the destination must report no files of the migration. None of this is migration time.

import { existsSync, readdirSync, rmSync } from 'node:fs';
import { expectedDiskSha256, fileSha256, REGION_BYTES, DiskIoSequence } from '../../guest/real/disk.js';
import type { MigrationCore } from '../../migration/core.js';
import type { MigrationResult } from '../../result.js';
import { formatEndpoint } from '../../transport/tcp/address.js';
import type { Hashes, Request } from './protocol.js';
import type { RealRun } from './options.js';
import type { RealContext } from './context.js';
import type { DestinationControl } from './destination.js';
import type { SourceMemory } from './memory.js';
import type { StorageMove } from './storage-move.js';
import { resultRecord } from '../record.js';

/** The parts of a finished real migration that the check and the record read. */
export interface FinishedMigration {
  ctx: RealContext;
  core: MigrationCore;
  memory: SourceMemory;
  storage: StorageMove | null;
  dest: DestinationControl;
  /** Where the source's disk image was set aside at the clean-up (null: not moved). */
  sourceDiskMoved: string | null;
  /** CPU seconds of the timed migration in the source process, the guest's threads left out (null: not measured). */
  sourceCpu: number | null;
  releaseSource(): Promise<void>;
}

export async function finishRun(m: FinishedMigration): Promise<RealRun> {
  const t0 = performance.now();
  const { ctx, dest, storage } = m;
  const s = ctx.s;
  const o = ctx.o;
  const guest = m.memory.guest;
  const sum = m.core.summary();
  const mem = sum.memory!;
  const completed = sum.outcome === 'completed';
  const ms = ctx.measured;
  const spec = storage?.spec ?? null;
  const disk = storage?.disk ?? null;
  const ask = <R extends Request>(req: R) => dest.ask(req);
  const violations = [...sum.violations];
  let memoryVerified: boolean | null = null;
  let verified: boolean | null = null;
  let writesLost = 0;
  let sourceFilesRemoved = sum.sourceFilesRemoved;
  let destFilesLeft = sum.destinationFilesLeft;

  if (completed) {
    // The source VM stayed paused (then stopped) after the pause: its RAM is the memory at the pause.
    ms.hashes.source_ram = guest.ram.sha256();
    ms.hashes.state = m.memory.stateSha;
    let theirs: Hashes | null = null;
    try {
      theirs = await ask({ t: 'verify', id: ctx.id });
    } catch (e) {
      violations.push(`could not verify the destination: ${(e as Error).message}`);
    }
    ms.hashes.dest_ram = theirs?.ram ?? null;
    ms.hashes.dest_state = theirs?.state ?? null;
    ms.hashes.dest_disk = theirs?.disk ?? null;
    memoryVerified = theirs ? ms.hashes.dest_ram === ms.hashes.source_ram : null;
    const stateOk = theirs ? ms.hashes.dest_state === ms.hashes.state : null;
    let diskOk: boolean | null = true;
    if (spec && storage && disk) {
      const srcPath = m.sourceDiskMoved ?? storage.path;
      const src = fileSha256(srcPath, { regions: true });
      ms.hashes.source_disk = src.sha256;
      const counts = disk.counts;
      if (src.sha256 !== expectedDiskSha256(spec, counts.writes)) violations.push("the source's disk image differs from a replay of the guest's writes");
      diskOk = theirs ? ms.hashes.dest_disk === src.sha256 : null;
      if (diskOk === false) {
        const regions = await ask({ t: 'verify', id: ctx.id, regions: true }).catch(() => null);
        const bad = new Set<number>();
        const diskRegions = regions?.diskRegions ?? [];
        src.regions.forEach((h, i) => diskRegions[i] !== h && bad.add(i));
        const seq = new DiskIoSequence(spec);
        for (let k = 0; k < counts.writes; k++) if (bad.has(Math.floor(seq.next().offset / REGION_BYTES))) writesLost++;
        violations.push(`the destination's disk differs from the source's in ${bad.size} of ${src.regions.length} MiB regions (${writesLost} guest writes fall in them)`);
      }
    }
    if (memoryVerified === false) {
      const regions = await ask({ t: 'verify', id: ctx.id, regions: true }).catch(() => null);
      const ramRegions = regions?.ramRegions ?? [];
      let bad = 0;
      for (let at = 0, i = 0; at < ctx.ramBytes; at += REGION_BYTES, i++) if (ramRegions[i] !== guest.ram.hashRange(at, Math.min(REGION_BYTES, ctx.ramBytes - at))) bad++;
      violations.push(`destination memory differs from the source at the pause in ${bad} of ${Math.ceil(ctx.ramBytes / REGION_BYTES)} MiB blocks`);
    }
    if (stateOk === false) violations.push('the device state differs on the destination');
    verified = memoryVerified === true && stateOk === true && diskOk === true;
    if (m.sourceDiskMoved) {
      // Remove the source image only now that its copy is verified.
      if (verified) rmSync(m.sourceDiskMoved, { force: true });
      else {
        sourceFilesRemoved = 0;
        violations.push(`the source disk image is kept at ${m.sourceDiskMoved} (the move did not verify)`);
      }
    }
    await ask({ t: 'release', id: ctx.id }).catch(() => undefined);
  } else if (sum.inDoubt && sum.inDoubt.resolvedAt === null) {
    // No word from the destination: the VM stays paused on the source (the core said so); nothing to prove.
  } else {
    // Rolled back: the VM runs on the source. Prove its memory and disk hold exactly its own writes.
    await guest.pause();
    const intact = guest.checkIntact();
    ms.source_intact.memory = intact.ok;
    if (!intact.ok) violations.push("the source's memory differs from a replay of the guest's own writes");
    if (disk && spec && storage) {
      await disk.pause();
      const ok = fileSha256(storage.path).sha256 === expectedDiskSha256(spec, disk.counts.writes);
      ms.source_intact.disk = ok;
      if (!ok) violations.push("the source's disk image differs from a replay of the guest's own writes");
      disk.resume();
    }
    guest.resume();
    // What the destination says it kept; a local destination's directory is also looked at directly.
    const local = dest.receiver ? readdirSync(dest.receiver.dir).filter((f) => f.startsWith(`${ctx.vm}`)).length : null;
    destFilesLeft = dest.filesLeft ?? local ?? (spec ? 2 : 1);
    if (local !== null) destFilesLeft = Math.max(destFilesLeft, local);
    if (dest.filesLeft === null && local === null) violations.push("could not confirm that the destination removed the migration's files");
    if (destFilesLeft > 0) violations.push(`the destination kept ${destFilesLeft} file(s) of the rolled-back migration`);
  }
  if (disk) {
    const c = disk.counts;
    ms.disk_writes = c.writes;
    ms.held_writes = c.heldWrites;
  }
  ms.guest_writes = guest.writes;
  if (dest.session) ms.bytes_resent = dest.session.stats().bytesResent;
  const iv = (p: keyof typeof sum.phases) => (sum.phases[p] ? sum.phases[p]!.end - sum.phases[p]!.start : 0);
  // The core closes the clean-up phase only when a fault cuts it short; otherwise it runs to the end.
  ms.phases = { config_s: iv('config'), storage_copy_s: iv('storage-copy'), precopy_s: iv('precopy'), blackout_s: iv('blackout'), handoff_s: iv('handoff'), resume_s: iv('resume'), cleanup_s: iv('cleanup') };
  const d = sum.inDoubt;
  ms.in_doubt = d ? { since_s: d.since, cause: d.cause, resolved_s: d.resolvedAt, owner: d.owner } : null;

  const counts = disk?.counts;
  ms.verify_s = (performance.now() - t0) / 1000;
  const result: MigrationResult & { verified: boolean | null } = resultRecord(s, sum, {
    engine: 'real',
    network: networkLabel(ctx),
    transport: 'smb',
    memoryMode: true,
    converged: mem.converged,
    totalBytesSent: mem.memoryWireBytes + m.memory.stateSent + dest.configSent + (storage?.copyWireBytes ?? 0) + (storage?.mirroredWireBytes ?? 0),
    memoryVerified,
    diskBytes: spec?.bytes ?? 0,
    storageBytesCopied: storage?.bytesCopied ?? 0,
    mirroredWrites: counts?.mirroredWrites ?? 0,
    mirroredBytes: counts?.mirroredBytes ?? 0,
    sourceFilesRemoved,
    writesLost,
    // The source process's CPU less the guest's own threads' (cpu-time.ts); the destination's own figure.
    sourceCpu: m.sourceCpu,
    destinationCpu: ms.dest_cpu_s,
    compressionShare: null,
    destinationFilesLeft: destFilesLeft,
    violations,
    verified,
  });
  const run: RealRun = { result, measured: ms };
  if (o.keepSource) {
    run.source = { guest, disk, diskPath: storage && existsSync(storage.path) ? storage.path : null, release: () => m.releaseSource() };
  }
  return run;
}

function networkLabel(ctx: RealContext): string {
  const o = ctx.o;
  const where = o.to ? o.to.map(formatEndpoint).join('+') : 'loopback';
  const rate = o.rate !== undefined ? `-${Number(((o.rate * 8) / 1e9).toPrecision(3))}gbit` : '';
  return `${where}-${ctx.channels}ch${rate}`;
}


// After the timed migration: verification and the result record. A completed move is verified by hashing
// both sides (the source's memory as it was at the pause, its disk image, the device state; the
// destination's the same) and the source's disk image is removed only once its copy is verified. After a
// rollback the source is proven intact: its memory and disk must equal a replay of the guest's own
// writes, and the destination must report no files of the migration. None of this is migration time.

import { existsSync, readdirSync, rmSync } from 'node:fs';
import { expectedDiskSha256, fileSha256, REGION_BYTES, DiskIoSequence } from '../../guest/real/disk.js';
import type { MigrationResult } from '../../result.js';
import { formatEndpoint } from '../../transport/tcp/address.js';
import type { Request } from './protocol.js';
import type { RealRun } from './options.js';
import type { RealMigration } from './driver.js';
import { resultRecord } from '../record.js';
import { adminRequest } from './destination.js';

/** Ask the destination something after the migration: over the session if it still lives, else anew. */
async function askDestination(m: RealMigration, req: Request): Promise<Record<string, unknown>> {
  const timeout = Math.max(300, m.s.timing.transferTimeout);
  if (m.link && m.session && !m.session.failure && m.session.channels.some((c) => c.alive)) {
    try {
      return await m.link.request(req, undefined, timeout);
    } catch {
      /* fall back to a fresh session */
    }
  }
  return adminRequest(m, req, timeout);
}

export async function finishRun(m: RealMigration): Promise<RealRun> {
  const t0 = performance.now();
  const s = m.s;
  const sum = m.core.summary();
  const mem = sum.memory!;
  const completed = sum.outcome === 'completed';
  const ms = m.measured;
  const violations = [...sum.violations];
  let memoryVerified: boolean | null = null;
  let verified: boolean | null = null;
  let writesLost = 0;
  let sourceFilesRemoved = sum.sourceFilesRemoved;
  let destFilesLeft = sum.destinationFilesLeft;

  if (completed) {
    // The source VM stayed paused (then stopped) after the pause: its RAM is the memory at the pause.
    ms.hashes.source_ram = m.guest.ram.sha256();
    ms.hashes.state = m.stateSha;
    let dest: Record<string, unknown> | null = null;
    try {
      dest = await askDestination(m, { t: 'verify', id: m.id });
    } catch (e) {
      violations.push(`could not verify the destination: ${(e as Error).message}`);
    }
    ms.hashes.dest_ram = (dest?.['ram'] as string) ?? null;
    ms.hashes.dest_state = (dest?.['state'] as string) ?? null;
    ms.hashes.dest_disk = (dest?.['disk'] as string) ?? null;
    memoryVerified = dest ? ms.hashes.dest_ram === ms.hashes.source_ram : null;
    const stateOk = dest ? ms.hashes.dest_state === ms.hashes.state : null;
    let diskOk: boolean | null = true;
    if (m.diskSpec) {
      const srcPath = m.sourceDiskMoved ?? m.diskPath!;
      const src = fileSha256(srcPath, { regions: true });
      ms.hashes.source_disk = src.sha256;
      const counts = m.disk!.counts;
      if (src.sha256 !== expectedDiskSha256(m.diskSpec, counts.writes)) violations.push("the source's disk image differs from a replay of the guest's writes");
      diskOk = dest ? ms.hashes.dest_disk === src.sha256 : null;
      if (diskOk === false) {
        const regions = await askDestination(m, { t: 'verify', id: m.id, regions: true }).catch(() => null);
        const bad = new Set<number>();
        const theirs = (regions?.['diskRegions'] as string[] | undefined) ?? [];
        src.regions.forEach((h, i) => theirs[i] !== h && bad.add(i));
        const seq = new DiskIoSequence(m.diskSpec);
        for (let k = 0; k < counts.writes; k++) if (bad.has(Math.floor(seq.next().offset / REGION_BYTES))) writesLost++;
        violations.push(`the destination's disk differs from the source's in ${bad.size} of ${src.regions.length} MiB regions (${writesLost} guest writes fall in them)`);
      }
    }
    if (memoryVerified === false) {
      const regions = await askDestination(m, { t: 'verify', id: m.id, regions: true }).catch(() => null);
      const theirs = (regions?.['ramRegions'] as string[] | undefined) ?? [];
      let bad = 0;
      for (let at = 0, i = 0; at < m.ramBytes; at += REGION_BYTES, i++) if (theirs[i] !== m.guest.ram.hashRange(at, Math.min(REGION_BYTES, m.ramBytes - at))) bad++;
      violations.push(`destination memory differs from the source at the pause in ${bad} of ${Math.ceil(m.ramBytes / REGION_BYTES)} MiB blocks`);
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
    await askDestination(m, { t: 'release', id: m.id }).catch(() => undefined);
  } else {
    // Rolled back: the VM runs on the source. Prove its memory and disk hold exactly its own writes.
    await m.guest.pause();
    const intact = m.guest.checkIntact();
    ms.source_intact.memory = intact.ok;
    if (!intact.ok) violations.push("the source's memory differs from a replay of the guest's own writes");
    if (m.disk && m.diskSpec && m.diskPath) {
      await m.disk.pause();
      const ok = fileSha256(m.diskPath).sha256 === expectedDiskSha256(m.diskSpec, m.disk.counts.writes);
      ms.source_intact.disk = ok;
      if (!ok) violations.push("the source's disk image differs from a replay of the guest's own writes");
      m.disk.resume();
    }
    m.guest.resume();
    // What the destination says it kept; a local destination's directory is also looked at directly.
    const local = m.receiver ? readdirSync(m.receiver.dir).filter((f) => f.startsWith(`${m.vm}`)).length : null;
    destFilesLeft = m.destFilesLeft ?? local ?? (m.diskSpec ? 2 : 1);
    if (local !== null) destFilesLeft = Math.max(destFilesLeft, local);
    if (m.destFilesLeft === null && local === null) violations.push("could not confirm that the destination removed the migration's files");
    if (destFilesLeft > 0) violations.push(`the destination kept ${destFilesLeft} file(s) of the rolled-back migration`);
  }
  if (m.disk) {
    const c = m.disk.counts;
    ms.disk_writes = c.writes;
    ms.held_writes = c.heldWrites;
  }
  ms.guest_writes = m.guest.writes;
  if (m.session) ms.bytes_resent = m.session.stats().bytesResent;
  const iv = (p: keyof typeof sum.phases) => (sum.phases[p] ? sum.phases[p]!.end - sum.phases[p]!.start : 0);
  // The core closes the clean-up phase only when a fault cuts it short; otherwise it runs to the end.
  ms.phases = { config_s: iv('config'), storage_copy_s: iv('storage-copy'), precopy_s: iv('precopy'), blackout_s: iv('blackout'), handoff_s: iv('handoff'), cleanup_s: iv('cleanup') };

  const counts = m.disk?.counts;
  ms.verify_s = (performance.now() - t0) / 1000;
  const result: MigrationResult & { verified: boolean | null } = resultRecord(s, sum, {
    engine: 'real',
    network: networkLabel(m),
    transport: 'smb',
    memoryMode: true,
    converged: mem.converged,
    totalBytesSent: mem.memoryWireBytes + m.stateSent + m.configSent + (m.storage?.copyWireBytes ?? 0) + (m.storage?.mirroredWireBytes ?? 0),
    memoryVerified,
    diskBytes: m.diskSpec?.bytes ?? 0,
    storageBytesCopied: m.storage?.bytesCopied ?? 0,
    mirroredWrites: counts?.mirroredWrites ?? 0,
    mirroredBytes: counts?.mirroredBytes ?? 0,
    sourceFilesRemoved,
    faultsApplied: m.faults.applied,
    writesLost,
    destinationFilesLeft: destFilesLeft,
    violations,
    verified,
  });
  const run: RealRun = { result, measured: ms };
  if (m.o.keepSource) {
    run.source = { guest: m.guest, disk: m.disk, diskPath: m.diskPath && existsSync(m.diskPath) ? m.diskPath : null, release: () => m.releaseSource() };
  }
  return run;
}

function networkLabel(m: RealMigration): string {
  const where = m.o.to ? m.o.to.map(formatEndpoint).join('+') : 'loopback';
  const rate = m.o.rate !== undefined ? `-${Number(((m.o.rate * 8) / 1e9).toPrecision(3))}gbit` : '';
  return `${where}-${m.channels}ch${rate}`;
}


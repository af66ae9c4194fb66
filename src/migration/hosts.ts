// Where the VM runs and which files each host holds, as the core's steps change them, and the invariants
// checked against that account when a migration ends: exactly one host runs the VM; a rolled-back run
// leaves no destination file and removed no source file; the source's files go only once the VM runs on
// the destination (storage mode: once its IO uses the new files).

import type { Host } from '../result.js';

type SourceVm = 'running' | 'paused' | 'stopped' | 'removed';
type DestVm = 'absent' | 'shell' | 'running';

export class Hosts {
  source: SourceVm = 'running';
  dest: DestVm = 'absent';
  destFiles = 0;
  sourceFilesRemoved = 0;
  readonly violations: string[] = [];

  /** The destination created the (empty) VM: its configuration is its first file. */
  shellCreated(): void {
    this.dest = 'shell';
    this.destFiles = 1;
  }

  /** The VM runs on the destination now. */
  runsOnDestination(): void {
    if (this.source === 'running') this.violations.push('the VM ran on both hosts at once');
    this.source = 'stopped';
    this.dest = 'running';
  }

  destinationCleaned(): void {
    this.destFiles = 0;
    this.dest = 'absent';
  }

  get vmRunningOn(): Host {
    return this.dest === 'running' ? 'destination' : 'source';
  }

  /**
   * The invariants at the end. `rolledBack`: the run rolled back (with the destination's files accounted
   * for unless `filesUnknown`, an unresolved in-doubt window); `ioSwitched`: storage mode, the VM's IO uses
   * the new files.
   */
  check(o: { rolledBack: boolean; filesUnknown: boolean; ioSwitched: boolean }): void {
    const srcRuns = this.source === 'running';
    const dstRuns = this.dest === 'running';
    const v = this.violations;
    if (srcRuns === dstRuns) v.push(srcRuns ? 'the VM runs on both hosts' : 'the VM runs on no host');
    if (o.rolledBack && this.destFiles !== 0 && !o.filesUnknown) v.push(`a rolled-back run left ${this.destFiles} destination files`);
    if (o.rolledBack && this.sourceFilesRemoved !== 0) v.push('a rolled-back run removed source files');
    if (this.sourceFilesRemoved > 0 && !(dstRuns || o.ioSwitched)) v.push('source files were removed before the VM ran on the destination');
  }
}

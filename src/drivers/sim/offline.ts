// A VM that is not running (Off or Saved) moves by configuration only: its configuration crosses to the
// destination, which registers the VM, and the source removes it (the cluster updates its resource). With
// its files on the source's own storage (shared-nothing) its disks are copied first, over the same links
// and disks as a live storage copy but without mirroring (nothing writes to them). No memory moves, no
// downtime: the VM was not running.

import type { Scenario } from '../../scenario.js';
import { diskBytes } from '../../guest/files.js';
import { SimChannels } from './channels.js';
import type { Route, SimWorld } from './world.js';
import { COPY_CHUNK } from './storage.js';
import { streamRate } from '../../storage/endpoints.js';

export interface OfflineResult {
  total_time_s: number;
  total_bytes_sent: number;
  storage_bytes_copied: number;
  outcome: 'completed' | 'rolled_back';
  rollback_reason: string | null;
}

export class OfflineMove {
  private readonly channels: SimChannels;
  private origin = 0;
  private result: OfflineResult | null = null;

  constructor(
    private readonly world: SimWorld,
    private readonly s: Scenario,
    route: Route,
  ) {
    this.channels = new SimChannels(world, world.fabric.host(route.src), world.fabric.host(route.dst), { ...s, mode: 'cluster' }, route.stream);
  }

  start(done: () => void): void {
    const { world, s } = this;
    const sim = world.sim;
    this.origin = sim.now;
    this.channels.open();
    const disks = this.s.mode === 'shared-nothing' ? diskBytes(this.s.vm) : 0;
    const t = s.timing;
    const finish = (outcome: OfflineResult['outcome'], reason: string | null, sent: number, copied: number) => {
      this.channels.close();
      this.result = { total_time_s: sim.now - this.origin, total_bytes_sent: sent, storage_bytes_copied: copied, outcome, rollback_reason: reason };
      done();
    };
    if (this.channels.lost) {
      sim.at(sim.now + t.detectTime, () => finish('rolled_back', 'all_channels_lost', 0, 0));
      return;
    }
    const config = () =>
      world.engine.start({
        ...this.channels.bulk(t.configBytes),
        done: () => sim.at(sim.now + t.setupTime + t.cleanupTime + (s.mode === 'cluster' ? t.clusterUpdateTime : 0), () => finish('completed', null, t.configBytes + disks, disks)),
      });
    if (disks === 0) return void config();
    const rate = Math.min(streamRate(s.storage.source, COPY_CHUNK), streamRate(s.storage.dest, COPY_CHUNK));
    world.engine.start({ ...this.channels.bulk(disks, this.channels.devices(s.storage.source, s.storage.dest)), groupCap: rate, done: () => config() });
  }

  output(): OfflineResult {
    if (!this.result) throw new Error('the offline move has not finished');
    return this.result;
  }
}

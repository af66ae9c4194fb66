// One migration's transport channels on the simulated network: the TCP stream or SMB connections it
// opened between its two hosts, which of them still live, and what its transfers and its guest's
// networked IO use of them. When a NIC fails, whoever caused it, every migration on it learns through the
// fabric: a team moves the channel to a live member (no loss); otherwise the channel dies, and a transfer
// in progress sends its lost window again over the survivors once the sender noticed; with none left the
// migration has lost its path.

import type { ResourceId } from '../../network/flows.js';
import type { Scenario } from '../../scenario.js';
import type { StorageEndpoint } from '../../storage/endpoints.js';
import { CHANNEL_WINDOW, CHUNK_SIZE } from '../../transport/defaults.js';
import { cpuPerByte, pageCost, type Carrier, type PageWork } from '../../transport/model.js';
import { selectChannels } from '../../transport/selection.js';
import type { DemandPath } from './guest-io.js';
import type { PathChannel, SimHost } from './fabric.js';
import type { SimWorld } from './world.js';
import { COPY_CHUNK } from './storage.js';
import type { PathSpec, Transfer, TransferSpec } from './transfers.js';

/** A transfer to start, and the CPU it costs each host (core-seconds) once done. */
export type Spec = Omit<TransferSpec, 'done'> & { cpu: { source: number; destination: number }; compressed: number };
type Uses = { r: ResourceId; k: number }[];

export class SimChannels {
  private list: PathChannel[] = [];
  /** The transfer in progress and which channel each of its paths is. */
  private active: { t: Transfer; ids: number[] } | null = null;
  private lostListeners: ((cause: 'link_down' | 'all_channels_lost') => void)[] = [];
  private unsubscribe: (() => void) | null = null;
  private readonly work: PageWork;
  /** Set while this migration's own fault changes the world: its core arms the notice, not pathsLost. */
  quiet = false;
  /** Every path is gone. */
  lost = false;
  private cutLink = false;

  constructor(
    private readonly world: SimWorld,
    private readonly src: SimHost,
    private readonly dst: SimHost,
    private readonly s: Scenario,
    private readonly stream: number,
  ) {
    this.work = { compression: s.transport === 'compression' ? s.compression : null, zeroPages: s.zeroPages, zeroScanRate: s.zeroScanRate, runCost: s.runCost };
  }

  /** Open the transport's channels (on the NICs live now) and follow NIC failures from now on. */
  open(): void {
    this.list = this.s.mode === 'storage' ? [] : this.world.fabric.open(this.src, this.dst, this.s.transport, this.stream);
    this.lost = this.list.length > 0 && !this.list.some((c) => c.alive);
    this.unsubscribe = this.world.fabric.onNicFailed((host, nic) => this.nicFailed(host, nic));
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.active = null;
  }

  onLost(l: (cause: 'link_down' | 'all_channels_lost') => void): () => void {
    this.lostListeners.push(l);
    return () => (this.lostListeners = this.lostListeners.filter((x) => x !== l));
  }

  /** Round trip of the slowest live channel (the last acknowledgement), seconds. */
  get rtt(): number {
    const live = this.list.filter((c) => c.alive);
    return live.length > 0 ? Math.max(...live.map((c) => c.rtt)) : this.s.network.rtt;
  }

  private get live(): PathChannel[] {
    return this.list.filter((c) => c.alive);
  }

  /** The resources a channel's path crosses (cached while the channel stays on its members). */
  private readonly usesCache = new Map<PathChannel, { src: string; dst: string; uses: Uses }>();
  private uses(c: PathChannel, extra: Uses = []): Uses {
    let u = this.usesCache.get(c);
    if (!u || u.src !== c.src || u.dst !== c.dst) this.usesCache.set(c, (u = { src: c.src, dst: c.dst, uses: this.world.fabric.uses(this.src, this.dst, c) }));
    return extra.length === 0 ? u.uses : [...u.uses, ...extra];
  }

  /** The transfer the channels carry now (null: none), for failures to act on. */
  carrying(t: Transfer | null): void {
    this.active = t ? { t, ids: this.carriers(t.spec.bytes).map((c) => c.id) } : null;
  }

  /**
   * The live channels a transfer of `bytes` uses: no more than it has chunks (a chunk crosses one channel
   * whole, as an SMB request does), taken across the NICs in turn (the striper's least-loaded choice).
   */
  private carriers(bytes: number): PathChannel[] {
    const live = this.live;
    const n = Math.max(1, Math.min(live.length, Math.ceil(bytes / CHUNK_SIZE)));
    if (n >= live.length) return live;
    const byIface = new Map<string, PathChannel[]>();
    for (const c of live) byIface.set(c.src, [...(byIface.get(c.src) ?? []), c]);
    const out: PathChannel[] = [];
    for (let i = 0; out.length < n; i++) for (const list of byIface.values()) if (list[i] && out.length < n) out.push(list[i]!);
    return out;
  }

  /** What carries the bytes: one TCP stream, SMB over TCP, or SMB Direct (RDMA). */
  private get carrier(): Carrier {
    if (this.s.transport !== 'smb') return 'tcp';
    return this.live.some((c) => c.rdma) ? 'smb-direct' : 'smb';
  }

  /** Core-seconds per byte each host spends on this transport. */
  get cpuPerByte(): { source: number; destination: number } {
    return cpuPerByte(this.carrier);
  }

  /** The CPU a host spends moving `bytes` over this transport (core-seconds). */
  private carried(bytes: number): { source: number; destination: number } {
    const c = this.cpuPerByte;
    return { source: bytes * c.source, destination: bytes * c.destination };
  }

  /** A plain transfer of `bytes` over the live channels (`extra`: more resources each path crosses). */
  bulk(bytes: number, extra: Uses = []): Spec {
    const paths: PathSpec[] = this.carriers(bytes).map((c) => ({ uses: this.uses(c, extra), cap: c.cap }));
    return { bytes, paths, floor: 0, tail: this.rtt, cpu: this.carried(bytes), compressed: 0 };
  }

  /**
   * Whether compression pays now: the source's free idle cores (those no other compression uses) can feed
   * the stream more than it carries uncompressed. Hyper-V compresses only with CPU the VMs do not use and
   * falls back to TCP/IP when compression would contend for it (Armstrong 2013; Finn 2013).
   */
  private compressionPays(): boolean {
    const c = this.work.compression;
    if (!c) return false;
    const net = this.world.fabric.net;
    const free = Math.max(0, net.capacity(this.src.cpu) - net.used(this.src.cpu));
    const cores = c.cores === null ? free : Math.min(free, c.cores);
    const plain = this.live.reduce((t, ch) => t + Math.min(ch.cap, this.src.port(ch.src).nic.lineRate * ch.efficiency), 0);
    return cores * c.ratePerCore > plain;
  }

  /** A memory transfer: pages (compressed when it pays, zero pages whole or as markers) with the source's page work. */
  pages(fullPages: number, zeroPages: number, extraBytes: number, runs: number): Spec {
    const streamRate = this.list.reduce((t, c) => t + c.cap, 0);
    const compress = this.compressionPays();
    const work = compress ? this.work : { ...this.work, compression: null };
    const c = pageCost(work, fullPages, zeroPages, extraBytes, runs, streamRate);
    const spec = this.bulk(c.wireBytes);
    const comp = work.compression;
    if (comp && c.compressSeconds > 0) {
      // Compression uses the host's idle cores (shared with every other compression on the host): each
      // wire byte needs compressSeconds / wireBytes of them; at most `cores` when capped.
      const k = c.compressSeconds / c.wireBytes;
      for (const p of spec.paths) p.uses = [...p.uses, { r: this.src.cpu, k }];
      if (comp.cores !== null) spec.groupCap = (comp.cores * c.wireBytes) / c.compressSeconds;
    }
    return { ...spec, floor: c.threadSeconds, cpu: { source: spec.cpu.source + c.sourceCpu, destination: spec.cpu.destination + c.destinationCpu }, compressed: compress ? c.wireBytes : 0 };
  }

  /** The hosts' storage devices a copy reads and writes (shared by every copy on those hosts). */
  devices(from: StorageEndpoint, to: StorageEndpoint): Uses {
    return [
      { r: this.src.device(from, COPY_CHUNK).read, k: 1 },
      { r: this.dst.device(to, COPY_CHUNK).write, k: 1 },
    ];
  }

  /** Demand flows of `rate` bytes/s spread over the live channels (mirrored writes). */
  demandPaths(rate: number): DemandPath[] {
    const live = this.live;
    if (rate <= 0 || live.length === 0) return [];
    return live.map((c) => ({ uses: this.uses(c), demand: rate / live.length }));
  }

  /** The SMB connections from the source host to a file server (its own side only): NIC ports, one per connection. */
  private smbPorts(): { tx: ResourceId; rx: ResourceId; k: number }[] {
    const live = this.s.network.nics.filter((n) => this.src.port(n.name).alive);
    if (live.length === 0) return [];
    return selectChannels(live).channels.map((c) => {
      const p = this.world.fabric.member(this.src, c.member, `${this.src.name}>fileserver/${c.id}`) ?? this.src.port(c.member);
      return { tx: p.tx, rx: p.rx, k: 1 };
    });
  }

  /** A storage copy to (or, `reading`, from) an SMB file server over the source host's SMB links. */
  toFileServer(bytes: number, reading: boolean): Spec {
    const ports = this.smbPorts();
    const c = cpuPerByte('smb');
    return { bytes, paths: ports.map((p) => ({ uses: [{ r: reading ? p.rx : p.tx, k: p.k }], cap: this.s.network.streamCap })), floor: 0, tail: this.s.network.rtt, cpu: { source: bytes * c.source, destination: 0 }, compressed: 0 };
  }

  /** A converged smb-share guest's IO to its file server: writes leave by the NICs, reads arrive. */
  convergedPaths(writes: number, reads: number): DemandPath[] {
    const ports = this.smbPorts();
    if (ports.length === 0) return [];
    return [
      ...(writes > 0 ? ports.map((p) => ({ uses: [{ r: p.tx, k: p.k }], demand: writes / ports.length })) : []),
      ...(reads > 0 ? ports.map((p) => ({ uses: [{ r: p.rx, k: p.k }], demand: reads / ports.length })) : []),
    ];
  }

  // -- failures -------------------------------------------------------------------------------------------

  /** Every link of the source host fails (`link-down`). Returns true (every path is gone). */
  failLink(): boolean {
    this.cutLink = true;
    for (const p of this.src.ports.values()) if (p.alive) this.world.fabric.failNic(this.src, p.nic.name);
    return this.lost || this.list.length === 0 || !this.list.some((c) => c.alive);
  }

  /** The first source NIC that carries one of its live channels fails. Returns whether every path is gone. */
  failNic(): boolean {
    const c = this.live[0];
    if (c) this.world.fabric.failNic(this.src, c.src);
    return this.lost;
  }

  /** One channel fails (the first still alive). Returns whether every path is gone. */
  failChannel(): boolean {
    const c = this.live[0];
    if (c) this.channelsDied([c], this.noticeAt());
    return this.lost;
  }

  /** When the sender notices a channel that dies now (simulator time). */
  private noticeAt(): number {
    return this.world.sim.now + this.s.timing.detectTime;
  }

  /** A NIC of some host failed: move or lose this migration's channels on it. */
  private nicFailed(host: SimHost, nic: string): void {
    if (host !== this.src && host !== this.dst) return;
    const fabric = this.world.fabric;
    const died: PathChannel[] = [];
    const moved: PathChannel[] = [];
    for (const c of this.live) {
      const end = host === this.src ? 'src' : 'dst';
      if (c[end] !== nic) continue;
      const key = `${this.src.name}>${this.dst.name}#${this.stream}/${c.id}${end === 'dst' ? ':rx' : ''}:moved`;
      const other = fabric.member(host, nic, key);
      if (other) {
        c[end] = other.nic.name; // a team moves the connection to a live member: nothing lost
        moved.push(c);
      } else died.push(c);
    }
    const a = this.active;
    if (a && moved.length > 0) {
      this.world.engine.mutate(() => {
        for (const c of moved) {
          const i = a.ids.indexOf(c.id);
          const f = a.t.flows[i];
          if (f !== undefined && f !== null) fabric.net.reroute(f, this.uses(c, this.extraOf(a.t, i)));
        }
      });
    }
    if (died.length > 0) this.channelsDied(died, this.noticeAt());
  }

  /** The resources past the channel's ports that path `i` of `t` crosses (the copy's devices). */
  private extraOf(t: Transfer, i: number): Uses {
    return t.spec.paths[i]!.uses.slice(2);
  }

  private channelsDied(died: PathChannel[], noticed: number): void {
    for (const c of died) c.alive = false;
    const a = this.active;
    if (a) {
      const idx = died.map((c) => a.ids.indexOf(c.id)).filter((i) => i >= 0);
      // The window each dead connection had in flight goes again over the others once noticed.
      const lost = Math.min(idx.length * CHANNEL_WINDOW, a.t.done);
      if (idx.length > 0) this.world.engine.loseChannels(a.t, idx, lost, noticed);
    }
    if (!this.live.length && !this.lost) {
      this.lost = true;
      if (!this.quiet) for (const l of this.lostListeners) l(this.cutLink ? 'link_down' : 'all_channels_lost');
    }
  }
}

// The simulated hosts and their network: every host has the NICs of the scenario's network profile, each
// NIC a transmit and a receive port on the shared flow network (full duplex, a non-blocking switch
// between them), and its storage devices. A migration between two hosts opens its transport's channels
// here: one TCP stream (tcp, compression) or SMB multichannel's connections (smb), each a path from a
// port of the source to a port of the destination.
//
// NIC teams (LBFO, address hash): a team is one interface; each TCP connection on it is placed on one
// member by a hash of its endpoints (source host, destination host, stream), so one stream never uses two
// members while several streams (several migrations, several SMB connections) spread over them, as the
// hash happens to place them. When a member fails, the team moves its connections to the live members.

import { FlowNetwork, type ResourceId } from '../../network/flows.js';
import { protocolEfficiency, type Network, type Nic } from '../../network/index.js';
import type { TransportName } from '../../result.js';
import { streamRate, type StorageEndpoint } from '../../storage/endpoints.js';
import { CHANNEL_WINDOW } from '../../transport/defaults.js';
import { selectChannels, type ChannelKind, type SelectionOptions } from '../../transport/selection.js';

export interface Port {
  nic: Nic;
  tx: ResourceId;
  rx: ResourceId;
  alive: boolean;
}

export class SimHost {
  readonly ports = new Map<string, Port>();
  private readonly devices = new Map<string, { read: ResourceId; write: ResourceId }>();
  /** The host's idle cores (core-seconds per second): what compression may use. */
  readonly cpu: ResourceId;

  constructor(
    readonly name: string,
    private readonly net: FlowNetwork,
    nics: readonly Nic[],
    idleCores: number,
  ) {
    for (const nic of nics) this.ports.set(nic.name, { nic, tx: net.addResource(`${name}/${nic.name}/tx`, nic.lineRate), rx: net.addResource(`${name}/${nic.name}/rx`, nic.lineRate), alive: true });
    this.cpu = net.addResource(`${name}/cpu`, idleCores);
  }

  port(nic: string): Port {
    const p = this.ports.get(nic);
    if (!p) throw new Error(`host ${this.name} has no NIC ${nic}`);
    return p;
  }

  /** The host's storage device of this kind: sequential read and write bandwidth for copies (1 MiB IOs). */
  device(e: StorageEndpoint, chunk: number): { read: ResourceId; write: ResourceId } {
    let d = this.devices.get(e.name);
    if (!d) {
      const rate = streamRate(e, chunk);
      d = { read: this.net.addResource(`${this.name}/${e.name}/read`, rate), write: this.net.addResource(`${this.name}/${e.name}/write`, rate) };
      this.devices.set(e.name, d);
    }
    return d;
  }

  /** Members of the team `nic` belongs to (itself alone when not teamed). */
  teamOf(nic: string): Port[] {
    const team = this.port(nic).nic.team;
    if (!team) return [this.port(nic)];
    return [...this.ports.values()].filter((p) => p.nic.team === team);
  }
}

/** One connection of a migration's transport. */
export interface PathChannel {
  id: number;
  /** The interface (a NIC or a team) and the members that carry it at each end. */
  iface: string;
  kind: ChannelKind | 'tcp';
  rdma: boolean;
  src: string;
  dst: string;
  /** Round trip, seconds. */
  rtt: number;
  /** Its own limit, payload bytes/s: one core per TCP stream, and a window per round trip. */
  cap: number;
  /** Payload bytes per byte of line rate. */
  efficiency: number;
  alive: boolean;
}

/** FNV-1a of a string: the address hash that places a connection on a team member. */
export function hashOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export class SimFabric {
  readonly net = new FlowNetwork();
  private readonly hostMap = new Map<string, SimHost>();
  private nicListeners: ((host: SimHost, nic: string) => void)[] = [];

  constructor(
    readonly network: Network,
    /** Each host's idle cores (its cores less what its VMs use). */
    private readonly idleCores = 16,
    private readonly smb?: SelectionOptions,
  ) {}

  host(name: string): SimHost {
    let h = this.hostMap.get(name);
    if (!h) {
      h = new SimHost(name, this.net, this.network.nics, this.idleCores);
      this.hostMap.set(name, h);
    }
    return h;
  }

  get hosts(): SimHost[] {
    return [...this.hostMap.values()];
  }

  /** The live member of `nic`'s team that a connection keyed `key` hashes to (null: none alive). */
  member(host: SimHost, nic: string, key: string): Port | null {
    const live = host.teamOf(nic).filter((p) => p.alive);
    return live.length === 0 ? null : live[hashOf(key) % live.length]!;
  }

  /**
   * The channels a migration from `src` to `dst` opens for `transport` (`stream`: which of the pair's
   * migrations it is, for the hash): one TCP stream on the first interface, or SMB multichannel's
   * connections over the interfaces it selects among the live NICs.
   */
  open(src: SimHost, dst: SimHost, transport: TransportName, stream: number): PathChannel[] {
    const n = this.network;
    const key = `${src.name}>${dst.name}#${stream}`;
    const tcpCap = (rtt: number) => Math.min(n.streamCap, CHANNEL_WINDOW / Math.max(rtt, 1e-9));
    if (transport !== 'smb') {
      const first = n.nics.find((x) => src.port(x.name).alive) ?? n.nics[0]!;
      const s = this.member(src, first.name, key);
      const d = this.member(dst, first.name, `${key}:rx`);
      return [{ id: 0, iface: first.team ?? first.name, kind: 'tcp', rdma: false, src: s?.nic.name ?? first.name, dst: d?.nic.name ?? first.name, rtt: n.rtt, cap: tcpCap(n.rtt), efficiency: protocolEfficiency(n.mtu, 'tcp'), alive: s !== null && d !== null }];
    }
    const live = n.nics.filter((x) => src.port(x.name).alive);
    const sel = selectChannels(live.length > 0 ? live : n.nics, this.smb);
    return sel.channels.map((c) => {
      const rdma = c.kind === 'rdma';
      const rtt = rdma ? n.rdmaRtt : n.rtt;
      const ck = `${key}/${c.id}`;
      const s = this.member(src, c.member, ck);
      const d = this.member(dst, c.member, `${ck}:rx`);
      return { id: c.id, iface: c.nic, kind: c.kind, rdma, src: s?.nic.name ?? c.member, dst: d?.nic.name ?? c.member, rtt, cap: rdma ? CHANNEL_WINDOW / Math.max(rtt, 1e-9) : tcpCap(rtt), efficiency: protocolEfficiency(n.mtu, rdma ? 'rdma' : 'tcp'), alive: s !== null && d !== null };
    });
  }

  /** The ports a channel crosses and the line-rate units it uses per payload byte. */
  uses(src: SimHost, dst: SimHost, c: PathChannel): { r: ResourceId; k: number }[] {
    const k = 1 / c.efficiency;
    return [
      { r: src.port(c.src).tx, k },
      { r: dst.port(c.dst).rx, k },
    ];
  }

  /** Told of every NIC failure (each migration moves or loses its channels on it); returns the way to stop. */
  onNicFailed(l: (host: SimHost, nic: string) => void): () => void {
    this.nicListeners.push(l);
    return () => (this.nicListeners = this.nicListeners.filter((x) => x !== l));
  }

  /**
   * A NIC of a host fails: its ports carry nothing from now on, and every migration on it learns. Call it
   * inside `TransferEngine.mutate` (progress is booked at the old rates first).
   */
  failNic(host: SimHost, nic: string): void {
    const p = host.port(nic);
    if (!p.alive) return;
    p.alive = false;
    this.net.setCapacity(p.tx, 0);
    this.net.setCapacity(p.rx, 0);
    for (const l of [...this.nicListeners]) l(host, nic);
  }
}

/**
 * The payload rate a migration's transport gets between two idle hosts of `network` (its channels at
 * their max-min fair rates: line rate x protocol efficiency, each TCP stream held to its cap), bytes/s.
 */
export function idleLinkRate(network: Network, transport: TransportName): number {
  const fabric = new SimFabric(network);
  const [a, b] = [fabric.host('a'), fabric.host('b')];
  const flows = fabric.open(a, b, transport, 0).map((c) => fabric.net.addFlow(fabric.uses(a, b, c), c.cap));
  return flows.reduce((t, f) => t + fabric.net.rate(f), 0);
}

// A migration source driven step by step over the real protocol (no guest, no core): a test holds it at
// any step (set up, data sent, resumed) while other migrations run, and knows the hashes its memory,
// device state and disk must have at the destination. Data: seeded bytes written in place, then page
// packets into the staging ring (applied over the memory at the destination), then the device state.
import { createHash, randomBytes } from 'node:crypto';
import { afterEach } from 'vitest';
import { DestinationLink } from '../../../src/drivers/real/link.js';
import { PACKET_BYTES, PACKET_HEADER, PACKET_MAGIC, PROTOCOL_VERSION, STAGING_BYTES, STAGING_SLOTS, type Hashes, type ReplyTo, type Request } from '../../../src/drivers/real/protocol.js';
import type { Endpoint } from '../../../src/transport/tcp/address.js';
import { SenderSession } from '../../../src/transport/tcp/sender.js';
import { PAGE_SIZE } from '../../../src/units/index.js';

const open: SenderSession[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

export interface Target {
  endpoint: Endpoint;
  key: Buffer;
}

/** A session to the destination with the migration protocol on top (closed after the test). */
export async function rawLink(t: Target, size = 1, o: { localAddress?: string; channels?: number } = {}): Promise<{ link: DestinationLink; session: SenderSession; errors: string[] }> {
  const session = await SenderSession.open({
    targets: [{ ...t.endpoint, ...(o.localAddress ? { localAddress: o.localAddress } : {}) }],
    channelsPerTarget: o.channels ?? 1,
    key: t.key,
    size,
    connectTimeout: 20,
    channelTimeout: 60,
  });
  open.push(session);
  const link = new DestinationLink(session, 60);
  const errors: string[] = [];
  link.errors((cause, message) => errors.push(`${cause}: ${message}`));
  return { link, session, errors };
}

/** One administrative request over a fresh session, as the source sends it after its session died. */
export async function adminAsk<R extends Request>(t: Target, req: R): Promise<ReplyTo<R>> {
  const { link, session } = await rawLink(t);
  try {
    await link.request({ t: 'hello', kind: 'admin', version: PROTOCOL_VERSION });
    return await link.request(req);
  } finally {
    session.close();
  }
}

/** The promise's refusal message, or 'accepted'. */
export const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'accepted',
    (e: Error) => e.message,
  );

export interface RawOptions {
  ram: number;
  disk?: number;
  state?: number;
  /** Page packets sent after the memory (each up to 255 pages of the memory, rewritten). */
  packets?: number;
  /** The last bytes of memory are zero and never sent (zero pages): the destination's memory must start zeroed. */
  unsent?: number;
  localAddress?: string;
  channels?: number;
  id?: string;
  /** Say hello as a measurement (its files go at release). */
  scratch?: boolean;
}

export class RawMigration {
  readonly id: string;
  readonly vm: string;
  readonly ram: Buffer;
  readonly disk: Buffer;
  readonly state: Buffer;
  private packetBufs: Buffer[] = [];
  link!: DestinationLink;
  session!: SenderSession;
  errors: string[] = [];

  constructor(
    private readonly t: Target,
    readonly o: RawOptions,
  ) {
    this.id = o.id ?? randomBytes(8).toString('hex');
    this.vm = `vm-${this.id}`;
    this.ram = randomBytes(o.ram);
    this.ram.fill(0, o.ram - (o.unsent ?? 0));
    this.disk = randomBytes(o.disk ?? 0);
    this.state = randomBytes(o.state ?? 4096);
    // Packets rewrite distinct pages spread over the memory (an odd step modulo a power of two never
    // repeats), so the order they are applied in does not matter; the expected memory has them applied.
    const per = (PACKET_BYTES - PACKET_HEADER) / PAGE_SIZE;
    const count = Math.min(o.packets ?? 0, STAGING_SLOTS);
    const sent = (o.ram - (o.unsent ?? 0)) / PAGE_SIZE;
    if (count > 0 && ((sent & (sent - 1)) !== 0 || count * per > sent)) throw new Error('raw migration: packets need a power-of-two count of sent pages, at least 255 per packet');
    for (let k = 0; k < count; k++) {
      const n = per;
      const b = Buffer.alloc(PACKET_HEADER + n * PAGE_SIZE);
      b.writeUInt32LE(PACKET_MAGIC, 0);
      b.writeUInt32LE(n, 4);
      for (let i = 0; i < n; i++) {
        const page = ((k * n + i) * 97) % ((o.ram - (o.unsent ?? 0)) / PAGE_SIZE);
        b.writeUInt32LE(page, 16 + i * 4);
        const body = randomBytes(PAGE_SIZE);
        body.copy(b, PACKET_HEADER + i * PAGE_SIZE);
        body.copy(this.ram, page * PAGE_SIZE);
      }
      this.packetBufs.push(b);
    }
  }

  get size(): number {
    return this.o.ram + this.disk.length + STAGING_BYTES + this.state.length;
  }

  /** Open the session (its own channels), without a word yet. */
  async open(): Promise<void> {
    if (this.session) return;
    const l = await rawLink(this.t, this.size, { ...(this.o.localAddress ? { localAddress: this.o.localAddress } : {}), channels: this.o.channels ?? 2 });
    this.link = l.link;
    this.session = l.session;
    this.errors = l.errors;
  }

  /** Open the session (unless open already) and say hello; resolves with 'accepted' or the refusal. */
  async hello(): Promise<string> {
    await this.open();
    const hello: Request = { t: 'hello', kind: 'migrate', version: PROTOCOL_VERSION, id: this.id, vm: this.vm, ramBytes: this.o.ram, diskBytes: this.disk.length, stateBytes: this.state.length, stagingBytes: STAGING_BYTES, ...(this.o.scratch ? { scratch: true } : {}) };
    return outcome(this.link.request(hello, Buffer.from(JSON.stringify({ vm: this.vm }))));
  }

  /** Memory and disk in place, then the page packets (each slot once: at most STAGING_SLOTS), then the state. */
  async send(): Promise<void> {
    const s = this.session;
    const packets = this.packetBufs;
    const base = this.o.ram + this.disk.length;
    // The memory without the packets' pages first: the packets carry their final content.
    const before = Buffer.from(this.ram);
    for (const p of packets) for (let i = 0; i < p.readUInt32LE(4); i++) before.fill(0xee, p.readUInt32LE(16 + i * 4) * PAGE_SIZE, (p.readUInt32LE(16 + i * 4) + 1) * PAGE_SIZE);
    await s.write(0, before.subarray(0, this.o.ram - (this.o.unsent ?? 0)));
    if (this.disk.length > 0) await s.write(this.o.ram, this.disk);
    await s.flush();
    for (let k = 0; k < packets.length; k++) await s.write(base + k * PACKET_BYTES, packets[k]!);
    await s.write(base + STAGING_BYTES, this.state);
    await s.flush();
  }

  /** What the destination must hold: memory with the packets applied, the state, the disk. */
  expected(): Hashes {
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    return { ram: sha(this.ram), state: sha(this.state), disk: this.disk.length > 0 ? sha(this.disk) : null };
  }

  request<R extends Request>(req: R): Promise<ReplyTo<R>> {
    return this.link.request(req);
  }

  /** Handoff and resume: the VM runs at the destination. */
  async switchOver(): Promise<void> {
    await this.request({ t: 'handoff' });
    await this.request({ t: 'resume' });
  }

  /** The destination's hashes, then done and release. */
  async finish(): Promise<Hashes> {
    await this.request({ t: 'done', id: this.id });
    const h = await this.request({ t: 'verify', id: this.id });
    await this.request({ t: 'release', id: this.id });
    return { ram: h.ram, state: h.state, disk: h.disk };
  }

  close(): void {
    this.session?.close();
  }
}

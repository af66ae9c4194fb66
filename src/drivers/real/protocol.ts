// The real engine's migration protocol: JSON messages (with an optional binary part) carried as the
// transport's signed CONTROL messages, next to the page and disk data that travel as DATA frames in one
// stream: [0, ram) is guest memory (runs of pages written in place), [ram, ram + disk) the disk image,
// a staging ring of page packets (below), then the device state sent in the blackout (as data: control
// messages are signed one by one and carried by one channel, about ten times slower per byte here).
// Requests carry `req`; the
// destination answers each with a `reply` naming it (`re`), and may send an unsolicited `error` (a
// failed storage write) at any time.
//
//   source -> destination                          destination -> source
//   hello {kind: migrate, id, vm, ram, disk, ...}  reply {prepSeconds}       (config blob attached)
//   hello {kind: probe | admin}                     reply
//   fault {kind: dest-storage-error | crash}        reply (none for crash)
//   fault {kind: crash | link-down, on: resume}     reply: armed for when the resume request arrives
//                                                   (crash: before acting on it; link-down: after
//                                                   resuming the VM, before answering)
//   handoff                                         reply | reply {ok: false, cause, message}
//   resume                                          reply {at}                (its CLOCK_MONOTONIC, ns)
//   owner {id}                                      reply {owner, at?, filesLeft}  (in doubt: which host
//                                                   runs the VM; a VM not running here is fenced off
//                                                   and deleted, and a later resume is refused)
//   done {id}                                       reply
//   verify {id, regions?}                           reply {ram, disk, state, ramRegions?, diskRegions?}
//   abort {id} | status {id} | release {id}         reply {filesLeft}
//                                                   error {cause, message}

import { MigbenchError } from '../../errors.js';
import type { Cause } from '../../migration/events.js';
import { CHUNK_SIZE } from '../../transport/defaults.js';

export const PROTOCOL_VERSION = 1;

/**
 * Page packets (as QEMU multifd packets carry their pages' addresses): pages that do not form long runs
 * are packed, up to PACKET_PAGES at a time, behind a 4 KiB header (magic, count, then one u32 page number
 * each, little-endian) and written as one chunk into a slot of the staging ring. The destination copies
 * the pages into memory when the chunk has arrived whole with a good CRC, before acknowledging it; a
 * slot is reused only after a barrier (flush), so no two copies of one slot are ever in flight.
 */
export const PACKET_MAGIC = 0x4d475050; // "MGPP"
export const PACKET_HEADER = 4096;
export const PACKET_BYTES = CHUNK_SIZE;
export const PACKET_PAGES = (PACKET_BYTES - PACKET_HEADER) / 4096;
export const STAGING_SLOTS = 32;
export const STAGING_BYTES = STAGING_SLOTS * PACKET_BYTES;
/** Runs shorter than this many pages travel in packets. */
export const MIN_DIRECT_RUN = 16;
/** Largest binary part of one control message (the transport accepts 1 MiB control payloads). */
export const MAX_PIECE = 512 * 1024;

export type HelloKind = 'migrate' | 'probe' | 'admin';

export interface Hello {
  t: 'hello';
  kind: HelloKind;
  version: number;
  /** migrate: the migration's id and the VM's name on the destination. */
  id?: string;
  vm?: string;
  ramBytes?: number;
  diskBytes?: number;
  stateBytes?: number;
  stagingBytes?: number;
  /** migrate: a measurement (calibration, bench), not a VM to keep: the destination removes its files
   *  when its source releases it after verifying. */
  scratch?: boolean;
}

export type Request =
  | Hello
  | { t: 'fault'; kind: 'dest-storage-error' | 'crash' }
  | { t: 'fault'; kind: 'crash' | 'link-down'; on: 'resume' }
  | { t: 'handoff' }
  | { t: 'resume' }
  | { t: 'owner'; id: string }
  | { t: 'done'; id?: string }
  | { t: 'verify'; id: string; regions?: boolean }
  | { t: 'abort'; id: string }
  | { t: 'status'; id: string }
  | { t: 'release'; id: string };

export interface Hashes {
  ram: string;
  disk: string | null;
  state: string;
  ramRegions?: string[];
  diskRegions?: string[];
}

/** What each request's reply carries (besides `t`, `re` and `ok`). */
export interface Replies {
  hello: { prepSeconds?: number };
  fault: Record<string, never>;
  handoff: Record<string, never>;
  /** The destination's CLOCK_MONOTONIC at the resume, nanoseconds (as a decimal string). */
  resume: { at: string };
  owner: { owner: 'source' | 'destination'; at?: string; filesLeft: number };
  /** The destination's CPU seconds over this migration (hello to done); null when others ran beside it. */
  done: { cpuSeconds?: number | null };
  verify: Hashes;
  abort: { filesLeft: number };
  status: { filesLeft: number };
  release: { filesLeft: number };
}

export type ReplyTo<R extends Request> = Replies[R['t']];

/** Any reply's body. */
export type ReplyBody = Replies[keyof Replies];

export type Reply = ({ t: 'reply'; re: number; ok: true } & Partial<Replies[keyof Replies]>) | { t: 'reply'; re: number; ok: false; cause?: Cause; message: string };

export type ToSource = Reply | { t: 'error'; cause: Cause; message: string };

export type Envelope<T> = T & { req?: number };

export function encode(msg: object, bin?: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(msg), 'utf8');
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(json.length, 0);
  return Buffer.concat(bin ? [head, json, bin] : [head, json]);
}

export function decode<T>(body: Buffer): { msg: T; bin: Buffer } {
  if (body.length < 4) throw new MigbenchError('E_PROTOCOL', 'migration message shorter than its header');
  const n = body.readUInt32BE(0);
  if (4 + n > body.length) throw new MigbenchError('E_PROTOCOL', 'migration message: JSON part past the end');
  let msg: T;
  try {
    msg = JSON.parse(body.subarray(4, 4 + n).toString('utf8')) as T;
  } catch (e) {
    throw new MigbenchError('E_PROTOCOL', `migration message: bad JSON (${(e as Error).message})`);
  }
  if (typeof msg !== 'object' || msg === null || typeof (msg as { t?: unknown }).t !== 'string') throw new MigbenchError('E_PROTOCOL', 'migration message without a type');
  return { msg, bin: body.subarray(4 + n) };
}

/** Split a blob into control-message pieces. */
export function pieces(blob: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < blob.length; at += MAX_PIECE) out.push(blob.subarray(at, Math.min(blob.length, at + MAX_PIECE)));
  return out.length > 0 ? out : [new Uint8Array(0)];
}

/** File names of a VM in the destination's directory (the marker lists what a crash must clean up). */
export function vmFiles(vm: string, disk: boolean): { config: string; disk: string | null; marker: string } {
  return { config: `${vm}.vmcx`, disk: disk ? `${vm}-disk0.img` : null, marker: `${vm}.migrating` };
}

/** A VM name the destination accepts (no path separators): the migration id is random hex. */
export const VM_NAME = /^vm-[0-9a-f]{8,32}$/;

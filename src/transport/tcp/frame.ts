// Frame codec for the migbench TCP transport; the byte layout is documented in docs/frame-format.md.
// Every frame is a 48-byte header followed by `length` payload bytes. The header carries a CRC-32C of
// itself and one of the payload, so a damaged or forged frame is rejected with a typed ProtocolError
// rather than misread.

import { crc32c } from './crc.js';
import { MigbenchError } from '../../errors.js';
import { MAX_CONTROL_PAYLOAD, MAX_DATA_PAYLOAD } from '../defaults.js';

export const MAGIC = 0x4d474254; // "MGBT"
export const VERSION = 1;
export const HEADER_SIZE = 48;
/** Largest offset/sequence we accept: JavaScript numbers are exact up to 2^53 - 1. */
export const MAX_SAFE = Number.MAX_SAFE_INTEGER;

export const FrameType = {
  CHALLENGE: 1,
  AUTH: 2,
  AUTH_OK: 3,
  ERROR: 4,
  DATA: 5,
  ACK: 6,
  CONTROL: 7,
  COMMIT: 8,
  COMMIT_RESULT: 9,
  FENCE: 10,
  FENCE_ACK: 11,
} as const;
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];
const TYPE_NAMES = new Map<number, string>(Object.entries(FrameType).map(([k, v]) => [v, k]));
export function frameTypeName(t: number): string {
  return TYPE_NAMES.get(t) ?? `unknown(${t})`;
}

export type ProtocolReason =
  | 'bad-magic'
  | 'bad-version'
  | 'bad-type'
  | 'bad-field'
  | 'header-crc'
  | 'oversized'
  | 'payload-crc'
  | 'truncated'
  | 'unknown-session'
  | 'out-of-range'
  | 'unexpected'
  | 'unauthenticated'
  | 'bad-signature';

/** The peer sent something this protocol does not allow. */
export class ProtocolError extends MigbenchError {
  readonly reason: ProtocolReason;
  constructor(reason: ProtocolReason, message: string) {
    super('E_PROTOCOL', `${reason}: ${message}`);
    this.reason = reason;
  }
}

export interface FrameHeader {
  type: FrameTypeCode;
  flags: number;
  /** 8-byte session id as 16 hex digits ("0000000000000000" before a session exists). */
  session: string;
  channel: number;
  seq: number;
  offset: number;
  length: number;
  /** CRC-32C of the payload. */
  crc: number;
}

export const NO_SESSION = '0000000000000000';

/** Write a header into `out` at `at` (48 bytes). */
export function writeHeader(out: Buffer, at: number, h: Omit<FrameHeader, 'crc'> & { crc: number }): void {
  if (!Number.isSafeInteger(h.seq) || h.seq < 0) throw new RangeError(`frame seq out of range: ${h.seq}`);
  if (!Number.isSafeInteger(h.offset) || h.offset < 0) throw new RangeError(`frame offset out of range: ${h.offset}`);
  if (!Number.isInteger(h.length) || h.length < 0 || h.length > 0xffffffff) throw new RangeError(`frame length out of range: ${h.length}`);
  if (!/^[0-9a-f]{16}$/.test(h.session)) throw new RangeError(`frame session must be 16 hex digits: ${h.session}`);
  out.writeUInt32BE(MAGIC, at);
  out[at + 4] = VERSION;
  out[at + 5] = h.type;
  out.writeUInt16BE(h.flags, at + 6);
  out.write(h.session, at + 8, 8, 'hex');
  out.writeUInt16BE(h.channel, at + 16);
  out.writeUInt16BE(0, at + 18);
  writeU64(out, at + 20, h.seq);
  writeU64(out, at + 28, h.offset);
  out.writeUInt32BE(h.length, at + 36);
  out.writeUInt32BE(h.crc >>> 0, at + 40);
  out.writeUInt32BE(crc32c(out.subarray(at, at + 44)) >>> 0, at + 44);
}

/** Encode a header for a payload (computes the payload CRC). */
export function encodeHeader(h: Omit<FrameHeader, 'crc' | 'length'>, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER_SIZE);
  writeHeader(out, 0, { ...h, length: payload.length, crc: crc32c(payload) });
  return out;
}

/** A whole frame in one buffer (for small frames; data frames are written as header + payload). */
export function encodeFrame(h: Omit<FrameHeader, 'crc' | 'length'>, payload: Uint8Array = EMPTY): Buffer {
  const out = Buffer.allocUnsafe(HEADER_SIZE + payload.length);
  out.set(payload, HEADER_SIZE);
  writeHeader(out, 0, { ...h, length: payload.length, crc: crc32c(payload) });
  return out;
}

export const EMPTY = Buffer.alloc(0);

export interface DecodeLimits {
  /** Largest DATA payload accepted. */
  maxData: number;
  /** Largest payload of any other frame type. */
  maxControl: number;
  /** Before authentication only AUTH frames are accepted; anything else is rejected as 'unauthenticated'. */
  preAuth?: boolean;
}

export const DEFAULT_LIMITS: DecodeLimits = { maxData: MAX_DATA_PAYLOAD, maxControl: MAX_CONTROL_PAYLOAD };

/** Decode and check a 48-byte header at `at`. Throws ProtocolError. */
export function decodeHeader(buf: Uint8Array, at: number, limits: DecodeLimits = DEFAULT_LIMITS): FrameHeader {
  if (buf.length - at < HEADER_SIZE) throw new ProtocolError('truncated', `header needs ${HEADER_SIZE} bytes, got ${buf.length - at}`);
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = b.readUInt32BE(at);
  if (magic !== MAGIC) throw new ProtocolError('bad-magic', `0x${magic.toString(16).padStart(8, '0')}`);
  const version = b[at + 4]!;
  if (version !== VERSION) throw new ProtocolError('bad-version', `version ${version}, this receiver speaks ${VERSION}`);
  const hcrc = b.readUInt32BE(at + 44);
  if ((crc32c(b.subarray(at, at + 44)) >>> 0) !== hcrc) throw new ProtocolError('header-crc', 'header checksum mismatch');
  const type = b[at + 5]!;
  if (!TYPE_NAMES.has(type)) throw new ProtocolError('bad-type', `frame type ${type}`);
  if (limits.preAuth && type !== FrameType.AUTH) throw new ProtocolError('unauthenticated', `${frameTypeName(type)} before authentication`);
  if (b.readUInt16BE(at + 18) !== 0) throw new ProtocolError('bad-field', 'reserved bytes are not zero');
  const seq = readU64(b, at + 20, 'seq');
  const offset = readU64(b, at + 28, 'offset');
  const length = b.readUInt32BE(at + 36);
  const max = type === FrameType.DATA ? limits.maxData : limits.maxControl;
  if (length > max) throw new ProtocolError('oversized', `${frameTypeName(type)} payload of ${length} bytes exceeds ${max}`);
  return {
    type: type as FrameTypeCode,
    flags: b.readUInt16BE(at + 6),
    session: b.toString('hex', at + 8, at + 16),
    channel: b.readUInt16BE(at + 16),
    seq,
    offset,
    length,
    crc: b.readUInt32BE(at + 40),
  };
}

/** Decode one complete frame from `buf` (exactly one frame). Throws ProtocolError. */
export function decodeFrame(buf: Uint8Array, limits: DecodeLimits = DEFAULT_LIMITS): { header: FrameHeader; payload: Buffer } {
  const header = decodeHeader(buf, 0, limits);
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < HEADER_SIZE + header.length) throw new ProtocolError('truncated', `payload needs ${header.length} bytes, got ${b.length - HEADER_SIZE}`);
  if (b.length > HEADER_SIZE + header.length) throw new ProtocolError('bad-field', `${b.length - HEADER_SIZE - header.length} bytes after the frame`);
  const payload = b.subarray(HEADER_SIZE, HEADER_SIZE + header.length);
  if ((crc32c(payload) >>> 0) !== header.crc) throw new ProtocolError('payload-crc', `payload checksum mismatch (${header.length} bytes at offset ${header.offset})`);
  return { header, payload };
}

function writeU64(b: Buffer, at: number, v: number): void {
  b.writeUInt32BE(Math.floor(v / 2 ** 32), at);
  b.writeUInt32BE(v >>> 0, at + 4);
}

function readU64(b: Buffer, at: number, field: string): number {
  const hi = b.readUInt32BE(at);
  if (hi > 0x1fffff) throw new ProtocolError('bad-field', `${field} exceeds 2^53 - 1`);
  return hi * 2 ** 32 + b.readUInt32BE(at + 4);
}

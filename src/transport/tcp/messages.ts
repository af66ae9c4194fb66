// Bodies of the small frames (ACK, COMMIT, COMMIT_RESULT, FENCE, ERROR); layouts in docs/frame-format.md.

import { ProtocolError } from './frame.js';

/** ACK flags: which kind of sequence numbers the frame acknowledges. */
export const ACK_DATA = 0;
export const ACK_CONTROL = 1;

export function encodeSeqs(seqs: readonly number[]): Buffer {
  const b = Buffer.allocUnsafe(seqs.length * 8);
  for (let i = 0; i < seqs.length; i++) {
    const v = seqs[i]!;
    b.writeUInt32BE(Math.floor(v / 2 ** 32), i * 8);
    b.writeUInt32BE(v >>> 0, i * 8 + 4);
  }
  return b;
}

export function decodeSeqs(b: Buffer): number[] {
  if (b.length % 8 !== 0) throw new ProtocolError('bad-field', `ACK payload of ${b.length} bytes is not a multiple of 8`);
  const out: number[] = new Array(b.length / 8);
  for (let i = 0; i < out.length; i++) {
    const hi = b.readUInt32BE(i * 8);
    if (hi > 0x1fffff) throw new ProtocolError('bad-field', 'ACK sequence exceeds 2^53 - 1');
    out[i] = hi * 2 ** 32 + b.readUInt32BE(i * 8 + 4);
  }
  return out;
}

export interface Commit {
  size: number;
  /** SHA-256 of the stream's bytes [0, size) as the sender knows them, or null when it did not hash. */
  sha256: Buffer | null;
}

export function encodeCommit(c: Commit): Buffer {
  const b = Buffer.alloc(8 + 1 + 32);
  b.writeUInt32BE(Math.floor(c.size / 2 ** 32), 0);
  b.writeUInt32BE(c.size >>> 0, 4);
  if (c.sha256) {
    if (c.sha256.length !== 32) throw new RangeError('sha256 must be 32 bytes');
    b[8] = 1;
    c.sha256.copy(b, 9);
  }
  return b;
}

export function decodeCommit(b: Buffer): Commit {
  if (b.length !== 41) throw new ProtocolError('bad-field', `COMMIT body is ${b.length} bytes`);
  const hi = b.readUInt32BE(0);
  if (hi > 0x1fffff) throw new ProtocolError('bad-field', 'COMMIT size exceeds 2^53 - 1');
  return { size: hi * 2 ** 32 + b.readUInt32BE(4), sha256: b[8] === 1 ? Buffer.from(b.subarray(9, 41)) : null };
}

/**
 * verified: the receiver's SHA-256 of what it holds equals the sender's. mismatch: it differs.
 * incomplete: some byte of [0, size) never arrived. unchecked: the sink keeps no data (discard) or the
 * sender sent no hash; every byte arrived with a good CRC but the SHA-256 was not compared.
 */
/** `failed`: every byte arrived but the receiver could not keep the stream (a failed fsync or rename); the reason says why. */
export type CommitStatus = 'verified' | 'mismatch' | 'incomplete' | 'unchecked' | 'failed';

/** ERROR flags. REFUSED: the handshake was refused for a reason other than the key (resources, policy). */
export const ERROR_REFUSED = 1;
/** SESSION_FAILED: the receiver abandoned the whole session (its storage failed): no failover can help. */
export const ERROR_SESSION_FAILED = 2;
const STATUS: CommitStatus[] = ['verified', 'mismatch', 'incomplete', 'unchecked', 'failed'];

export interface CommitResult {
  status: CommitStatus;
  /** The receiver's SHA-256 of [0, size), when it computed one. */
  sha256: Buffer | null;
  /** Distinct bytes of [0, size) the receiver holds. */
  covered: number;
  /** Payload bytes written (re-sent bytes count again). */
  written: number;
  reason: string;
}

export function encodeCommitResult(r: CommitResult): Buffer {
  const reason = Buffer.from(r.reason, 'utf8');
  const b = Buffer.alloc(1 + 1 + 32 + 8 + 8 + reason.length);
  b[0] = STATUS.indexOf(r.status);
  if (r.sha256) {
    b[1] = 1;
    r.sha256.copy(b, 2);
  }
  writeU64(b, 34, r.covered);
  writeU64(b, 42, r.written);
  reason.copy(b, 50);
  return b;
}

export function decodeCommitResult(b: Buffer): CommitResult {
  if (b.length < 50) throw new ProtocolError('bad-field', `COMMIT_RESULT body is ${b.length} bytes`);
  const status = STATUS[b[0]!];
  if (!status) throw new ProtocolError('bad-field', `COMMIT_RESULT status ${b[0]}`);
  return {
    status,
    sha256: b[1] === 1 ? Buffer.from(b.subarray(2, 34)) : null,
    covered: readU64(b, 34),
    written: readU64(b, 42),
    reason: b.toString('utf8', 50),
  };
}

export function encodeU16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v, 0);
  return b;
}

export function decodeU16(b: Buffer, what: string): number {
  if (b.length !== 2) throw new ProtocolError('bad-field', `${what} body is ${b.length} bytes`);
  return b.readUInt16BE(0);
}

function writeU64(b: Buffer, at: number, v: number): void {
  b.writeUInt32BE(Math.floor(v / 2 ** 32), at);
  b.writeUInt32BE(v >>> 0, at + 4);
}

function readU64(b: Buffer, at: number): number {
  return b.readUInt32BE(at) * 2 ** 32 + b.readUInt32BE(at + 4);
}

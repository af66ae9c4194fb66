// Channel authentication and binding (docs/transport.md, "Authentication"). Like SMB 3, where every
// channel of a session is bound with a signed SESSION_SETUP and signs with its own Channel.SigningKey,
// every TCP channel proves the pre-shared key with a challenge-response (HMAC-SHA-256 over a fresh
// server nonce, so a recorded answer is useless on another connection), is bound to one session, and
// derives its own channel key that signs the control frames (commit, control messages, fences).

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { InputError, MigbenchError } from '../../errors.js';
import { ProtocolError, type FrameHeader } from './frame.js';

export const KEY_ENV = 'MIGBENCH_KEY';
/** The fixed key of `--insecure` mode (loopback only): the protocol runs unchanged but proves nothing. */
export const INSECURE_KEY = Buffer.from('migbench insecure loopback-only key');
export const MIN_KEY_BYTES = 16;
export const NONCE_BYTES = 32;
export const MAC_BYTES = 32;
const LABEL_AUTH = 'migbench/1 auth';
const LABEL_SERVER = 'migbench/1 server';
const LABEL_CHANNEL = 'migbench/1 channel';
const LABEL_TLS = 'migbench/1 tls-psk';

/** Authentication failed: wrong key, bad proof, or the peer refused us. */
export class AuthError extends MigbenchError {
  constructor(message: string) {
    super('E_AUTH', message);
  }
}

/**
 * The pre-shared key: the bytes of `keyFile` (trailing whitespace removed), else the MIGBENCH_KEY value
 * of `env` (the CLI passes the process environment). Never a command-line value. Returns undefined when
 * neither is given.
 */
export function loadKey(opts: { keyFile?: string; env?: Readonly<Record<string, string | undefined>> }): Buffer | undefined {
  let key: Buffer;
  let source: string;
  if (opts.keyFile !== undefined) {
    source = '--key-file';
    key = readKeyFile(opts.keyFile);
    let end = key.length;
    while (end > 0 && (key[end - 1] === 0x0a || key[end - 1] === 0x0d || key[end - 1] === 0x20 || key[end - 1] === 0x09)) end--;
    key = key.subarray(0, end);
  } else {
    const v = opts.env?.[KEY_ENV];
    if (v === undefined || v === '') return undefined;
    source = KEY_ENV;
    key = Buffer.from(v.trim(), 'utf8');
  }
  if (key.length < MIN_KEY_BYTES) {
    throw new InputError({ source, expected: `a key of at least ${MIN_KEY_BYTES} bytes (e.g. \`openssl rand -hex 32\`)`, detail: `got ${key.length} bytes` });
  }
  return key;
}

/** Largest key file read (a key is 16 bytes or more; an hex-encoded 256-bit key is 64). */
export const MAX_KEY_FILE_BYTES = 4096;

/**
 * A key file's bytes: a regular file of at most MAX_KEY_FILE_BYTES, opened without blocking (a FIFO or a
 * device such as /dev/zero is refused at once instead of blocking or being read without end).
 */
function readKeyFile(path: string): Buffer {
  const source = '--key-file';
  const expected = `a readable regular file of at most ${MAX_KEY_FILE_BYTES} bytes holding the pre-shared key`;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    throw new InputError({ source, expected, got: path, detail: (e as Error).message });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new InputError({ source, expected, got: path, detail: 'not a regular file' });
    if (st.size > MAX_KEY_FILE_BYTES) throw new InputError({ source, expected, got: path, detail: `${st.size} bytes` });
    const buf = Buffer.alloc(MAX_KEY_FILE_BYTES + 1);
    let n = 0;
    for (let r = 1; r > 0 && n < buf.length; n += r) r = readSync(fd, buf, n, buf.length - n, null);
    if (n > MAX_KEY_FILE_BYTES) throw new InputError({ source, expected, got: path, detail: 'it grew while read' });
    return buf.subarray(0, n);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError({ source, expected, got: path, detail: (e as Error).message });
  } finally {
    closeSync(fd);
  }
}

export type AuthMode = 'new' | 'bind';

export interface AuthRequest {
  clientNonce: Buffer;
  mode: AuthMode;
  channel: number;
  /** Size of the stream the session will carry (new sessions). */
  declaredSize: number;
  /** Session to bind to (bind), 16 hex digits. */
  session: string;
  mac: Buffer;
}

const AUTH_LEN = NONCE_BYTES + 1 + 1 + 2 + 8 + 8 + MAC_BYTES;

function authMac(key: Buffer, serverNonce: Buffer, r: Omit<AuthRequest, 'mac'>): Buffer {
  return createHmac('sha256', key).update(LABEL_AUTH).update(serverNonce).update(encodeAuthBody(r)).digest();
}

function encodeAuthBody(r: Omit<AuthRequest, 'mac'>): Buffer {
  const b = Buffer.alloc(AUTH_LEN - MAC_BYTES);
  r.clientNonce.copy(b, 0);
  b[32] = r.mode === 'new' ? 1 : 2;
  b.writeUInt16BE(r.channel, 34);
  b.writeUInt32BE(Math.floor(r.declaredSize / 2 ** 32), 36);
  b.writeUInt32BE(r.declaredSize >>> 0, 40);
  b.write(r.session, 44, 8, 'hex');
  return b;
}

/** The client's answer to a challenge. */
export function makeAuthRequest(key: Buffer, serverNonce: Buffer, r: Omit<AuthRequest, 'mac' | 'clientNonce'>): { payload: Buffer; clientNonce: Buffer } {
  const clientNonce = randomBytes(NONCE_BYTES);
  const full = { ...r, clientNonce };
  return { payload: Buffer.concat([encodeAuthBody(full), authMac(key, serverNonce, full)]), clientNonce };
}

export function parseAuthRequest(payload: Buffer): AuthRequest {
  if (payload.length !== AUTH_LEN) throw new ProtocolError('bad-field', `AUTH payload is ${payload.length} bytes, expected ${AUTH_LEN}`);
  const mode = payload[32];
  if (mode !== 1 && mode !== 2) throw new ProtocolError('bad-field', `AUTH mode ${mode}`);
  const hi = payload.readUInt32BE(36);
  if (hi > 0x1fffff) throw new ProtocolError('bad-field', 'declared size exceeds 2^53 - 1');
  return {
    clientNonce: Buffer.from(payload.subarray(0, 32)),
    mode: mode === 1 ? 'new' : 'bind',
    channel: payload.readUInt16BE(34),
    declaredSize: hi * 2 ** 32 + payload.readUInt32BE(40),
    session: payload.toString('hex', 44, 52),
    mac: Buffer.from(payload.subarray(52)),
  };
}

/** Constant-time check of the client's proof for this connection's challenge. */
export function verifyAuthRequest(key: Buffer, serverNonce: Buffer, r: AuthRequest): boolean {
  const want = authMac(key, serverNonce, r);
  return r.mac.length === want.length && timingSafeEqual(r.mac, want);
}

export function serverProof(key: Buffer, serverNonce: Buffer, clientNonce: Buffer, session: string, channel: number): Buffer {
  return createHmac('sha256', key).update(LABEL_SERVER).update(serverNonce).update(clientNonce).update(session).update(String(channel)).digest();
}

/** Each bound channel's own key (as SMB 3 derives Channel.SigningKey). */
export function channelKey(key: Buffer, serverNonce: Buffer, clientNonce: Buffer, session: string, channel: number): Buffer {
  return createHmac('sha256', key).update(LABEL_CHANNEL).update(serverNonce).update(clientNonce).update(session).update(String(channel)).digest();
}

/** TLS-PSK secret derived from the pre-shared key (the raw key itself never goes to TLS). */
export function tlsPsk(key: Buffer): Buffer {
  return createHmac('sha256', key).update(LABEL_TLS).digest();
}

export interface AuthOk {
  session: string;
  channel: number;
  maxData: number;
  window: number;
  proof: Buffer;
}

export function encodeAuthOk(a: AuthOk): Buffer {
  const b = Buffer.alloc(8 + 2 + 4 + 4 + MAC_BYTES);
  b.write(a.session, 0, 8, 'hex');
  b.writeUInt16BE(a.channel, 8);
  b.writeUInt32BE(a.maxData, 10);
  b.writeUInt32BE(Math.min(a.window, 0xffffffff), 14);
  a.proof.copy(b, 18);
  return b;
}

export function parseAuthOk(payload: Buffer): AuthOk {
  if (payload.length !== 18 + MAC_BYTES) throw new ProtocolError('bad-field', `AUTH_OK payload is ${payload.length} bytes`);
  return {
    session: payload.toString('hex', 0, 8),
    channel: payload.readUInt16BE(8),
    maxData: payload.readUInt32BE(10),
    window: payload.readUInt32BE(14),
    proof: Buffer.from(payload.subarray(18)),
  };
}

function frameMac(key: Buffer, h: Pick<FrameHeader, 'type' | 'session' | 'channel' | 'seq' | 'offset'>, body: Buffer): Buffer {
  const meta = Buffer.alloc(1 + 8 + 2 + 8 + 8);
  meta[0] = h.type;
  meta.write(h.session, 1, 8, 'hex');
  meta.writeUInt16BE(h.channel, 9);
  meta.writeDoubleBE(h.seq, 11);
  meta.writeDoubleBE(h.offset, 19);
  return createHmac('sha256', key).update(meta).update(body).digest();
}

/** Payload of a signed frame: body followed by its HMAC under the channel key. */
export function signBody(key: Buffer, h: Pick<FrameHeader, 'type' | 'session' | 'channel' | 'seq' | 'offset'>, body: Buffer): Buffer {
  return Buffer.concat([body, frameMac(key, h, body)]);
}

/** Check and strip the signature of a signed frame's payload. */
export function openSigned(key: Buffer, h: FrameHeader, payload: Buffer): Buffer {
  if (payload.length < MAC_BYTES) throw new ProtocolError('bad-signature', 'signed frame too short');
  const body = payload.subarray(0, payload.length - MAC_BYTES);
  const mac = payload.subarray(payload.length - MAC_BYTES);
  if (!timingSafeEqual(mac, frameMac(key, h, body))) throw new ProtocolError('bad-signature', `bad signature on frame type ${h.type}`);
  return body;
}

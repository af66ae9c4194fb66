// Incremental frame decoder for a byte stream that arrives in arbitrary pieces (a socket's reads).
// Data payloads are handed out piece by piece as views into the caller's (reused) read buffer, so the
// receiver can copy them straight to their destination; their CRC-32C is computed on the way and checked
// before `dataEnd`. Other frames are collected (bounded by `maxControl`) and handed out whole.

import { crc32c } from './crc.js';
import { decodeHeader, DEFAULT_LIMITS, FrameType, HEADER_SIZE, ProtocolError, type DecodeLimits, type FrameHeader } from './frame.js';

export interface FrameHandler {
  /** A DATA header was decoded (throw a ProtocolError to refuse it). */
  dataStart(h: FrameHeader): void;
  /** Bytes [at, at + piece.length) of the payload. `piece` is only valid during the call. */
  dataPiece(h: FrameHeader, piece: Buffer, at: number): void;
  /** The payload is complete and its CRC matched. */
  dataEnd(h: FrameHeader): void;
  /** A complete non-DATA frame whose CRC matched; `payload` is owned by the handler. */
  frame(h: FrameHeader, payload: Buffer): void;
}

export class FrameReader {
  private readonly hdr = Buffer.allocUnsafe(HEADER_SIZE);
  private hdrFill = 0;
  private cur: FrameHeader | undefined;
  private got = 0;
  private crc = 0;
  private body: Buffer | undefined;
  private dead: ProtocolError | undefined;
  /** Frames completely decoded so far. */
  frames = 0;

  constructor(
    private readonly handler: FrameHandler,
    readonly limits: DecodeLimits = { ...DEFAULT_LIMITS },
  ) {}

  /** Feed bytes. Throws ProtocolError on a malformed frame; the reader then refuses further input. */
  push(chunk: Buffer): void {
    if (this.dead) throw this.dead;
    try {
      this.consume(chunk);
    } catch (e) {
      if (e instanceof ProtocolError) this.dead = e;
      throw e;
    }
  }

  /** True when the reader sits between frames (no partial frame buffered). */
  get atBoundary(): boolean {
    return this.cur === undefined && this.hdrFill === 0;
  }

  private consume(chunk: Buffer): void {
    let pos = 0;
    const n = chunk.length;
    while (pos < n) {
      if (this.cur === undefined) {
        if (this.hdrFill === 0 && n - pos >= HEADER_SIZE) {
          this.begin(decodeHeader(chunk, pos, this.limits));
          pos += HEADER_SIZE;
        } else {
          const take = Math.min(HEADER_SIZE - this.hdrFill, n - pos);
          chunk.copy(this.hdr, this.hdrFill, pos, pos + take);
          this.hdrFill += take;
          pos += take;
          if (this.hdrFill < HEADER_SIZE) return;
          this.hdrFill = 0;
          this.begin(decodeHeader(this.hdr, 0, this.limits));
        }
        if (this.cur!.length === 0) this.finish();
        continue;
      }
      const h = this.cur;
      const take = Math.min(h.length - this.got, n - pos);
      const piece = chunk.subarray(pos, pos + take);
      this.crc = crc32c(piece, this.crc);
      if (this.body) piece.copy(this.body, this.got);
      else this.handler.dataPiece(h, piece, this.got);
      this.got += take;
      pos += take;
      if (this.got === h.length) this.finish();
    }
  }

  private begin(h: FrameHeader): void {
    this.cur = h;
    this.got = 0;
    this.crc = 0;
    if (h.type === FrameType.DATA) {
      this.body = undefined;
      this.handler.dataStart(h);
    } else {
      this.body = Buffer.allocUnsafe(h.length);
    }
  }

  private finish(): void {
    const h = this.cur!;
    const body = this.body;
    this.cur = undefined;
    this.body = undefined;
    if (this.crc >>> 0 !== h.crc) {
      throw new ProtocolError('payload-crc', `${h.type === FrameType.DATA ? 'DATA' : 'frame'} payload checksum mismatch (${h.length} bytes at offset ${h.offset}, channel ${h.channel})`);
    }
    this.frames++;
    if (body) this.handler.frame(h, body);
    else this.handler.dataEnd(h);
  }
}

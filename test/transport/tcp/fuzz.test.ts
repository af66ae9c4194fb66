// Issue 15: the adversarial pass as a permanent suite. Fuzzing, with a fixed seed: the streaming frame
// reader (mutated frame streams in random pieces), an authenticated receiver channel (frames of every type,
// correctly signed or not, mutated), and the migration destination's control protocol (requests with
// random fields, and bytes that are not requests). The properties: only typed protocol errors, nothing
// crashes, and a correct client is still served afterwards.
// CI runs a short fixed-seed pass; the nightly sets MIGBENCH_FUZZ_RUNS (e.g. 5000) for a long one, and
// MIGBENCH_FUZZ_SEED to explore other seeds (a failure prints the seed and path to replay it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import net from 'node:net';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MigrationEndpoint } from '../../../src/drivers/real/endpoint.js';
import { DestinationLink } from '../../../src/drivers/real/link.js';
import { encode, PROTOCOL_VERSION } from '../../../src/drivers/real/protocol.js';
import { channelKey, makeAuthRequest, signBody } from '../../../src/transport/tcp/auth.js';
import { FrameReader } from '../../../src/transport/tcp/frame-reader.js';
import { encodeFrame, FrameType, NO_SESSION, ProtocolError, type FrameHeader } from '../../../src/transport/tcp/frame.js';
import { encodeCommit, encodeSeqs, encodeU16 } from '../../../src/transport/tcp/messages.js';
import { SenderSession } from '../../../src/transport/tcp/sender.js';
import { KEY, randomData, sha256, startReceiver, waitFor, type TestReceiver } from './helpers.js';

const RUNS = Number(process.env['MIGBENCH_FUZZ_RUNS'] ?? 0) || undefined;
const SEED = Number(process.env['MIGBENCH_FUZZ_SEED'] ?? 15);
const runs = (ci: number) => ({ seed: SEED, numRuns: RUNS ?? ci });
const TYPES = Object.values(FrameType) as number[];

const headerArb = fc.record({
  type: fc.oneof(fc.constantFrom(...TYPES), fc.integer({ min: 0, max: 255 })),
  flags: fc.integer({ min: 0, max: 0xffff }),
  session: fc.uint8Array({ minLength: 8, maxLength: 8 }).map((u) => Buffer.from(u).toString('hex')),
  channel: fc.integer({ min: 0, max: 0xffff }),
  seq: fc.maxSafeNat(),
  offset: fc.maxSafeNat(),
});
/** Byte edits: [position (scaled to the stream), kind, value]. */
const editsArb = fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom('flip', 'cut', 'insert', 'set'), fc.integer({ min: 0, max: 255 })), { maxLength: 4 });

function mutate(b: Buffer, edits: [number, string, number][]): Buffer {
  let out = Buffer.from(b);
  for (const [where, kind, v] of edits) {
    const at = Math.min(out.length, Math.floor(where * out.length));
    if (kind === 'flip' && at < out.length) out[at]! ^= 1 << (v & 7);
    else if (kind === 'set' && at < out.length) out[at] = v;
    else if (kind === 'cut') out = out.subarray(0, at);
    else if (kind === 'insert') out = Buffer.concat([out.subarray(0, at), Buffer.from([v]), out.subarray(at)]);
  }
  return out;
}

describe('fuzz: the streaming frame reader', () => {
  it('takes mutated frame streams in random pieces: typed errors only, limits held, clean streams decoded exactly', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(headerArb, fc.uint8Array({ maxLength: 3000 })), { minLength: 1, maxLength: 6 }), editsArb, fc.array(fc.nat(), { maxLength: 10 }), fc.boolean(), (frames, edits, cuts, preAuth) => {
        const limits = { maxData: 2048, maxControl: 1024, preAuth };
        const clean = Buffer.concat(frames.map(([h, p]) => encodeFrame(h as Omit<FrameHeader, 'crc' | 'length'>, p)));
        const stream = mutate(clean, edits);
        const got: { type: number; bytes: number }[] = [];
        let dataBytes = 0;
        const reader = new FrameReader(
          {
            dataStart: (h) => {
              expect(h.length).toBeLessThanOrEqual(limits.maxData);
              dataBytes = 0;
            },
            dataPiece: (_h, piece) => void (dataBytes += piece.length),
            dataEnd: (h) => got.push({ type: h.type, bytes: dataBytes }),
            frame: (h, payload) => {
              expect(payload.length).toBeLessThanOrEqual(limits.maxControl);
              got.push({ type: h.type, bytes: payload.length });
            },
          },
          limits,
        );
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        let error: unknown;
        try {
          let from = 0;
          for (const p of [...points, stream.length]) {
            reader.push(stream.subarray(from, p));
            from = p;
          }
        } catch (e) {
          error = e;
        }
        if (error !== undefined) expect(error).toBeInstanceOf(ProtocolError);
        if (edits.length === 0 && error === undefined) {
          // A clean stream that the limits allow decodes frame for frame.
          expect(got).toEqual(frames.map(([h, p]) => ({ type: h.type, bytes: p.length })));
        }
      }),
      runs(300),
    );
  });
});

/** A hand-driven authenticated channel that can sign its frames like a real sender. */
async function channel(ep: { host: string; port: number }, size: number): Promise<{ sock: net.Socket; session: string; key: Buffer; closed: () => boolean }> {
  const sock = net.connect(ep.port, ep.host);
  sock.on('error', () => undefined);
  let closed = false;
  sock.on('close', () => (closed = true));
  const frames: { h: FrameHeader; payload: Buffer }[] = [];
  const reader = new FrameReader({ dataStart: () => undefined, dataPiece: () => undefined, dataEnd: () => undefined, frame: (h, payload) => frames.push({ h, payload }) });
  sock.on('data', (b) => {
    try {
      reader.push(b);
    } catch {
      sock.destroy();
    }
  });
  await waitFor(() => frames.length > 0 || closed, 5000, 'the challenge');
  const nonce = frames.shift()!.payload;
  const req = makeAuthRequest(KEY, nonce, { mode: 'new', channel: 0, declaredSize: size, session: NO_SESSION });
  sock.write(encodeFrame({ type: FrameType.AUTH, flags: 0, session: NO_SESSION, channel: 0, seq: 0, offset: 0 }, req.payload));
  await waitFor(() => frames.some((f) => f.h.type === FrameType.AUTH_OK) || closed, 5000, 'AUTH_OK');
  const session = frames.find((f) => f.h.type === FrameType.AUTH_OK)!.payload.toString('hex', 0, 8);
  return { sock, session, key: channelKey(KEY, nonce, req.clientNonce, session, 0), closed: () => closed };
}

describe('fuzz: an authenticated receiver channel', () => {
  let rx: TestReceiver;
  beforeAll(async () => {
    rx = await startReceiver({ limits: { maxData: 65536, maxControl: 4096 }, maxConnections: 64 });
  });
  afterAll(async () => rx.stop());

  it('frames of every type, signed or not, mutated: only that channel is closed, and a correct sender is served after', async () => {
    const SIZE = 1 << 20;
    const bodyArb = fc.oneof(
      fc.record({ kind: fc.constant('data'), offset: fc.nat({ max: SIZE + 10 }), len: fc.nat({ max: 70_000 }) }),
      fc.record({ kind: fc.constant('signed'), type: fc.constantFrom(FrameType.CONTROL, FrameType.COMMIT, FrameType.FENCE), seq: fc.nat({ max: 5 }), size: fc.nat({ max: SIZE + 1 }), fenced: fc.nat({ max: 40 }), good: fc.boolean() }),
      fc.record({ kind: fc.constant('ack'), flags: fc.nat({ max: 3 }), seqs: fc.array(fc.maxSafeNat(), { maxLength: 4 }) }),
      fc.record({ kind: fc.constant('raw'), h: headerArb, payload: fc.uint8Array({ maxLength: 200 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(bodyArb, editsArb), { minLength: 1, maxLength: 6 }), async (script) => {
        const c = await channel(rx.ep, SIZE);
        const base = { session: c.session, channel: 0, offset: 0 };
        for (const [b, edits] of script) {
          let frame: Buffer;
          if (b.kind === 'data') frame = encodeFrame({ ...base, type: FrameType.DATA, flags: 0, seq: 1, offset: b.offset }, Buffer.alloc(b.len, 7));
          else if (b.kind === 'ack') frame = encodeFrame({ ...base, type: FrameType.ACK, flags: b.flags, seq: 0 }, encodeSeqs(b.seqs));
          else if (b.kind === 'raw') frame = encodeFrame(b.h as Omit<FrameHeader, 'crc' | 'length'>, b.payload);
          else {
            const body = b.type === FrameType.COMMIT ? encodeCommit({ size: b.size, sha256: null }) : b.type === FrameType.FENCE ? encodeU16(b.fenced) : encode({ t: 'x' });
            const meta = { ...base, type: b.type, seq: b.seq };
            frame = encodeFrame({ ...meta, flags: 0 }, signBody(b.good ? c.key : KEY, meta, body));
          }
          if (c.closed()) break;
          c.sock.write(mutate(frame, edits));
        }
        c.sock.destroy();
      }),
      runs(40),
    );
    await waitFor(() => rx.r.connectionCount === 0, 10_000, 'every fuzzed channel to close');
    const data = randomData(200_000);
    const s = await SenderSession.open({ targets: [rx.ep], channelsPerTarget: 2, key: KEY, size: data.length, chunkSize: 32_768 });
    await s.write(0, data);
    expect((await s.commit(sha256(data))).status).toBe('verified');
    s.close();
  }, 120_000);
});

describe('fuzz: the migration control protocol', () => {
  let dir: string;
  let ep: MigrationEndpoint;
  let session: SenderSession;
  let link: DestinationLink;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'migbench-fuzz-'));
    ep = new MigrationEndpoint({ listen: [{ host: '127.0.0.1', port: 0 }], key: KEY, dir, maxMemory: 64 << 20 });
    const [addr] = await ep.start();
    session = await SenderSession.open({ targets: [addr!], key: KEY, size: 1 });
    link = new DestinationLink(session, 10);
    link.errors(() => undefined);
  });
  afterAll(async () => {
    session.close();
    await ep.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('requests with random fields, and bytes that are no request: every request is answered, nothing crashes or is created', async () => {
    const value = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(2 ** 60), fc.constant(-1), fc.constant('../../etc'));
    const reqArb = fc.record(
      {
        t: fc.oneof(fc.constantFrom('hello', 'fault', 'handoff', 'resume', 'done', 'verify', 'abort', 'status', 'release'), fc.string({ maxLength: 8 })),
        kind: fc.oneof(fc.constantFrom('migrate', 'probe', 'admin', 'crash', 'dest-storage-error'), value),
        version: fc.oneof(fc.constant(PROTOCOL_VERSION), value),
        id: value,
        vm: value,
        ramBytes: value,
        diskBytes: value,
        stateBytes: value,
        stagingBytes: value,
        regions: value,
      },
      { requiredKeys: ['t'] },
    );
    await fc.assert(
      fc.asyncProperty(reqArb, fc.uint8Array({ maxLength: 64 }), async (req, junk) => {
        await session.sendControl(junk); // not a request: logged and ignored
        // Every request gets an answer (accepted or refused), never a hang.
        await link.request(req as never, Buffer.from(junk)).catch((e: Error) => expect(e.message).toMatch(/^the destination refused: /));
      }),
      runs(60),
    );
    expect((await link.request({ t: 'status', id: 'ffffffff' }))['filesLeft']).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
  }, 120_000);
});

// The source's side of the migration protocol (protocol.ts) over one transport session: requests with
// replies matched by number and bounded by a timeout, and the destination's unsolicited errors.

import { MigbenchError } from '../../errors.js';
import type { Cause } from '../../migration/events.js';
import type { SenderSession } from '../../transport/tcp/sender.js';
import { decode, encode, type Envelope, type ReplyTo, type Request, type ToSource } from './protocol.js';

/** The destination refused a request (its message says why), or did not answer in time. */
export class DestinationError extends MigbenchError {
  constructor(
    message: string,
    readonly failure: Cause | undefined,
    readonly timedOut = false,
    /** The destination answered, with a refusal: asking again, over any session, gets the same answer. */
    readonly answered = false,
  ) {
    super('E_MIGRATION', message);
  }
}

export class DestinationLink {
  private n = 0;
  private readonly pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private onError: (cause: Cause, message: string) => void = () => undefined;

  constructor(
    readonly session: SenderSession,
    /** Seconds a request may wait for its reply. */
    private readonly timeout: number,
  ) {
    session.on('control', (body: Buffer) => {
      let msg: ToSource;
      try {
        msg = decode<ToSource>(body).msg;
      } catch {
        return;
      }
      if (msg.t === 'error') return this.onError(msg.cause, msg.message);
      const p = this.pending.get(msg.re);
      if (!p) return;
      this.pending.delete(msg.re);
      clearTimeout(p.timer);
      if (msg.ok) p.resolve(msg);
      else p.reject(new DestinationError(`the destination refused: ${msg.message}`, msg.cause, false, true));
    });
  }

  /** Unsolicited errors from the destination (a failed storage write). */
  errors(l: (cause: Cause, message: string) => void): void {
    this.onError = l;
  }

  /** Send a request; resolves with its reply. `sent` runs once the request has left (handed to a socket). */
  request<R extends Request>(msg: R, bin?: Uint8Array, timeout = this.timeout, sent?: () => void): Promise<ReplyTo<R>> {
    const req = ++this.n;
    return new Promise<ReplyTo<R>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(req);
        reject(new DestinationError(`no answer to '${msg.t}' from the destination within ${timeout} s`, undefined, true));
      }, timeout * 1000);
      this.pending.set(req, { resolve: resolve as (r: unknown) => void, reject, timer });
      this.session.sendControl(encode({ ...msg, req } satisfies Envelope<Request>, bin)).then(
        () => sent?.(),
        (e: Error) => {
          if (!this.pending.delete(req)) return;
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  /** Send without waiting for anything (a crash request gets no answer). */
  tell(msg: Request): void {
    this.session.sendControl(encode({ ...msg, req: ++this.n })).catch(() => undefined);
  }

  /** Reject every request still waiting (the session is gone). */
  close(why: Error): void {
    for (const [req, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(req);
      p.reject(why);
    }
  }
}

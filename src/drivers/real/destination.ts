// The source's side of the destination in a real migration: the destination process (a local one it
// started, or a `migrate-receiver` elsewhere), the migration's session and its control link, and every
// request the core's actions make of it: create the VM, hand off, resume, say who runs the VM when the
// resume's answer was lost, confirm the end, delete a rolled-back VM. It also carries out injected faults
// on the path and the destination (sockets closed, the process killed or stopped).

import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Cause } from '../../migration/events.js';
import type { FaultKind, Phase } from '../../migration/faults.js';
import { MigbenchError, StateError } from '../../errors.js';
import { formatEndpoint } from '../../transport/tcp/address.js';
import { SenderSession, type SenderOptions } from '../../transport/tcp/sender.js';
import { configBlob, type RealContext } from './context.js';
import { DestinationError, DestinationLink } from './link.js';
import { LocalReceiver } from './local-receiver.js';
import { PROTOCOL_VERSION, STAGING_BYTES, type ReplyTo, type Request } from './protocol.js';

/** How long a rollback waits for a setup in flight to settle before cleaning up without it. */
const SETUP_SETTLE_MS = 10_000;

export class DestinationControl {
  receiver: LocalReceiver | null = null;
  key!: Buffer;
  session: SenderSession | null = null;
  link: DestinationLink | null = null;
  /** The injected fault that cut the path or the destination (to name the cause of a lost session). */
  injected: FaultKind | null = null;
  /** Faults that struck before the channels were up: they strike as the channels come up. */
  private readonly deferred: FaultKind[] = [];
  /** An injected auth-failure: the channels present a wrong key. */
  private wrongKey = false;
  /** The setup in flight: a rollback must know what it left at the destination, so it waits for it. */
  private setupInFlight: Promise<unknown> | null = null;
  /** The resume request: when it left (migration time, and this host's monotonic clock). */
  private resumeAsked: { at: number; hr: bigint } | null = null;
  /** Files of the migration the destination reported after a rollback (null: it could not say). */
  filesLeft: number | null = null;
  /** The configuration blob's size as sent. */
  configSent = 0;
  /** The local destination was started again after a crash. */
  private restarted = false;

  constructor(private readonly ctx: RealContext) {}

  /** The destination, untimed: a local receiver started on loopback, or the key for `--to`. */
  async prepare(workDir: string): Promise<void> {
    const { ctx } = this;
    const o = ctx.o;
    if (o.to) {
      if (!o.key) throw new MigbenchError('E_INPUT', '--key-file: a pre-shared key is needed for --to (or MIGBENCH_KEY)');
      this.key = o.key;
    } else {
      const dir = o.destDir ?? join(workDir, 'destination');
      mkdirSync(dir, { recursive: true });
      const reserve = o.destReserve ?? true;
      ctx.measured.dest_memory_reserved = reserve;
      this.receiver = await LocalReceiver.spawn(dir, undefined, reserve ? ctx.ramBytes : 0, ctx.s.faults.length > 0);
      this.key = this.receiver.key;
      this.receiver.onExit((e) => ctx.fail('dest_crash', `the destination process died (${e.signal ?? `exit ${e.code}`})`));
    }
    ctx.measured.targets = this.targets().map((t) => formatEndpoint(t));
  }

  targets(): { host: string; port: number; localAddress?: string }[] {
    const o = this.ctx.o;
    const to = o.to ?? [this.receiver!.endpoint];
    const bind = o.bind ?? [];
    return to.map((t, i) => ({ ...t, ...(bind.length > 0 ? { localAddress: bind.length === 1 ? bind[0]! : bind[i]! } : {}) }));
  }

  sessionOptions(size: number, key = this.key, channels = this.ctx.channels): SenderOptions {
    const { ctx } = this;
    const targets = this.targets();
    return {
      targets,
      channelsPerTarget: channels / targets.length,
      key,
      size,
      chunkSize: ctx.chunkSize,
      window: ctx.window,
      channelTimeout: ctx.s.timing.transferTimeout,
      connectTimeout: Math.min(30, ctx.s.timing.transferTimeout),
      ...(ctx.o.rate !== undefined ? { rate: ctx.o.rate / channels } : {}),
    };
  }

  /** The cause of a lost session, from what was injected and what the local receiver did. */
  classify(): Cause {
    if (this.injected === 'link-down') return 'link_down';
    if (this.injected === 'dest-crash' || this.receiver?.exited) return 'dest_crash';
    if (this.injected === 'stall') return 'stall_timeout';
    return 'all_channels_lost';
  }

  /** The session is up and has a live channel. */
  private get alive(): boolean {
    const s = this.session;
    return s !== null && s.failure === undefined && s.channels.some((c) => c.alive) && !this.receiver?.exited;
  }

  // -- the core's requests ------------------------------------------------------------------------------

  /** Open the migration's session (authenticating every channel) and have the destination create the VM. */
  setup(streamBytes: number, beforeConfig: () => void): Promise<void> {
    const p = this.openAndCreate(streamBytes, beforeConfig);
    this.setupInFlight = p;
    return p;
  }

  private async openAndCreate(streamBytes: number, beforeConfig: () => void): Promise<void> {
    const { ctx } = this;
    const key = this.wrongKey ? Buffer.from(randomBytes(32).toString('hex')) : this.key;
    let s: SenderSession;
    try {
      s = await SenderSession.open(this.sessionOptions(streamBytes, key));
    } catch (e) {
      const err = e as MigbenchError;
      throw new CauseError(err.code === 'E_AUTH' ? 'auth_failure' : this.classify(), err.message);
    }
    this.session = s;
    s.on('failed', (e: Error) => ctx.fail(this.classify(), e.message));
    s.on('channel-failed', (e: { channel: number; reason: string }) => {
      ctx.measured.channels_failed.push(`channel ${e.channel}: ${e.reason}`);
      ctx.log(`channel ${e.channel} failed (${e.reason}); its chunks go to the other channels`);
    });
    this.link = new DestinationLink(s, ctx.s.timing.transferTimeout);
    this.link.errors((cause, message) => ctx.fail(cause, message));
    for (const kind of this.deferred.splice(0)) this.impair(kind, 'config');
    beforeConfig();
    const config = configBlob(ctx.s.timing.configBytes, ctx.vm);
    const s0 = ctx.s;
    const r = await this.link.request(
      { t: 'hello', kind: 'migrate', version: PROTOCOL_VERSION, id: ctx.id, vm: ctx.vm, ramBytes: ctx.ramBytes, diskBytes: this.diskBytes, stateBytes: s0.timing.stateBytes, stagingBytes: STAGING_BYTES, ...(ctx.o.scratch ? { scratch: true } : {}) },
      config,
      Math.max(s0.timing.transferTimeout, 60),
    );
    this.configSent = config.length;
    ctx.measured.dest_prepare_s = r.prepSeconds ?? null;
  }

  /** Bytes of the disk image in the stream (set by the driver for a storage move). */
  diskBytes = 0;

  async handoff(): Promise<void> {
    await this.link!.request({ t: 'handoff' });
  }

  /**
   * Ask the destination to run the VM; `sent` runs once the request has reached it. Resolves with the
   * instant the VM runs there, in migration time (the answer's arrival when the clocks differ).
   */
  async resume(sent: () => void): Promise<number> {
    const asked = { at: this.ctx.now(), hr: process.hrtime.bigint() };
    this.resumeAsked = asked;
    const r = await this.link!.request({ t: 'resume' }, undefined, undefined, sent);
    const now = this.ctx.now();
    if (this.receiver) this.ctx.measured.dest_resume_s = Number(BigInt(r.at) - asked.hr) / 1e9;
    return now;
  }

  /**
   * In doubt (the resume's answer was lost): which host runs the VM, in the destination's word, over the
   * session if it still lives, else anew (after a crashed destination came back). The destination fences
   * off a VM it does not run. Resolves with the owner and since when it runs the VM (local destination:
   * its clock converted; remote: the answer's arrival), or null owner when no word came.
   */
  async owner(timeout: number): Promise<{ owner: 'source' | 'destination' | null; resumedAt: number | null }> {
    const { ctx } = this;
    try {
      const r = await this.ask({ t: 'owner', id: ctx.id }, timeout);
      if (r.owner === 'source') return { owner: 'source', resumedAt: null };
      const asked = this.resumeAsked;
      const since = this.receiver && asked && r.at !== undefined ? asked.at + Number(BigInt(r.at) - asked.hr) / 1e9 : ctx.now();
      return { owner: 'destination', resumedAt: since };
    } catch (e) {
      ctx.measured.notes.push(`in doubt: no word from the destination: ${(e as Error).message}`);
      return { owner: null, resumedAt: null };
    }
  }

  /**
   * Tell the destination the migration is over, over the migration's session (a lost session leaves the
   * clean-up pending), or, after the in-doubt question was answered over a fresh session, the same way.
   */
  async done(fresh: boolean): Promise<void> {
    const r = fresh ? await this.ask({ t: 'done', id: this.ctx.id }) : await this.link!.request({ t: 'done', id: this.ctx.id });
    this.ctx.measured.dest_cpu_s = typeof r.cpuSeconds === 'number' && Number.isFinite(r.cpuSeconds) && r.cpuSeconds >= 0 ? r.cpuSeconds : null;
  }

  /** Have the destination delete the migration's VM and files, over the session or a new one. */
  async clean(): Promise<void> {
    const { ctx } = this;
    // A failure (a cancel, say) can strike while the setup is still opening the session or creating the
    // VM: let it settle first (bounded), so that the abort below reaches what it created.
    if (this.setupInFlight) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.setupInFlight.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, SETUP_SETTLE_MS)))]);
      clearTimeout(timer);
    }
    let reply: ReplyTo<{ t: 'abort'; id: string }> | null = null;
    try {
      if (this.alive && this.link) reply = await this.link.request({ t: 'abort', id: ctx.id });
    } catch (e) {
      ctx.log(`abort over the migration session failed: ${(e as Error).message}`);
    }
    this.link?.close(new StateError('rolled back'));
    this.session?.close();
    if (reply === null) {
      try {
        reply = await this.adminRequest({ t: 'abort', id: ctx.id });
      } catch (e) {
        ctx.measured.notes.push(`could not confirm the destination's clean-up: ${(e as Error).message}`);
      }
    }
    this.filesLeft = reply ? reply.filesLeft : null;
  }

  /** Ask the destination something: over the session if it still lives, else anew. */
  async ask<R extends Request>(req: R, timeout = Math.max(300, this.ctx.s.timing.transferTimeout)): Promise<ReplyTo<R>> {
    if (this.link && this.alive) {
      try {
        return await this.link.request(req, undefined, timeout);
      } catch (e) {
        // The destination said no: that is its answer. Anything else (the session failing, no answer in
        // time): ask over a fresh session.
        if (e instanceof DestinationError && e.answered) throw e;
      }
    }
    return this.adminRequest(req, timeout);
  }

  /** One request over a fresh session (after the migration's session died); waits for a crashed
   *  destination to come back (a local one is restarted here; a remote one by its supervisor). */
  async adminRequest<R extends Request>(req: R, timeout = this.ctx.s.timing.transferTimeout): Promise<ReplyTo<R>> {
    const { ctx } = this;
    // A killed process's sockets reset before its exit is reported: wait for the exit, then restart it
    // (once: a restarted destination is up).
    if (this.receiver && this.injected === 'dest-crash' && !this.restarted) await this.receiver.waitExit(10_000);
    const deadline = performance.now() + Math.max(timeout, ctx.s.timing.destRestartTime) * 1000;
    for (let attempt = 0; ; attempt++) {
      let s: SenderSession | undefined;
      try {
        if (this.receiver?.exited) {
          ctx.log('the local destination is gone: starting it again on its directory to clean up');
          await this.receiver.restart();
          this.restarted = true;
        }
        s = await SenderSession.open({ ...this.sessionOptions(1, this.key, this.targets().length), connectTimeout: 10 });
        const link = new DestinationLink(s, timeout);
        await link.request({ t: 'hello', kind: 'admin', version: PROTOCOL_VERSION });
        return await link.request(req);
      } catch (e) {
        // An answer is final; a destination not reachable (yet: restarting) is asked again until the deadline.
        if ((e instanceof DestinationError && e.answered) || performance.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, Math.min(1000, 100 * (attempt + 1))));
      } finally {
        s?.close();
      }
    }
  }

  // -- injected faults ----------------------------------------------------------------------------------

  /**
   * Carry out an injected fault; returns whether the hosts lost every path between them. At `resume` a
   * crash and a link failure are armed at the destination before the request leaves (`armOnResume`): it
   * crashes as the request arrives, or resumes the VM and drops the link before answering; a stall stops
   * the destination before the request leaves, so it reaches a stopped destination.
   */
  impair(kind: FaultKind, phase: Phase): boolean {
    const { ctx } = this;
    const s = this.session;
    if (kind === 'auth-failure') {
      this.wrongKey = true;
      this.injected = kind;
      return false;
    }
    if (!s && !(kind === 'dest-crash' && this.receiver)) {
      // Before the channels are up (a timed fault early in the config phase): it strikes as they come up.
      this.deferred.push(kind);
      return false;
    }
    const alive = s?.channels.filter((c) => c.alive) ?? [];
    ctx.log(`injecting ${kind} in ${phase}`);
    switch (kind) {
      case 'link-down':
        this.injected = kind;
        if (phase === 'resume') return true; // armed: the destination drops the link before answering
        for (const c of alive) c.socket?.destroy();
        return true;
      case 'nic-down': {
        // A NIC is a local address: every channel that leaves by the first live channel's address dies
        // (without --bind all channels share the host's one route: the same as link-down).
        const nic = alive[0]?.target.localAddress;
        const gone = alive.filter((c) => c.target.localAddress === nic);
        if (gone.length === alive.length) this.injected = kind;
        for (const c of gone) c.socket?.destroy();
        return gone.length === alive.length;
      }
      case 'channel-down':
        if (alive.length === 1) this.injected = kind;
        alive[0]?.socket?.destroy();
        return alive.length <= 1;
      case 'dest-crash':
        this.injected = kind;
        if (phase === 'resume') return true; // armed before the request left
        if (this.receiver) this.receiver.signal('SIGKILL');
        else this.link?.tell({ t: 'fault', kind: 'crash' });
        return true;
      case 'dest-storage-error':
        this.link?.tell({ t: 'fault', kind: 'dest-storage-error' });
        return false;
      case 'stall':
        this.injected = kind;
        this.receiver?.signal('SIGSTOP');
        return false;
    }
  }

  /** Arm a fault at the destination for when the resume request arrives (`dest-crash@resume`, `link-down@resume`). */
  async armOnResume(kind: 'crash' | 'link-down'): Promise<void> {
    await this.link!.request({ t: 'fault', kind, on: 'resume' });
  }

  /** The injected stall is over. */
  unstall(): void {
    this.receiver?.signal('SIGCONT');
  }

  async close(): Promise<void> {
    this.link?.close(new StateError('the migration is over'));
    this.session?.close();
    this.receiver?.signal('SIGCONT');
    await this.receiver?.stop();
  }
}

/** A failure with a known cause, raised inside a step. */
export class CauseError extends Error {
  constructor(
    readonly why: Cause,
    message: string,
  ) {
    super(message);
  }
}

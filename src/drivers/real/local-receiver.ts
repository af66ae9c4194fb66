// A destination started by `migrate` itself on loopback: the migration endpoint (what `migbench
// migrate-receiver` runs) in a child process (receiver-main.js), authenticated with a fresh random key
// passed in its environment (never on a command line), tied to this process by its standard input (it
// exits when we do). The driver can kill it (dest-crash), stop and
// continue it (stall), and start it again on the same directory (a restarted host cleaning up).

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { compiledSibling } from '../../guest/real/worker-url.js';
import { MigbenchError } from '../../errors.js';
import { parseEndpoints, type Endpoint } from '../../transport/tcp/address.js';
import { KEY_ENV } from '../../transport/tcp/auth.js';

export class LocalReceiver {
  child: ChildProcess;
  endpoint: Endpoint;
  /** Set when the process exited (by itself or killed). */
  exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly exitListeners: ((e: { code: number | null; signal: NodeJS.Signals | null }) => void)[] = [];
  private stderrTail = '';

  private constructor(
    readonly dir: string,
    readonly key: Buffer,
    child: ChildProcess,
    endpoint: Endpoint,
    readonly reserve: number,
    readonly allowFaultInjection: boolean,
    readonly maxIncoming: number,
  ) {
    this.child = child;
    this.endpoint = endpoint;
    this.watch(child);
  }

  /** `reserve`: bytes of memory the destination keeps zeroed and faulted in for the VM (0: none).
   *  `allowFaultInjection`: the run has faults to inject (the endpoint's test-only switch).
   *  `maxIncoming`: migrations it takes at once (1: the `migrate` that started it has one). */
  static async spawn(dir: string, key = Buffer.from(randomBytes(32).toString('hex')), reserve = 0, allowFaultInjection = false, maxIncoming = 1): Promise<LocalReceiver> {
    const { child, endpoint, stderr } = await start(dir, key, reserve, allowFaultInjection, maxIncoming);
    const r = new LocalReceiver(dir, key, child, endpoint, reserve, allowFaultInjection, maxIncoming);
    r.stderrTail = stderr();
    return r;
  }

  private watch(child: ChildProcess): void {
    child.stderr!.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString('utf8')).slice(-4000);
    });
    child.once('exit', (code, signal) => {
      if (child !== this.child) return;
      this.exited = { code, signal };
      for (const l of this.exitListeners) l(this.exited);
    });
  }

  /** Resolves once the current process exited, or after `ms`. */
  waitExit(ms: number): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.child.once('exit', () => {
        clearTimeout(t);
        setImmediate(resolve);
      });
    });
  }

  /** Called when the current process exits. */
  onExit(l: (e: { code: number | null; signal: NodeJS.Signals | null }) => void): void {
    this.exitListeners.push(l);
  }

  /** The receiver's recent log lines (for error messages). */
  get log(): string {
    return this.stderrTail;
  }

  /** Send a signal (SIGKILL: crash; SIGSTOP / SIGCONT: stall). */
  signal(sig: NodeJS.Signals): void {
    if (!this.exited) this.child.kill(sig);
  }

  /** Start it again on the same directory (a crashed host coming back); it removes interrupted migrations' files first. */
  async restart(): Promise<void> {
    if (!this.exited) throw new MigbenchError('E_STATE', 'the local receiver is still running');
    const { child, endpoint } = await start(this.dir, this.key, this.reserve, this.allowFaultInjection, this.maxIncoming);
    this.exited = null;
    this.child = child;
    this.endpoint = endpoint;
    this.watch(child);
  }

  /** Stop it (close its lifeline), killing it if it does not exit within 10 s. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGCONT');
    this.child.stdin?.end();
    const t = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(t);
  }
}

async function start(dir: string, key: Buffer, reserve: number, allowFaults: boolean, maxIncoming: number): Promise<{ child: ChildProcess; endpoint: Endpoint; stderr: () => string }> {
  const main = fileURLToPath(compiledSibling(import.meta.url, 'receiver-main.js'));
  const child = spawn(process.execPath, [main, dir, String(reserve), `--max-incoming=${maxIncoming}`, ...(allowFaults ? ['--allow-fault-injection'] : [])], {
    env: { ...process.env, [KEY_ENV]: key.toString('utf8') },
    stdio: ['pipe', 'pipe', 'pipe'],
    // Its own process group: a terminal's Ctrl-C goes to `migrate`, which cancels and rolls back, and
    // must not kill the destination mid-rollback. It still exits when our end of its stdin closes.
    detached: true,
    windowsHide: true,
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const endpoint = await new Promise<Endpoint>((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new MigbenchError('E_TRANSPORT', `the local receiver did not start within 60 s: ${err.trim()}`));
    }, 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(t);
      try {
        const { listening } = JSON.parse(out.slice(0, nl)) as { listening: string[] };
        resolve(parseEndpoints(listening[0]!, 'receiver')[0]!);
      } catch (e) {
        reject(new MigbenchError('E_TRANSPORT', `the local receiver printed ${JSON.stringify(out.slice(0, nl))}: ${(e as Error).message}`));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(t);
      reject(new MigbenchError('E_TRANSPORT', `the local receiver exited (${signal ?? code}) before listening: ${err.trim()}`));
    });
  });
  return { child, endpoint, stderr: () => err };
}

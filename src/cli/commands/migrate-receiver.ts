// `migbench migrate-receiver`: the destination of real migrations (`migbench migrate --to ADDR:PORT`).
// `migrate` starts one itself on loopback when no --to is given; on another host, run this there.
//
// By default it supervises itself: the endpoint runs in a child process that is restarted if it dies
// (as a host comes back after a crash), and on start it removes the files of any migration that was
// interrupted. A `dest-crash` fault kills the child; the source then waits for the restart to confirm
// that nothing was left behind.

import type { Command } from 'commander';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { serveEndpoint } from '../../drivers/real/serve.js';
import { totalmem } from 'node:os';
import { InputError, MigbenchError } from '../../errors.js';
import { formatBytes } from '../../units/index.js';
import { parseEndpoints } from '../../transport/tcp/address.js';
import { KEY_ENV, loadKey } from '../../transport/tcp/auth.js';
import { DEFAULT_MAX_INCOMING, MAX_INCOMING_LIMIT } from '../../drivers/real/incoming.js';
import { intFlag, sizeFlag } from '../flags.js';
import type { Io } from '../io.js';

interface Flags {
  listen?: string;
  dir?: string;
  keyFile?: string;
  insecure?: boolean;
  maxMemory?: string;
  maxIncoming?: string;
  reserve?: string;
  allowFaultInjection?: boolean;
  json?: boolean;
  quiet?: boolean;
  supervise: boolean;
  stdinLifeline?: boolean;
}

export function registerMigrateReceiver(program: Command, io: Io): void {
  program
    .command('migrate-receiver')
    .description('receive real live migrations (memory, device state and disks) from `migbench migrate --to`')
    .option('--listen <addrs>', 'ADDR:PORT[,ADDR:PORT...] to listen on, one per NIC the source stripes over (port 0 picks one)')
    .option('--dir <dir>', "directory for the migrated VMs' files (configuration and disk images)")
    .option('--key-file <file>', `pre-shared key file (or the ${KEY_ENV} environment variable)`)
    .option('--insecure', 'run without a key; only on loopback addresses')
    .option('--max-memory <size>', "guest memory held at once, over every migration received at the same time (default: 75% of this host's memory); a migration that does not fit is refused, saying why")
    .option('--max-incoming <n>', `migrations received at once, 1-${MAX_INCOMING_LIMIT}; one more is refused, saying so (its source rolls back with dest_refused)`, String(DEFAULT_MAX_INCOMING))
    .option('--reserve <size>', 'memory kept zeroed and faulted in for incoming VMs, shared out among the migrations received at once (else each page faults in as its data arrives)', '0')
    .option('--no-supervise', 'run the endpoint in this process (no restart after a crash)')
    .option('--allow-fault-injection', "test only: obey the source's --fault requests (crash this receiver, fail its disk writes)")
    .option('--stdin-lifeline', 'exit when standard input closes (used when `migrate` starts a local receiver)')
    .option('--quiet', 'log nothing to stderr')
    .option('--json', 'print {"listening": [...]} on stdout once listening')
    .addHelpText(
      'after',
      `
Several migrations are received at once (--max-incoming), each with its own session, memory, staging ring
and files (vm-<id>.vmcx, vm-<id>-disk0.img, the vm-<id>.migrating marker while it runs). One that rolls
back (its link lost, its source cancelled, its disk writes failing) removes only its own files; the others
carry on. Only a crash of this process interrupts them all: the restarted endpoint removes every
interrupted migration's files (by their markers) and nothing else.`,
    )
    .action(async (o: Flags) => {
      if (!o.listen) throw new InputError({ source: '--listen', expected: 'ADDR:PORT[,ADDR:PORT...]' });
      const listen = parseEndpoints(o.listen, '--listen', { allowPortZero: true });
      if (!o.dir) throw new InputError({ source: '--dir', expected: "a writable directory for the VMs' files" });
      const dir = resolve(o.dir);
      try {
        if (!statSync(dir).isDirectory()) throw new Error('not a directory');
        accessSync(dir, constants.W_OK);
      } catch (e) {
        throw new InputError({ source: '--dir', expected: 'an existing writable directory', got: o.dir, detail: (e as Error).message });
      }
      const key = loadKey({ ...(o.keyFile !== undefined ? { keyFile: o.keyFile } : {}), env: process.env });
      if (!key && !o.insecure) throw new InputError({ source: '--key-file', expected: `a pre-shared key file (or ${KEY_ENV}), or --insecure on loopback` });
      // Guest memory is held in this host's memory: never more than it has (a larger VM ran it out of memory).
      const hostLimit = Math.floor(0.75 * totalmem());
      const maxMemory = o.maxMemory !== undefined ? sizeFlag('--max-memory', o.maxMemory, 4096) : hostLimit;
      if (maxMemory > totalmem()) throw new InputError({ source: '--max-memory', expected: `at most this host's memory (${formatBytes(totalmem())})`, got: o.maxMemory });
      const maxIncoming = intFlag('--max-incoming', o.maxIncoming ?? String(DEFAULT_MAX_INCOMING), 1, MAX_INCOMING_LIMIT);
      const reserve = sizeFlag('--reserve', o.reserve ?? '0', 0);
      if (reserve > maxMemory) throw new InputError({ source: '--reserve', expected: `at most --max-memory (${formatBytes(maxMemory)})`, got: o.reserve });
      if (o.supervise) return supervise(io, o);
      await serveEndpoint({
        listen,
        ...(key ? { key } : {}),
        insecure: Boolean(o.insecure),
        dir,
        maxMemory,
        maxIncoming,
        reserve,
        allowFaultInjection: Boolean(o.allowFaultInjection),
        json: Boolean(o.json),
        stdinLifeline: Boolean(o.stdinLifeline),
        out: (t) => io.out(t),
        log: (line) => {
          if (!o.quiet) io.err(`migbench migrate-receiver: ${line}\n`);
        },
      });
    });
}

/** Run the endpoint in a child process and restart it when it dies of a signal (a crash). */
async function supervise(io: Io, o: Flags): Promise<void> {
  let args = process.argv.slice(2).filter((a) => a !== '--supervise');
  let stopping = false;
  let listening = false;
  let child: ChildProcess | undefined;
  const stop = () => {
    stopping = true;
    child?.kill('SIGTERM');
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  for (let restarts = 0; ; restarts++) {
    child = spawn(process.execPath, [process.argv[1]!, ...args, '--no-supervise'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    // The endpoint reports the addresses it bound: a restart listens on the same ports (port 0 resolved).
    child.on('message', (m: { type?: string; listening?: string[] }) => {
      if (m.type !== 'listening' || !m.listening) return;
      listening = true;
      const i = args.findIndex((a) => a === '--listen' || a.startsWith('--listen='));
      if (i >= 0) args = [...args.slice(0, i), `--listen=${m.listening.join(',')}`, ...args.slice(args[i] === '--listen' ? i + 2 : i + 1)];
    });
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child!.once('exit', (code, signal) => r({ code, signal })));
    if (stopping) return;
    if (exit.signal === null) {
      // It exited by itself: it could not start (port in use, an address not on this host, bad input: it
      // printed why) or failed later. Exit with its code, as the unsupervised endpoint would.
      if (exit.code) throw new ChildExit(exit.code, listening ? `the endpoint exited with code ${exit.code}` : `the endpoint could not start (exit ${exit.code})`);
      return;
    }
    if (!o.quiet) io.err(`migbench migrate-receiver: the endpoint died (${exit.signal}); restarting (${restarts + 1})\n`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The supervised endpoint's own exit code, kept: 2 for bad input, 3 for a transport failure, 1 otherwise. */
class ChildExit extends MigbenchError {
  constructor(code: number, message: string) {
    super(code === 2 ? 'E_INPUT' : code === 3 ? 'E_TRANSPORT' : 'E_IO', message);
  }
}

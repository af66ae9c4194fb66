// Running a migration endpoint until told to stop: shared by `migbench migrate-receiver` and the lean
// entry (receiver-main.ts) that `migrate` starts on loopback (the full CLI takes about two seconds to load
// here; this takes a fifth of that).

import { formatEndpoint } from '../../transport/tcp/address.js';
import { MigrationEndpoint, type EndpointOptions } from './endpoint.js';

/** The endpoint's own options (log required), and how to run it. */
export interface ServeOptions extends EndpointOptions {
  /** Print {"listening": [...]} on stdout once listening. */
  json?: boolean;
  /** Exit when standard input closes (the parent that started us is gone). */
  stdinLifeline?: boolean;
  out: (text: string) => void;
  log: (line: string) => void;
}

export async function serveEndpoint(o: ServeOptions): Promise<void> {
  const { json: _json, stdinLifeline: _lifeline, out: _out, ...endpoint } = o;
  const ep = new MigrationEndpoint(endpoint);
  const eps = await ep.start();
  o.log(`listening on ${eps.map(formatEndpoint).join(', ')}, files in ${o.dir}`);
  if (o.json) o.out(`${JSON.stringify({ listening: eps.map(formatEndpoint) })}\n`);
  // Under a supervisor (an IPC channel): tell it the bound addresses, so a restart binds the same ports.
  process.send?.({ type: 'listening', listening: eps.map(formatEndpoint) });
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    // Under a supervisor: exit with it (its IPC channel closes when it dies, even of SIGKILL).
    if (process.send) process.once('disconnect', done);
    if (o.stdinLifeline) {
      process.stdin.on('end', done);
      process.stdin.on('close', done);
      process.stdin.resume();
    }
  });
  await ep.close();
  if (o.stdinLifeline) process.stdin.destroy();
  // Close the supervisor's IPC channel, or it would keep this process alive.
  if (process.connected) process.disconnect();
}

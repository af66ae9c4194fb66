// The destination `migrate` starts on loopback: `node receiver-main.js DIR [RESERVE_BYTES]
// [--allow-fault-injection] [--max-incoming=N]`, the key in MIGBENCH_KEY. The switch is given only for a
// run with faults; `migrate` gives --max-incoming=1 (its own migration is the only one).
// Listens on 127.0.0.1 (a free port), prints {"listening": [...]}, exits when its standard input closes.

import { loadKey } from '../../transport/tcp/auth.js';
import { MAX_INCOMING_LIMIT } from './incoming.js';
import { serveEndpoint } from './serve.js';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: receiver-main.js DIR (key in MIGBENCH_KEY)\n');
  process.exit(2);
}
const incoming = process.argv.find((a) => a.startsWith('--max-incoming='));
const maxIncoming = incoming ? Number(incoming.slice('--max-incoming='.length)) : undefined;
if (maxIncoming !== undefined && !(Number.isInteger(maxIncoming) && maxIncoming >= 1 && maxIncoming <= MAX_INCOMING_LIMIT)) {
  process.stderr.write(`receiver-main.js: --max-incoming: expected an integer from 1 to ${MAX_INCOMING_LIMIT}, got ${JSON.stringify(incoming)}\n`);
  process.exit(2);
}
const key = loadKey({ env: process.env }); // a process entry point, like the CLI
if (!key) {
  process.stderr.write('receiver-main.js: MIGBENCH_KEY is not set\n');
  process.exit(2);
}
await serveEndpoint({
  listen: [{ host: '127.0.0.1', port: 0 }],
  key,
  dir,
  reserve: Number(process.argv[3] ?? 0) || 0,
  allowFaultInjection: process.argv.includes('--allow-fault-injection'),
  ...(maxIncoming !== undefined ? { maxIncoming } : {}),
  json: true,
  stdinLifeline: true,
  out: (t) => void process.stdout.write(t),
  log: (l) => void process.stderr.write(`migbench migrate-receiver: ${l}\n`),
});

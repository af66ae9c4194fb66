// Endpoint lists for the CLI and the TCP transport: "127.0.0.1:7000,[::1]:7001", loopback checks.

import { isIP } from 'node:net';
import { InputError } from '../../errors.js';

export interface Endpoint {
  host: string;
  port: number;
}

const FORM = 'ADDR:PORT[,ADDR:PORT...] with an IPv4 address, [IPv6] in brackets or localhost, and a port 0-65535';

/** Parse "ADDR:PORT[,ADDR:PORT...]". `flag` names the option in errors. */
export function parseEndpoints(text: string, flag: string, opts: { allowPortZero?: boolean } = {}): Endpoint[] {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) throw new InputError({ source: flag, expected: FORM, got: text });
  return parts.map((p) => {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(p);
    if (!m) throw new InputError({ source: flag, expected: FORM, got: p });
    const host = (m[1] ?? m[2])!;
    const port = Number(m[3]);
    if (host !== 'localhost' && isIP(host) === 0) throw new InputError({ source: flag, expected: FORM, got: p, detail: `${host} is not an IP address` });
    if (m[1] !== undefined && isIP(host) !== 6) throw new InputError({ source: flag, expected: FORM, got: p });
    if (port > 65535 || (port === 0 && !opts.allowPortZero)) throw new InputError({ source: flag, expected: FORM, got: p, detail: `bad port ${port}` });
    return { host, port };
  });
}

/** Parse "ADDR[,ADDR...]" (local addresses to bind). */
export function parseAddresses(text: string, flag: string): string[] {
  const parts = text.split(',').map((s) => s.trim());
  for (const p of parts) {
    if (isIP(p) === 0) throw new InputError({ source: flag, expected: 'IP addresses separated by commas, e.g. 10.0.1.1,10.0.2.1', got: p });
  }
  return parts;
}

/** 127.0.0.0/8, ::1, ::ffff:127.x and "localhost". */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  const v4 = host.startsWith('::ffff:') ? host.slice(7) : host;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

export function formatEndpoint(e: Endpoint): string {
  return isIP(e.host) === 6 ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

// Reading accepted plain TCP connections into one shared buffer (docs/transport.md, "Implementation note").

import net from 'node:net';
import type { Conn } from './receiver-conn.js';

/**
 * Re-wrap an accepted (paused) socket's handle in a Socket that reads into `readBuf`, shared by all plain
 * TCP channels (reads are handled synchronously): the public `onread` option exists only for client
 * sockets, and reading into a reused 1 MiB buffer instead of a fresh 64 KiB one per read roughly doubles
 * loopback goodput. Falls back to the accepted socket ('data' events; `pause` on backpressure) if Node's
 * internals ever change.
 */
export function adopt(old: net.Socket, readBuf: Buffer, conn: () => Conn, pause: (c: Conn) => void): net.Socket {
  const internal = old as unknown as { _handle: unknown };
  const handle = internal._handle;
  if (!handle) {
    old.on('data', (buf: Buffer) => {
      if (!conn().onBytes(buf)) pause(conn());
    });
    old.resume();
    return old;
  }
  internal._handle = null;
  old.destroy();
  return new net.Socket({
    handle,
    readable: true,
    writable: true,
    onread: {
      buffer: () => readBuf,
      callback: (n: number, buf: Uint8Array) => {
        const c = conn();
        const ok = c.onBytes((buf as Buffer).subarray(0, n));
        if (!ok) c.paused = true;
        return ok;
      },
    },
  } as net.SocketConstructorOpts);
}

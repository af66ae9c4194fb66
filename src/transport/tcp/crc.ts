// CRC-32C (Castagnoli), the frame format's checksum: one implementation for the whole transport.
//
// aws-crt's checksums (aws-checksums: SSE 4.2 CRC instructions on three interleaved streams, combined
// with carry-less multiplies) run at about 17 GB/s a core on this project's VM, where @node-rs/crc32 ran
// at 3.5-4 GB/s: on loopback the transport is CPU-bound, and the CRC is computed on both ends of every
// byte (bench/micro: "CRC-32C of 1 MiB"). Only the checksums module of the package is loaded, by its
// path inside the package, so the version is pinned exactly in package.json. The package ships binaries
// for Linux (glibc, musl; x64, arm64), macOS and Windows x64; elsewhere its install script builds from
// source (cmake). Loading it costs about 0.1 s, paid only by commands that use the transport.

import { createRequire } from 'node:module';

/** The checksums module's file, for worker threads that load it themselves (crc-pool.ts). */
export const CRC_MODULE_PATH = createRequire(import.meta.url).resolve('aws-crt/dist/native/checksums.js');

const crt = createRequire(import.meta.url)(CRC_MODULE_PATH) as { crc32c(data: Buffer, previous?: number): number };

/** CRC-32C of `data`, continuing from `previous` (the CRC of the bytes before it), as an unsigned 32-bit value. */
export function crc32c(data: Buffer | Uint8Array, previous = 0): number {
  const b = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return crt.crc32c(b, previous) >>> 0;
}

// Storage endpoints: where a VM's files live. Each has a sequential throughput and a random-IO rate;
// an IO of `size` bytes occupies the device for 1/iops + size/throughput seconds, so a mix of guest IO
// and copy traffic shares the device by the time each takes. Presets are assumptions anchored on the
// figures in docs/sources.md §6.

import { InputError } from '../errors.js';

export type EndpointKind = 'local' | 'san' | 'smb';

export interface StorageEndpoint {
  name: string;
  kind: EndpointKind;
  description: string;
  /** Sequential throughput, bytes per second. */
  throughput: number;
  /** Random IOs per second (small IOs). */
  iops: number;
}

const MB = 1e6;

const PRESETS: Record<string, StorageEndpoint> = {
  hdd: { name: 'hdd', kind: 'local', description: 'local RAID 10 of four 15K SAS disks', throughput: 300 * MB, iops: 800 },
  ssd: { name: 'ssd', kind: 'local', description: 'local SATA SSD (2012 class)', throughput: 500 * MB, iops: 40_000 },
  san: { name: 'san', kind: 'san', description: 'Cluster Shared Volume on an 8 Gb FC SAN', throughput: 800 * MB, iops: 20_000 },
  smb: { name: 'smb', kind: 'smb', description: 'SMB 3.0 file server (its own disks), reached over the SMB links', throughput: 1000 * MB, iops: 50_000 },
};

export const ENDPOINT_NAMES = Object.keys(PRESETS);

export function getEndpoint(name: string, source = '--dest-storage'): StorageEndpoint {
  const e = PRESETS[name];
  if (!e) throw new InputError({ source, expected: `one of ${ENDPOINT_NAMES.join(', ')}`, got: name });
  return { ...e };
}

/** Seconds one IO of `size` bytes keeps the device busy. */
export function ioCost(e: StorageEndpoint, size: number): number {
  return 1 / e.iops + size / e.throughput;
}

/** Bytes per second of a stream of `chunk`-byte sequential IOs when it has the whole device. */
export function streamRate(e: StorageEndpoint, chunk: number): number {
  return chunk / ioCost(e, chunk);
}

// The VM inventory of an evacuation (`migbench evacuate --inventory FILE`): which VMs leave a host, with
// their memory, workload, disk, mode, state and the node they run on. Formats by extension: .csv (a plain
// CSV, or PowerShell's Export-Csv of Get-VM: inventory-csv.ts), .yaml/.yml and .json:
//   { vms: [ { name, memory, workload?, disk?, mode?, state?, host?, count? } ] }   (or a bare list)
// `memory` and `disk` are sizes ("8GiB") or byte counts; `count: N` stands for N VMs named name-1..name-N.
// Every bad input is an InputError naming the file, the row or list index, the field and the expected form.
// The format is documented in docs/evacuation.md.

import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { InputError } from '../errors.js';
import { formatBytes } from '../units/index.js';
import { parseCsvInventory } from './inventory-csv.js';
import {
  checkCount,
  checkUnique,
  MAX_INVENTORY_BYTES,
  MAX_INVENTORY_VMS,
  memoryValue,
  modeValue,
  nameValue,
  runningValue,
  sizeValue,
  textValue,
  type At,
  type VmEntry,
} from './vm-fields.js';

export type { InventoryMode, VmEntry } from './vm-fields.js';
export { INVENTORY_MODES, MAX_INVENTORY_BYTES, MAX_INVENTORY_VMS } from './vm-fields.js';

export type InventoryFormat = 'csv' | 'yaml' | 'json';

const EXTENSIONS: Record<string, InventoryFormat> = { '.csv': 'csv', '.yaml': 'yaml', '.yml': 'yaml', '.json': 'json' };

/** The format of an inventory file from its extension (any case). */
export function inventoryFormat(path: string): InventoryFormat {
  const m = /\.[^./\\]+$/.exec(path);
  const format = m ? EXTENSIONS[m[0].toLowerCase()] : undefined;
  if (!format) throw new InputError({ source: path, expected: 'an inventory file ending in .csv, .yaml, .yml or .json', detail: 'the extension tells the format' });
  return format;
}

/** Read and parse an inventory file. `path` names the file in every message. */
export function readInventory(path: string): VmEntry[] {
  const format = inventoryFormat(path);
  return parseInventory(decode(readCapped(path), path), path, format);
}

/** Parse inventory text. `source` names the file in messages. */
export function parseInventory(text: string, source: string, format: InventoryFormat): VmEntry[] {
  if (format === 'csv') return parseCsvInventory(text, source);
  let raw: unknown;
  try {
    raw = format === 'json' ? JSON.parse(text.replace(/^\uFEFF/, '')) : parseYaml(text, { prettyErrors: true });
  } catch (e) {
    throw new InputError({ source, expected: format === 'json' ? 'valid JSON' : 'valid YAML', detail: (e as Error).message.split('\n')[0] });
  }
  return structuredInventory(raw, source);
}

// ---------------------------------------------------------------------------------------------------
// YAML and JSON

const Size = z.union([z.string(), z.number()]);
const Text = z.string().nullish();
export const InventoryEntrySchema = z.strictObject({
  name: z.string().describe('VM name (with count: the prefix of name-1..name-N)'),
  memory: Size.describe('guest memory: a size such as 8GiB, or bytes'),
  workload: Text.describe('workload preset (default: the evacuation default)'),
  disk: Size.nullish().describe('virtual disk size, such as 100GiB'),
  mode: Text.describe('cluster, smb-share or shared-nothing'),
  state: Text.describe('Hyper-V state: Running (default), Off, Saved, Paused...'),
  host: Text.describe('the cluster node the VM runs on'),
  count: z.int().min(1).max(MAX_INVENTORY_VMS).nullish().describe('this many VMs like this one, named name-1..name-N'),
});
const FIELDS = Object.keys(InventoryEntrySchema.shape);

function structuredInventory(raw: unknown, source: string): VmEntry[] {
  const bare = Array.isArray(raw);
  const list = bare ? raw : raw !== null && typeof raw === 'object' && Object.keys(raw).length === 1 ? (raw as { vms?: unknown }).vms : undefined;
  if (!Array.isArray(list)) {
    throw new InputError({ source, expected: 'a list of VMs, or {vms: [...]}, each {name, memory, workload?, disk?, mode?, state?, host?, count?}', got: describe(raw) });
  }
  if (list.length === 0) throw new InputError({ source, path: bare ? undefined : 'vms', expected: 'at least one VM' });
  const prefix = bare ? '' : 'vms';
  // Validate the shapes and add up the counts before anything is expanded.
  const entries = list.map((e, i) => entry(e, { source, path: `${prefix}[${i}]` }));
  checkCount(entries.reduce((n, e) => n + (e.count ?? 1), 0), source);
  const vms: VmEntry[] = [];
  const fieldAt: At[] = [];
  entries.forEach((e, i) => {
    const at = (field: string): At => ({ source, path: `${prefix}[${i}].${field}` });
    const base = {
      memoryBytes: memoryValue(e.memory, at('memory')),
      workload: textValue(e.workload),
      diskBytes: e.disk === null || e.disk === undefined ? null : sizeValue(e.disk, at('disk')),
      mode: modeValue(e.mode, at('mode')),
      running: runningValue(e.state, at('state')),
      host: textValue(e.host),
    };
    const name = nameValue(e.name, at('name'));
    const origin = `${source} ${prefix}[${i}]`;
    if (e.count === null || e.count === undefined) {
      vms.push({ name, ...base, origin });
      fieldAt.push(at('name'));
    } else {
      for (let k = 1; k <= e.count; k++) {
        vms.push({ name: `${name}-${k}`, ...base, origin: `${origin} (${k} of ${e.count})` });
        fieldAt.push(at('name'));
      }
    }
  });
  checkUnique(vms, (i) => fieldAt[i]!);
  return vms;
}

function entry(raw: unknown, at: At): z.output<typeof InventoryEntrySchema> {
  const r = InventoryEntrySchema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.length > 0 ? String(issue.path[0]) : undefined;
  const path = field ? `${at.path}.${field}` : at.path;
  const value = field !== undefined && raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>)[field] : raw;
  if (issue.code === 'unrecognized_keys') {
    throw new InputError({ source: at.source, path: at.path, expected: `only the fields ${FIELDS.join(', ')}`, got: issue.keys.join(', ') });
  }
  if (field === undefined) throw new InputError({ source: at.source, path, expected: `a VM {${FIELDS.join(', ')}}`, got: describe(raw) });
  if (value === undefined) throw new InputError({ source: at.source, path, expected: `a ${field} (required)` });
  const expected: Record<string, string> = {
    name: 'text (in YAML, quote a name that looks like a number: "101")',
    memory: 'a size such as 8GiB, or a whole number of bytes',
    disk: 'a size such as 100GiB, or a whole number of bytes',
    count: `a whole number from 1 to ${MAX_INVENTORY_VMS.toLocaleString('en-US')}`,
  };
  throw new InputError({ source: at.source, path, expected: expected[field] ?? 'text', got: value });
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return `an object with ${Object.keys(v).slice(0, 5).join(', ') || 'no fields'}`;
  return typeof v;
}

// ---------------------------------------------------------------------------------------------------
// Reading the file

/**
 * The file's bytes: a regular file of at most MAX_INVENTORY_BYTES, opened without blocking (a FIFO or a
 * device is refused at once rather than read without end or waited on), as src/transport/tcp/auth.ts reads
 * a key file.
 */
function readCapped(path: string): Buffer {
  const expected = `a readable regular file of at most ${formatBytes(MAX_INVENTORY_BYTES)}`;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    throw new InputError({ source: path, expected, detail: (e as Error).message });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new InputError({ source: path, expected, detail: `not a regular file: ${st.isFIFO() ? 'a FIFO' : st.isDirectory() ? 'a directory' : 'a device or socket'}` });
    if (st.size > MAX_INVENTORY_BYTES) throw new InputError({ source: path, expected, got: `${st.size} bytes`, detail: 'split the inventory' });
    const buf = Buffer.alloc(Math.min(st.size, MAX_INVENTORY_BYTES) + 1);
    let n = 0;
    for (let r = 1; r > 0 && n < buf.length; n += r) r = readSync(fd, buf, n, buf.length - n, null);
    if (n > MAX_INVENTORY_BYTES) throw new InputError({ source: path, expected, detail: 'it grew past the limit while read' });
    return buf.subarray(0, n);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError({ source: path, expected, detail: (e as Error).message });
  } finally {
    closeSync(fd);
  }
}

/** Text from bytes: UTF-8 (with or without a byte order mark), or UTF-16 with its byte order mark. */
function decode(buf: Buffer, source: string): string {
  try {
    if (buf[0] === 0xff && buf[1] === 0xfe) return new TextDecoder('utf-16le', { fatal: true }).decode(buf.subarray(2));
    if (buf[0] === 0xfe && buf[1] === 0xff) return new TextDecoder('utf-16be', { fatal: true }).decode(buf.subarray(2));
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(buf);
  } catch {
    throw new InputError({ source, expected: 'UTF-8 text (or UTF-16 with a byte order mark, as Export-Csv -Encoding Unicode writes)', detail: 'the file has bytes that are not valid text' });
  }
}

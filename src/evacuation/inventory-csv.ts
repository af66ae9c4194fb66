// CSV inventories, in two forms told apart by the header:
// - plain: columns name, memory (required), workload, disk, mode, state, host (any case, any order);
//   any other column is refused (a typo would otherwise be ignored silently);
// - PowerShell: what `Get-VM | Select-Object Name,State,MemoryAssigned,MemoryStartup,ComputerName,... |
//   Export-Csv` writes. A header with a MemoryAssigned column is taken as this form; its other columns
//   (there are dozens in a full Get-VM export) are ignored. Windows PowerShell 5.1 writes a first line
//   `#TYPE Selected.Microsoft.HyperV.PowerShell.VirtualMachine` (PowerShell 6 and later do not, unless
//   -IncludeTypeInformation), quotes every header and field, writes a null as an empty field. An Off VM
//   has MemoryAssigned 0: its MemoryStartup is used.
// Rows are numbered as a text editor numbers lines and a spreadsheet numbers rows: the first line of the
// file is row 1 (the header, or the #TYPE line when there is one), blank lines count.

import { parse } from 'csv-parse/sync';
import { CsvError } from 'csv-parse';
import { InputError } from '../errors.js';
import {
  bytesValue,
  checkCount,
  checkUnique,
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

/** Columns of the plain form, lower case. */
export const PLAIN_COLUMNS = ['name', 'memory', 'workload', 'disk', 'mode', 'state', 'host'] as const;
const PLAIN_REQUIRED = ['name', 'memory'] as const;

interface Row {
  fields: string[];
  /** 1-based line of the file where the row starts. */
  line: number;
}

/** Parse a CSV inventory (either form). `source` names the file in messages. */
export function parseCsvInventory(text: string, source: string): VmEntry[] {
  const rows = readRows(text, source);
  if (rows.length === 0) throw new InputError({ source, expected: 'a header row and at least one VM row', got: 'an empty file' });
  const [header, ...data] = rows as [Row, ...Row[]];
  if (data.length === 0) throw new InputError({ source, expected: 'at least one VM row after the header' });
  checkCount(data.length, source, data.length > MAX_INVENTORY_VMS);
  const columns = readHeader(header, source);
  const at = (row: Row, column: string): At => ({ source: `${source} row ${row.line}`, path: column });
  const vms = data.map((row) => {
    if (row.fields.length !== header.fields.length) {
      throw new InputError({ source: `${source} row ${row.line}`, expected: `${header.fields.length} fields, one per column of the header`, got: `${row.fields.length} fields` });
    }
    const cell = (key: string): { value: string; at: At } | null => {
      const c = columns.get(key);
      return c === undefined ? null : { value: row.fields[c.index]!, at: at(row, c.label) };
    };
    const name = cell('name')!;
    const memory = columns.powershell ? powershellMemory(cell('memoryassigned')!, cell('memorystartup')) : memoryValue(cell('memory')!.value, cell('memory')!.at);
    const disk = cell('disk');
    const state = cell('state');
    const mode = cell('mode');
    return {
      name: nameValue(name.value, name.at),
      memoryBytes: memory,
      workload: textValue(cell('workload')?.value),
      diskBytes: disk && textValue(disk.value) !== null ? sizeValue(disk.value, disk.at) : null,
      mode: mode ? modeValue(mode.value, mode.at) : null,
      running: state ? runningValue(state.value, state.at) : true,
      host: textValue(cell('host')?.value),
      origin: `${source} row ${row.line}`,
    } satisfies VmEntry;
  });
  checkUnique(vms, (i) => at(data[i]!, columns.get('name')!.label));
  return vms;
}

/** MemoryAssigned in bytes; 0 (an Off VM) falls back to MemoryStartup. */
function powershellMemory(assigned: { value: string; at: At }, startup: { value: string; at: At } | null): number {
  const a = bytesValue(assigned.value, assigned.at);
  if (a > 0) return memoryValue(a, assigned.at);
  const s = startup ? bytesValue(startup.value, startup.at) : 0;
  if (s > 0) return memoryValue(s, startup!.at);
  throw new InputError({
    ...assigned.at,
    expected: startup ? 'bytes above 0 here or in MemoryStartup' : 'bytes above 0, or a MemoryStartup column (an Off VM has MemoryAssigned 0; export MemoryStartup too)',
    got: assigned.value,
  });
}

interface Columns {
  powershell: boolean;
  get(key: string): { index: number; label: string } | undefined;
}

/** Map the header's columns to fields; refuse duplicates, unknown plain columns, missing required ones. */
function readHeader(header: Row, source: string): Columns {
  const at: At = { source: `${source} row ${header.line}`, path: 'header' };
  const index = new Map<string, { index: number; label: string }>();
  header.fields.forEach((raw, i) => {
    const label = raw.trim();
    const key = label.toLowerCase();
    if (key === '') throw new InputError({ ...at, expected: 'a name for every column', got: `an empty name in column ${i + 1}` });
    if (index.has(key)) throw new InputError({ ...at, expected: 'each column once', got: `"${label}" twice` });
    index.set(key, { index: i, label });
  });
  const powershell = index.has('memoryassigned');
  if (powershell) {
    // Get-VM objects carry both Name and VMName; either names the VM. ComputerName is the host.
    const map = new Map<string, { index: number; label: string }>();
    const name = index.get('name') ?? index.get('vmname');
    if (!name) throw new InputError({ ...at, expected: 'a Name (or VMName) column beside MemoryAssigned (Get-VM | Select-Object Name,State,MemoryAssigned,...)' });
    map.set('name', name);
    for (const [key, from] of [
      ['memoryassigned', 'memoryassigned'],
      ['memorystartup', 'memorystartup'],
      ['state', 'state'],
      ['host', 'computername'],
      ['workload', 'workload'],
      ['disk', 'disk'],
      ['mode', 'mode'],
    ] as const) {
      const c = index.get(from);
      if (c) map.set(key, c);
    }
    return { powershell, get: (k) => map.get(k) };
  }
  for (const [key, c] of index) {
    if (!(PLAIN_COLUMNS as readonly string[]).includes(key)) {
      throw new InputError({ ...at, expected: `only the columns ${PLAIN_COLUMNS.join(', ')} (or a PowerShell Export-Csv header with MemoryAssigned)`, got: c.label });
    }
  }
  for (const key of PLAIN_REQUIRED) {
    if (!index.has(key)) throw new InputError({ ...at, expected: `a "${key}" column (columns: ${PLAIN_COLUMNS.join(', ')}; name and memory are required)` });
  }
  return { powershell, get: (k) => index.get(k) };
}

/**
 * The file's records with the line each starts on. A leading `#TYPE ...` line is blanked (its line still
 * counts); blank records (a line of spaces, or only empty fields, as spreadsheets leave) are dropped. The
 * field delimiter is a comma, or a semicolon or tab when the header has no comma (Export-Csv -UseCulture
 * writes the list separator of the culture, a semicolon in much of Europe). Reading stops past the VM cap.
 */
function readRows(text: string, source: string): Row[] {
  let t = text.startsWith('\uFEFF') ? text.slice(1) : text;
  // Blank the #TYPE lines before the header, keeping their line breaks so that rows keep their numbers.
  t = t.replace(/^(?:[ \t]*\r?\n|#TYPE[^\r\n]*(?:\r?\n|$))+/i, (lead) => lead.replace(/[^\r\n]+/g, ''));
  const headerLine = /^[^\r\n]*\S[^\r\n]*$/m.exec(t)?.[0] ?? '';
  const delimiter = headerLine.includes(',') ? ',' : headerLine.includes(';') ? ';' : headerLine.includes('\t') ? '\t' : ',';
  const buf = Buffer.from(t, 'utf8');
  let records: { record: string[]; info: { bytes: number } }[];
  try {
    // With `info`, each record comes as {record, info} (the typings do not follow the option).
    records = parse(buf, { info: true, delimiter, skip_empty_lines: true, relax_column_count: true, to: MAX_INVENTORY_VMS + 2 }) as unknown as typeof records;
  } catch (e) {
    if (e instanceof CsvError) {
      const line = (e as CsvError & { lines?: number }).lines;
      throw new InputError({ source: line ? `${source} row ${line}` : source, expected: 'well-formed CSV (RFC 4180: fields with commas, quotes or line breaks in double quotes)', detail: e.message });
    }
    throw e;
  }
  const rows: Row[] = [];
  let pos = 0;
  let line = 1;
  let start = 0;
  for (const r of records) {
    // The record starts at the first non-blank byte after the previous record (info.bytes: consumed so far).
    while (start < buf.length && (buf[start] === 0x0a || buf[start] === 0x0d || buf[start] === 0x20 || buf[start] === 0x09)) start++;
    for (; pos < start; pos++) if (buf[pos] === 0x0a) line++;
    const begins = line;
    start = r.info.bytes;
    if (r.record.every((f) => f.trim() === '')) continue;
    rows.push({ fields: r.record, line: begins });
  }
  return rows;
}

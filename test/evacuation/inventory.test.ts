import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { InputError } from '../../src/errors.js';
import { MAX_INVENTORY_BYTES, MAX_INVENTORY_VMS, parseInventory, readInventory, type VmEntry } from '../../src/evacuation/inventory.js';
import { MAX_GUEST_MEMORY } from '../../src/scenario.js';

const FIX = 'test/fixtures/inventory';
const GiB = 2 ** 30;

/** The InputError message `f` throws (fails the test when it throws nothing, or something else). */
function message(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error('expected an InputError, nothing was thrown');
}
const csv = (text: string, source = 'host1.csv') => parseInventory(text, source, 'csv');
const yaml = (text: string, source = 'vms.yaml') => parseInventory(text, source, 'yaml');
const json = (value: unknown, source = 'vms.json') => parseInventory(JSON.stringify(value), source, 'json');
const strip = (vms: VmEntry[]) => vms.map(({ origin: _, ...v }) => v);
const tmp = () => mkdtempSync(join(tmpdir(), 'migbench-inv-'));

describe('inventory formats', () => {
  it('reads a Windows PowerShell 5.1 export: #TYPE line, quoted fields, many columns, Off and Saved VMs by MemoryStartup', () => {
    const vms = readInventory(`${FIX}/host1-ps51.csv`);
    expect(vms.map((v) => [v.name, v.memoryBytes / GiB, v.running, v.host])).toEqual([
      ['DC01', 4, true, 'HV-NODE1'],
      ['SQL01', 16, true, 'HV-NODE1'],
      ['WEB, public', 2, true, 'HV-NODE1'], // MemoryAssigned (dynamic memory), not MemoryStartup
      ['BUILD01', 8, false, 'HV-NODE1'], // Off: MemoryAssigned 0, MemoryStartup 8 GiB
      ['TEST01', 2, false, 'HV-NODE1'], // Saved: moved by configuration only
      ['APP02', 6, true, 'HV-NODE1'], // Paused: its memory is resident, it moves live
    ]);
    // the #TYPE line is row 1, the header row 2
    expect(vms[0]!.origin).toBe(`${FIX}/host1-ps51.csv row 3`);
    expect(vms.every((v) => v.workload === null && v.diskBytes === null && v.mode === null)).toBe(true);
  });

  it('reads a PowerShell 7 export (no #TYPE, every Get-VM column, a note with a line break inside quotes)', () => {
    const vms = readInventory(`${FIX}/host2-ps7.csv`);
    expect(vms.map((v) => [v.name, v.memoryBytes / GiB, v.running, v.host])).toEqual([
      ['file01', 8, true, 'hv-node2'],
      ['print01', 1, false, 'hv-node2'],
      ['jump01', 2, true, 'hv-node2'],
    ]);
    // rows are the lines where each record starts: the note spans lines 2-3
    expect(vms.map((v) => v.origin.replace(/^.* /, ''))).toEqual(['2', '4', '5']);
  });

  it('reads a plain CSV with sizes, defaults for empty cells', () => {
    const vms = readInventory(`${FIX}/plain.csv`);
    expect(strip(vms)).toEqual([
      { name: 'web-1', memoryBytes: 8 * GiB, workload: 'web', diskBytes: 100 * GiB, mode: 'cluster', running: true, host: 'node1' },
      { name: 'db-1', memoryBytes: 64 * GiB, workload: 'oltp', diskBytes: 500 * GiB, mode: 'shared-nothing', running: true, host: 'node1' },
      { name: 'vdi-1', memoryBytes: 4 * GiB, workload: 'vdi', diskBytes: null, mode: 'smb-share', running: false, host: 'node2' },
      { name: 'idle-1', memoryBytes: 2 * GiB, workload: null, diskBytes: null, mode: null, running: true, host: null },
    ]);
    expect(vms[3]!.origin).toBe(`${FIX}/plain.csv row 5`);
  });

  it('reads YAML with count (40 VMs like this one) and JSON as a bare list', () => {
    const y = readInventory(`${FIX}/inventory.yaml`);
    expect(y).toHaveLength(43);
    expect(y.slice(0, 40).map((v) => v.name)).toEqual(Array.from({ length: 40 }, (_, i) => `web-${i + 1}`));
    expect(y[39]!.origin).toBe(`${FIX}/inventory.yaml vms[0] (40 of 40)`);
    expect(strip(y.slice(40))).toEqual([
      { name: 'sql-a', memoryBytes: 64 * GiB, workload: 'oltp', diskBytes: 2 ** 40, mode: 'shared-nothing', running: true, host: 'node2' },
      { name: 'sql-b', memoryBytes: 64 * GiB, workload: 'oltp', diskBytes: null, mode: null, running: true, host: 'node2' },
      { name: 'template', memoryBytes: 4 * GiB, workload: null, diskBytes: null, mode: null, running: false, host: null },
    ]);
    const j = readInventory(`${FIX}/inventory.json`);
    expect(j.map((v) => v.name)).toEqual(['web-a', 'db-a', 'batch-1', 'batch-2', 'batch-3']);
    expect(j[1]).toMatchObject({ memoryBytes: 16 * GiB, diskBytes: 200 * GiB, mode: 'smb-share', running: false });
    expect(json({ vms: [{ name: 'a', memory: '1GiB' }] })[0]!.origin).toBe('vms.json vms[0]');
  });

  it('CSV details: headers in any case, a semicolon delimiter (Export-Csv -UseCulture), a BOM, blank and empty rows keep the numbering', () => {
    const vms = csv('\uFEFFNAME;Memory;State\r\n\r\nweb1;1GiB;off\r\n;;\r\nweb2;2GiB;Running\r\n');
    expect(vms.map((v) => [v.name, v.memoryBytes / GiB, v.running, v.origin])).toEqual([
      ['web1', 1, false, 'host1.csv row 3'],
      ['web2', 2, true, 'host1.csv row 5'],
    ]);
    // PowerShell: VMName when there is no Name; a null (two commas) is an empty cell
    expect(csv('"VMName","MemoryAssigned","ComputerName"\n"x","1073741824",\n')[0]).toMatchObject({ name: 'x', host: null });
  });

  it('reads UTF-16 (Export-Csv -Encoding Unicode) and UTF-8 with a BOM from files', () => {
    const d = tmp();
    const text = '#TYPE Selected.Microsoft.HyperV.PowerShell.VirtualMachine\r\n"Name","MemoryAssigned"\r\n"vm-é","1073741824"\r\n';
    writeFileSync(join(d, 'u16.csv'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    writeFileSync(join(d, 'u8.csv'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]));
    for (const f of ['u16.csv', 'u8.csv']) expect(readInventory(join(d, f))).toMatchObject([{ name: 'vm-é', memoryBytes: GiB, origin: `${join(d, f)} row 3` }]);
    writeFileSync(join(d, 'bad.csv'), Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0xff, 0x0a]));
    expect(message(() => readInventory(join(d, 'bad.csv')))).toBe(
      `${join(d, 'bad.csv')}: expected UTF-8 text (or UTF-16 with a byte order mark, as Export-Csv -Encoding Unicode writes) (the file has bytes that are not valid text)`,
    );
  });
});

describe('inventory errors name the file, the row or index, the field and the form', () => {
  const ps = '"Name","State","MemoryAssigned"\r\n"a","Running","8589934592"\r\n';

  it('PowerShell: MemoryAssigned in bytes; an Off VM needs MemoryStartup', () => {
    expect(message(() => csv(`${ps}"b","Running","lots"\r\n`))).toBe('host1.csv row 3: MemoryAssigned: expected bytes (a whole number), got "lots"');
    expect(message(() => csv(`#TYPE Selected.Microsoft.HyperV.PowerShell.VirtualMachine\r\n${ps}"b","Running","8GiB"\r\n`))).toBe(
      'host1.csv row 4: MemoryAssigned: expected bytes (a whole number), got "8GiB"',
    );
    expect(message(() => csv(`${ps}"b","Off","0"\r\n`))).toBe(
      'host1.csv row 3: MemoryAssigned: expected bytes above 0, or a MemoryStartup column (an Off VM has MemoryAssigned 0; export MemoryStartup too), got "0"',
    );
    expect(message(() => csv('"Name","State","MemoryAssigned","MemoryStartup"\n"b","Off","0",""\n'))).toBe(
      'host1.csv row 2: MemoryAssigned: expected bytes above 0 here or in MemoryStartup, got "0"',
    );
    expect(message(() => csv('"Name","MemoryAssigned","MemoryStartup"\n"b","0","x"\n'))).toBe('host1.csv row 2: MemoryStartup: expected bytes (a whole number), got "x"');
    expect(message(() => csv('"State","MemoryAssigned"\n"Running","1073741824"\n'))).toMatch(/^host1\.csv row 1: header: expected a Name \(or VMName\) column/);
    // PowerShell's extra columns are ignored, its states are checked
    expect(message(() => csv('"Name","State","MemoryAssigned","Heartbeat"\n"b","Sleeping","1073741824","x"\n'))).toBe(
      'host1.csv row 2: State: expected a Hyper-V VM state: Running, Off, Saved, Paused, Starting, Stopping, Saving... (Off and Saved move by configuration only), got "Sleeping"',
    );
  });

  it('plain CSV: strict header (unknown, missing, repeated columns)', () => {
    expect(message(() => csv('name,memory,cpu\na,1GiB,4\n', 'inv.csv'))).toBe(
      'inv.csv row 1: header: expected only the columns name, memory, workload, disk, mode, state, host (or a PowerShell Export-Csv header with MemoryAssigned), got "cpu"',
    );
    expect(message(() => csv('name,workload\na,web\n', 'inv.csv'))).toBe(
      'inv.csv row 1: header: expected a "memory" column (columns: name, memory, workload, disk, mode, state, host; name and memory are required)',
    );
    expect(message(() => csv('name,memory,Memory\na,1GiB,2GiB\n', 'inv.csv'))).toBe('inv.csv row 1: header: expected each column once, got "\\"Memory\\" twice"');
    expect(message(() => csv('name,,memory\na,,1GiB\n', 'inv.csv'))).toBe('inv.csv row 1: header: expected a name for every column, got "an empty name in column 2"');
  });

  it('plain CSV: values', () => {
    const at = (row: string) => () => csv(`name,memory,disk,state,mode\nok,1GiB,,,\n${row}\n`, 'inv.csv');
    expect(message(at('b,0,,,'))).toBe('inv.csv row 3: memory: expected a size above 0 such as 8GiB, 512MiB or a whole number of bytes, got "0"');
    expect(message(at('b,,,,'))).toBe('inv.csv row 3: memory: expected a size above 0 such as 8GiB, 512MiB or a whole number of bytes, got ""');
    expect(message(at('b,1.5,,,'))).toBe('inv.csv row 3: memory: expected a size above 0 such as 8GiB, 512MiB or a whole number of bytes, got "1.5"');
    expect(message(at('b,lots,,,'))).toMatch(/^inv\.csv row 3: memory: expected a size such as 8GiB.*got "lots"$/);
    expect(message(at('b,8TiB,,,'))).toBe('inv.csv row 3: memory: expected guest memory from 1 MiB to 4 TiB, got "8TiB"');
    expect(message(at('b,1GiB,8Gb,,'))).toMatch(/^inv\.csv row 3: disk: expected a size in bytes: .*did you mean 8GB or 8GiB\?, got "8Gb"$/);
    expect(message(at('b,1GiB,0,,'))).toMatch(/^inv\.csv row 3: disk: expected a size above 0/);
    expect(message(at('b,1GiB,,Sleeping,'))).toMatch(/^inv\.csv row 3: state: expected a Hyper-V VM state/);
    expect(message(at('b,1GiB,,,storage'))).toBe('inv.csv row 3: mode: expected one of cluster, smb-share, shared-nothing, got "storage"');
    expect(message(at(' ,1GiB,,,'))).toBe('inv.csv row 3: name: expected a VM name (not empty)');
    expect(message(at('b,1GiB,,,,extra'))).toBe('inv.csv row 3: expected 5 fields, one per column of the header, got "6 fields"');
    expect(message(at('"b,1GiB,,,'))).toMatch(/^inv\.csv row 3: expected well-formed CSV/);
  });

  it('duplicate names (any case), empty files, and the VM cap', () => {
    expect(message(() => csv('name,memory\nweb1,1GiB\nweb2,1GiB\nWEB1,2GiB\n', 'inv.csv'))).toBe(
      'inv.csv row 4: name: expected a name no other VM has (inv.csv row 2 is "web1"), got "WEB1"',
    );
    expect(message(() => csv('', 'inv.csv'))).toBe('inv.csv: expected a header row and at least one VM row, got "an empty file"');
    expect(message(() => csv(' \r\n\r\n', 'inv.csv'))).toBe('inv.csv: expected a header row and at least one VM row, got "an empty file"');
    expect(message(() => csv('name,memory\n', 'inv.csv'))).toBe('inv.csv: expected at least one VM row after the header');
    const rows = Array.from({ length: MAX_INVENTORY_VMS + 1 }, (_, i) => `v${i},1GiB`).join('\n');
    expect(message(() => csv(`name,memory\n${rows}\n`, 'inv.csv'))).toBe('inv.csv: expected at most 100,000 VMs (split the inventory), got "more than 100,000 VMs"');
    expect(csv(`name,memory\n${rows.slice(0, rows.lastIndexOf('\n'))}\n`, 'inv.csv')).toHaveLength(MAX_INVENTORY_VMS);
  });

  it('YAML and JSON: list index and field', () => {
    const four = (fourth: object) => ({ vms: [{ name: 'a', memory: '1GiB' }, { name: 'b', memory: '1GiB' }, { name: 'c', memory: '1GiB' }, fourth] });
    expect(message(() => json(four({ name: 'd', memory: 'lots' })))).toMatch(/^vms\.json: vms\[3\]\.memory: expected a size such as 8GiB.*got "lots"$/);
    expect(message(() => json(four({ name: 'd', memory: 0 })))).toBe('vms.json: vms[3].memory: expected a size above 0 such as 8GiB, 512MiB or a whole number of bytes, got 0');
    expect(message(() => json(four({ name: 'd', memory: true })))).toBe('vms.json: vms[3].memory: expected a size such as 8GiB, or a whole number of bytes, got true');
    expect(message(() => json(four({ name: 'd' })))).toBe('vms.json: vms[3].memory: expected a memory (required)');
    expect(message(() => json(four({ name: 'd', memory: '1GiB', cpu: 4 })))).toBe(
      'vms.json: vms[3]: expected only the fields name, memory, workload, disk, mode, state, host, count, got "cpu"',
    );
    expect(message(() => yaml('- name: 101\n  memory: 1GiB\n'))).toBe('vms.yaml: [0].name: expected text (in YAML, quote a name that looks like a number: "101"), got 101');
    expect(message(() => yaml('vms:\n  - name: a\n    memory: 1GiB\n    count: 0\n'))).toBe('vms.yaml: vms[0].count: expected a whole number from 1 to 100,000, got 0');
    expect(message(() => yaml('vms:\n  - name: a\n    memory: 1GiB\n    mode: storage\n'))).toBe('vms.yaml: vms[0].mode: expected one of cluster, smb-share, shared-nothing, got "storage"');
    expect(message(() => yaml('vms:\n  - name: a\n    memory: 1GiB\n    state: Sleeping\n'))).toMatch(/^vms\.yaml: vms\[0\]\.state: expected a Hyper-V VM state/);
    expect(message(() => yaml('vms:\n  - a\n'))).toBe('vms.yaml: vms[0]: expected a VM {name, memory, workload, disk, mode, state, host, count}, got "string"');
  });

  it('YAML and JSON: duplicates after count, the cap before expansion, empty and malformed files', () => {
    expect(message(() => yaml('vms:\n  - {name: web, memory: 1GiB, count: 3}\n  - {name: web-2, memory: 1GiB}\n'))).toBe(
      'vms.yaml: vms[1].name: expected a name no other VM has (vms.yaml vms[0] (2 of 3) is "web-2"), got "web-2"',
    );
    expect(message(() => yaml('vms:\n  - {name: a, memory: 1GiB, count: 60000}\n  - {name: b, memory: 1GiB, count: 60000}\n'))).toBe(
      'vms.yaml: expected at most 100,000 VMs (split the inventory), got "120,000 VMs"',
    );
    expect(message(() => yaml(''))).toBe('vms.yaml: expected a list of VMs, or {vms: [...]}, each {name, memory, workload?, disk?, mode?, state?, host?, count?}, got "nothing"');
    expect(message(() => yaml('vms: []\n'))).toBe('vms.yaml: vms: expected at least one VM');
    expect(message(() => yaml('vms: [{name: a, memory: 1GiB}]\nextra: 1\n'))).toMatch(/^vms\.yaml: expected a list of VMs.*got "an object with vms, extra"$/);
    expect(message(() => yaml('vms: [\n'))).toMatch(/^vms\.yaml: expected valid YAML \(/);
    expect(message(() => parseInventory('{"vms": [', 'vms.json', 'json'))).toMatch(/^vms\.json: expected valid JSON \(/);
  });

  it('files: the extension picks the format; missing files, FIFOs, devices, directories and oversized files are refused without reading them', () => {
    const d = tmp();
    expect(message(() => readInventory(join(d, 'vms.txt')))).toBe(`${join(d, 'vms.txt')}: expected an inventory file ending in .csv, .yaml, .yml or .json (the extension tells the format)`);
    expect(message(() => readInventory(join(d, 'missing.csv')))).toMatch(/missing\.csv: expected a readable regular file of at most 64 MiB \(ENOENT/);
    execFileSync('mkfifo', [join(d, 'fifo.csv')]);
    const started = Date.now();
    expect(message(() => readInventory(join(d, 'fifo.csv')))).toBe(`${join(d, 'fifo.csv')}: expected a readable regular file of at most 64 MiB (not a regular file: a FIFO)`);
    expect(Date.now() - started).toBeLessThan(2000);
    symlinkSync('/dev/zero', join(d, 'zero.yaml'));
    expect(message(() => readInventory(join(d, 'zero.yaml')))).toMatch(/zero\.yaml: expected a readable regular file .*\(not a regular file: a device or socket\)$/);
    mkdirSync(join(d, 'dir.json'));
    expect(message(() => readInventory(join(d, 'dir.json')))).toMatch(/dir\.json: expected a readable regular file .*\(not a regular file: a directory\)$/);
    writeFileSync(join(d, 'big.csv'), '');
    truncateSync(join(d, 'big.csv'), MAX_INVENTORY_BYTES + 1);
    expect(message(() => readInventory(join(d, 'big.csv')))).toBe(`${join(d, 'big.csv')}: expected a readable regular file of at most 64 MiB, got "67108865 bytes" (split the inventory)`);
  });
});

describe('property: a plain CSV written from valid entries reads back equal', () => {
  const name = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 ,"._-]{0,14}[A-Za-z0-9]$/);
  const entry = fc.record({
    name,
    memoryBytes: fc.oneof(fc.integer({ min: 2 ** 20, max: MAX_GUEST_MEMORY }), fc.integer({ min: 1, max: 4096 }).map((n) => n * 2 ** 20)),
    workload: fc.option(fc.constantFrom('idle', 'web', 'oltp', 'vdi', 'churn'), { nil: null }),
    diskBytes: fc.option(fc.integer({ min: 1, max: 2 ** 50 }), { nil: null }),
    mode: fc.option(fc.constantFrom('cluster', 'smb-share', 'shared-nothing' as const), { nil: null }),
    running: fc.boolean(),
    host: fc.option(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/), { nil: null }),
  });
  const inventory = fc.uniqueArray(entry, { minLength: 1, maxLength: 30, selector: (e) => e.name.toLowerCase() });

  it('holds for random inventories (sizes as bytes or MiB, states Running/Off or empty)', () => {
    fc.assert(
      fc.property(inventory, fc.boolean(), (vms, crlf) => {
        const rows = vms.map((v) => [
          v.name,
          v.memoryBytes % 2 ** 20 === 0 ? `${v.memoryBytes / 2 ** 20}MiB` : String(v.memoryBytes),
          v.workload ?? '',
          v.diskBytes === null ? '' : String(v.diskBytes),
          v.mode ?? '',
          v.running ? (v.name.length % 2 ? 'Running' : '') : 'Off',
          v.host ?? '',
        ]);
        const text = stringify([['name', 'memory', 'workload', 'disk', 'mode', 'state', 'host'], ...rows], { record_delimiter: crlf ? 'windows' : 'unix' });
        const back = csv(text, 'p.csv');
        expect(strip(back)).toEqual(vms);
        expect(back.map((v) => v.origin)).toEqual(vms.map((_, i) => `p.csv row ${i + 2}`));
      }),
      { numRuns: 200 },
    );
  });
});

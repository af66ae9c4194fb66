// A VM's files: a configuration file, one or more virtual disks (VHDX: size, dynamic with an allocated
// fraction, block size), and an optional paging-file disk. `--disk 100GiB` is shorthand for one disk;
// a JSON VM spec (`--vm FILE`) describes several files and where each goes (storage mode).

import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { InputError, UnitError } from '../errors.js';
import { parseFraction, parseSize } from '../units/index.js';

export type FileKind = 'config' | 'vhdx' | 'paging';

export interface VmFile {
  name: string;
  kind: FileKind;
  /** Size of the file as the guest sees it (a disk's virtual size), bytes. */
  size: number;
  /** Dynamic VHDX: only allocated blocks exist and are copied. Fixed: all of it. */
  type: 'fixed' | 'dynamic';
  /** Share of the disk's blocks that are allocated (dynamic disks; 1 for fixed). */
  allocated: number;
  /** VHDX block size, bytes (32 MiB by default, 1-256 MiB). */
  blockSize: number;
  /** Destination endpoint name for this file (storage mode); undefined: the default destination. */
  destination?: string;
}

export interface VmSpec {
  files: VmFile[];
  /** Where the spec came from, for messages. */
  source: string;
}

export const VHDX_DEFAULT_BLOCK = 32 * 2 ** 20;

/** Bytes of the file that exist and must be copied: allocated blocks of a dynamic disk, all of the rest. */
export function copyBytes(f: VmFile): number {
  if (f.type === 'fixed' || f.kind === 'config') return f.size;
  const blocks = Math.ceil(f.size / f.blockSize);
  return Math.min(f.size, Math.ceil(blocks * f.allocated) * f.blockSize);
}

/** Disks the guest writes to (VHDX and paging files). */
export function disks(spec: VmSpec): VmFile[] {
  return spec.files.filter((f) => f.kind !== 'config');
}

export function diskBytes(spec: VmSpec): number {
  return disks(spec).reduce((s, f) => s + f.size, 0);
}

/** The spec `--disk SIZE` stands for: the configuration file and one VHDX. */
export function shorthandSpec(o: { disk: number; allocated: number; configBytes: number; destination?: string }): VmSpec {
  return {
    source: '--disk',
    files: [
      { name: 'vm.vmcx', kind: 'config', size: o.configBytes, type: 'fixed', allocated: 1, blockSize: VHDX_DEFAULT_BLOCK },
      {
        name: 'disk0.vhdx',
        kind: 'vhdx',
        size: o.disk,
        type: o.allocated < 1 ? 'dynamic' : 'fixed',
        allocated: o.allocated,
        blockSize: VHDX_DEFAULT_BLOCK,
        ...(o.destination ? { destination: o.destination } : {}),
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------------
// JSON VM spec, validated with zod; errors name the file and the field path.

const size = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    const n = typeof v === 'number' ? v : parseSize(v);
    if (!(n > 0)) throw new UnitError('a positive size', String(v));
    return n;
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: err instanceof UnitError ? `expected ${err.expected}` : String(err) });
    return z.NEVER;
  }
});
const fraction = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return typeof v === 'number' ? (v >= 0 && v <= 1 ? v : parseFraction(String(v))) : parseFraction(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected a fraction between 0 and 1, such as 0.6 or 60%' });
    return z.NEVER;
  }
});

const fileSchema = z
  .object({
    name: z.string().min(1),
    kind: z.enum(['config', 'vhdx', 'paging']),
    size: size,
    type: z.enum(['fixed', 'dynamic']).optional(),
    allocated: fraction.optional(),
    block_size: size.optional(),
    destination: z.string().min(1).optional(),
  })
  .strict();

const specSchema = z
  .object({
    files: z.array(fileSchema).min(1),
  })
  .strict();

export function parseVmSpec(text: string, source: string): VmSpec {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InputError({ source, expected: 'a JSON VM spec', detail: (err as Error).message });
  }
  const r = specSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
    const got = valueAt(json, issue.path);
    const expected = got === undefined && issue.path.length > 0 ? `${describeField(issue.path)} (the field is missing)` : describeIssue(issue);
    throw new InputError({ source, path: path || '(root)', expected, got });
  }
  const files: VmFile[] = r.data.files.map((f, i) => {
    const blockSize = f.block_size ?? VHDX_DEFAULT_BLOCK;
    if (blockSize < 2 ** 20 || blockSize > 256 * 2 ** 20 || (blockSize & (blockSize - 1)) !== 0) {
      throw new InputError({ source, path: `files[${i}].block_size`, expected: 'a power of two between 1MiB and 256MiB', got: f.block_size });
    }
    const type = f.type ?? (f.allocated !== undefined && f.allocated < 1 ? 'dynamic' : 'fixed');
    if (type === 'fixed' && f.allocated !== undefined && f.allocated < 1) {
      throw new InputError({ source, path: `files[${i}].allocated`, expected: 'no allocated share below 1 for a fixed disk', got: f.allocated });
    }
    return {
      name: f.name,
      kind: f.kind,
      size: f.size,
      type,
      allocated: type === 'fixed' ? 1 : (f.allocated ?? 1),
      blockSize,
      ...(f.destination ? { destination: f.destination } : {}),
    };
  });
  const names = new Set<string>();
  files.forEach((f, i) => {
    if (names.has(f.name)) throw new InputError({ source, path: `files[${i}].name`, expected: 'a name no other file has', got: f.name });
    names.add(f.name);
  });
  if (!files.some((f) => f.kind !== 'config')) throw new InputError({ source, path: 'files', expected: 'at least one vhdx or paging file', got: files.map((f) => f.kind) });
  return { files, source };
}

export function readVmSpec(path: string): VmSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError({ source: '--vm', expected: 'a readable JSON file', got: path, detail: (err as Error).message });
  }
  return parseVmSpec(text, path);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') return `a value of type ${issue.expected}`;
  if (issue.code === 'invalid_value') return `one of ${issue.values.map(String).join(', ')}`;
  if (issue.code === 'unrecognized_keys') return `no unknown field (${issue.keys.join(', ')})`;
  if (issue.code === 'too_small') return 'at least one entry';
  if (issue.code === 'custom') return issue.message.replace(/^expected /, '');
  return `a valid value (${issue.message})`;
}

const FIELD_FORMS: Record<string, string> = {
  name: 'a file name',
  kind: 'one of config, vhdx, paging',
  size: 'a size such as 100GiB',
  files: 'a list of files',
};

function describeField(path: PropertyKey[]): string {
  return FIELD_FORMS[String(path.at(-1))] ?? 'a value';
}

function valueAt(json: unknown, path: PropertyKey[]): unknown {
  let v: unknown = json;
  for (const p of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

// A custom NIC list from a JSON file (`migbench channels --nics FILE`):
//   { "nics": [ { "name": "nic1", "speed": "10Gbit/s", "rss": true, "rdma": false,
//                 "team": "team1", "address": "192.0.2.10" } ] }
// (a bare array of NICs is accepted too). Errors name the file, the field path and the expected form.

import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { InputError, UnitError } from '../errors.js';
import { parseRate } from '../units/index.js';
import type { Nic } from './index.js';

const NicSchema = z.object({
  name: z.string().min(1),
  speed: z.string().min(1),
  rss: z.boolean().default(false),
  rdma: z.boolean().default(false),
  team: z.string().min(1).optional(),
  address: z.string().min(1).optional(),
}).strict();

const FileSchema = z.union([z.object({ nics: z.array(NicSchema).min(1) }).strict(), z.array(NicSchema).min(1)]);

/** Parse NICs from JSON text; `source` names the file in errors. */
export function parseNics(text: string, source: string): Nic[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError({ source, expected: 'JSON: {"nics": [{"name": "nic1", "speed": "10Gbit/s", "rss": true}]}', detail: (e as Error).message });
  }
  const r = FileSchema.safeParse(json);
  if (!r.success) {
    // Report the most specific issue: the union hides the array branch's issues behind the object's.
    const issue = deepestIssue(r.error.issues);
    const path = issue.path.length > 0 ? issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') : undefined;
    throw new InputError({
      source,
      ...(path ? { path } : {}),
      expected: 'a NIC list {"nics": [{"name", "speed" like "10Gbit/s", "rss", "rdma", "team"?, "address"?}]}',
      detail: issue.message,
    });
  }
  const list = Array.isArray(r.data) ? r.data : r.data.nics;
  const seen = new Set<string>();
  return list.map((n, i) => {
    const at = Array.isArray(r.data) ? `[${i}]` : `nics[${i}]`;
    if (seen.has(n.name)) throw new InputError({ source, path: `${at}.name`, expected: 'a unique NIC name', got: n.name });
    seen.add(n.name);
    let lineRate: number;
    try {
      lineRate = parseRate(n.speed);
    } catch (e) {
      if (e instanceof UnitError) throw new InputError({ source, path: `${at}.speed`, expected: e.expected, got: n.speed });
      throw e;
    }
    if (!(lineRate > 0)) throw new InputError({ source, path: `${at}.speed`, expected: 'a positive rate', got: n.speed });
    return { name: n.name, lineRate, rss: n.rss, rdma: n.rdma, ...(n.team ? { team: n.team } : {}), ...(n.address ? { address: n.address } : {}) };
  });
}

export function loadNics(file: string): Nic[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError({ source: '--nics', expected: 'a readable JSON file', got: file, detail: (e as Error).message });
  }
  return parseNics(text, file);
}

interface Issue {
  path: PropertyKey[];
  message: string;
  errors?: Issue[][];
}

function deepestIssue(issues: readonly Issue[]): Issue {
  let best = issues[0]!;
  const visit = (list: readonly Issue[]) => {
    for (const i of list) {
      if (i.path.length > best.path.length) best = i;
      for (const branch of i.errors ?? []) visit(branch.map((b) => ({ ...b, path: [...i.path, ...b.path] })));
    }
  };
  visit(issues);
  return best;
}

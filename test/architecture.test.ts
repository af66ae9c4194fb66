// The layers of src/ (docs/architecture.md): an import may only point down, never up and never sideways
// to another folder of the same level, and no set of files may import each other in a cycle. The order
// is written once, here; the imports are read with TypeScript's own pre-processor (static imports,
// `export ... from` and dynamic `import()`).
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import ts from 'typescript';

/** Top to bottom. A folder of src/ (or a file at its root, without `.ts`) per name; one line per level. */
const LAYERS: readonly (readonly string[])[] = [
  ['index'],
  ['cli'],
  ['report'],
  ['bench'],
  ['evacuation'],
  ['drivers'],
  ['scenario'],
  ['migration', 'transport'],
  ['network', 'guest', 'storage', 'probes', 'sim'],
  ['random'],
  ['result', 'version'],
  ['units'],
  ['errors'],
];

const SRC = 'src';

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function layerOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  return parts.length > 1 ? parts[0]! : parts[0]!.replace(/\.ts$/, '');
}

const levelOf = new Map(LAYERS.flatMap((names, level) => names.map((n) => [n, level] as const)));

/** Every file of src/ and the files of src/ it imports. */
function importGraph(): Map<string, string[]> {
  const files = walk(SRC);
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const info = ts.preProcessFile(readFileSync(f, 'utf8'), true, true);
    const targets = info.importedFiles
      .map((i) => i.fileName)
      .filter((n) => n.startsWith('.'))
      .map((n) => normalize(join(dirname(f), n)).replace(/\.js$/, '.ts'))
      .filter((t) => known.has(t));
    graph.set(f, targets);
  }
  return graph;
}

/** Strongly connected components with more than one file (or a file importing itself). */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const c: string[] = [];
      for (let w = stack.pop()!; ; w = stack.pop()!) {
        on.delete(w);
        c.push(w);
        if (w === v) break;
      }
      if (c.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(c.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

/** Imports that run up the layers or sideways to another folder of the same level. */
function layerViolations(graph: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    const a = layerOf(from);
    for (const to of targets) {
      const b = layerOf(to);
      if (a === b) continue;
      const la = levelOf.get(a);
      const lb = levelOf.get(b);
      if (la === undefined || lb === undefined) out.push(`${from} -> ${to}: ${la === undefined ? a : b} is in no layer`);
      else if (lb <= la) out.push(`${from} (${a}) imports ${to} (${b}): ${lb < la ? 'up the layers' : 'sideways within a level'}`);
    }
  }
  return out;
}

describe('architecture', () => {
  const graph = importGraph();

  it('reads the imports of every file of src/', () => {
    expect(graph.size).toBeGreaterThan(80);
    expect(graph.get(join(SRC, 'drivers', 'sim', 'run.ts'))).toContain(join(SRC, 'migration', 'core.ts'));
  });

  it('every folder of src/ has a layer', () => {
    const folders = new Set([...graph.keys()].map(layerOf));
    expect([...folders].filter((f) => !levelOf.has(f))).toEqual([]);
  });

  it('imports only point down the layers', () => {
    expect(layerViolations(graph)).toEqual([]);
  });

  it('no files import each other in a cycle', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('would catch an import up the layers, sideways, and a cycle', () => {
    const bad = new Map<string, string[]>([
      [join(SRC, 'units', 'index.ts'), [join(SRC, 'cli', 'main.ts')]],
      [join(SRC, 'network', 'index.ts'), [join(SRC, 'guest', 'disk.ts')]],
      [join(SRC, 'cli', 'main.ts'), [join(SRC, 'units', 'index.ts')]],
      [join(SRC, 'guest', 'disk.ts'), []],
    ]);
    expect(layerViolations(bad)).toHaveLength(2);
    expect(cycles(bad)).toEqual([[join(SRC, 'cli', 'main.ts'), join(SRC, 'units', 'index.ts')]]);
  });
});

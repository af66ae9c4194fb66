// meta.json: what produced a report (migbench version, git revision, Node, machine, matrix hash, seed,
// shard, threads) and how the bench went (runs planned and finished, interrupted, wall time).

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpus, hostname, totalmem } from 'node:os';
import type { Matrix } from '../bench/matrix.js';
import type { ExcludeReport, Plan } from '../bench/plan.js';
import { VERSION } from '../version.js';

export interface Machine {
  platform: string;
  arch: string;
  cpu_model: string;
  cpus: number;
  memory_bytes: number;
  hostname: string;
}

export interface BenchMeta {
  migbench_version: string;
  git_revision: string | null;
  git_dirty: boolean | null;
  node_version: string;
  machine: Machine;
  matrix: {
    name: string;
    file: string;
    /** SHA-256 of the validated matrix as canonical JSON (keys sorted): formatting and comments do not count. */
    sha256: string;
    seed: number;
    repeats: number;
    scenarios: number;
    scenarios_total: number;
    excluded: ExcludeReport[];
  };
  shard: string | null;
  threads: number;
  runs_planned: number;
  runs_finished: number;
  interrupted: boolean;
  started_at: string;
  finished_at: string;
  wall_s: number;
  /** Columns of runs.csv that differ between two runs of the same matrix and seed. */
  nondeterministic_columns: string[];
  warnings: string[];
}

export function machineInfo(): Machine {
  const c = cpus();
  return { platform: process.platform, arch: process.arch, cpu_model: c[0]?.model.trim() ?? 'unknown', cpus: c.length, memory_bytes: totalmem(), hostname: hostname() };
}

/** The same machine for wall-time purposes: CPU model and count. */
export const machineFingerprint = (m: Pick<Machine, 'cpu_model' | 'cpus'>): string => `${m.cpus} x ${m.cpu_model}`;

/** Git revision of the package checkout, or null outside a git work tree (or without git). */
export function gitRevision(dir: string): { revision: string | null; dirty: boolean | null } {
  try {
    const opts = { cwd: dir, encoding: 'utf8' as const, stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'], timeout: 5000 };
    const revision = execFileSync('git', ['rev-parse', 'HEAD'], opts).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], opts).trim() !== '';
    return { revision, dirty };
  } catch {
    return { revision: null, dirty: null };
  }
}

/** Canonical JSON: object keys sorted at every level. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export function matrixHash(m: Matrix): string {
  const { $schema: _ignored, ...rest } = m;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

export interface MetaInput {
  plan: Plan;
  matrix: Matrix;
  file: string;
  threads: number;
  runsFinished: number;
  interrupted: boolean;
  startedAt: Date;
  finishedAt: Date;
  wallS: number;
  root: string;
  nondeterministic: readonly string[];
}

export function benchMeta(i: MetaInput): BenchMeta {
  const git = gitRevision(i.root);
  return {
    migbench_version: VERSION,
    git_revision: git.revision,
    git_dirty: git.dirty,
    node_version: process.version,
    machine: machineInfo(),
    matrix: {
      name: i.plan.name,
      file: i.file,
      sha256: matrixHash(i.matrix),
      seed: i.plan.seed,
      repeats: i.plan.repeats,
      scenarios: i.plan.scenarios.length,
      scenarios_total: i.plan.totalScenarios,
      excluded: i.plan.excluded,
    },
    shard: i.plan.shard ? `${i.plan.shard.index}/${i.plan.shard.count}` : null,
    threads: i.threads,
    runs_planned: i.plan.runs.length,
    runs_finished: i.runsFinished,
    interrupted: i.interrupted,
    started_at: i.startedAt.toISOString(),
    finished_at: i.finishedAt.toISOString(),
    wall_s: Math.round(i.wallS * 1000) / 1000,
    nondeterministic_columns: [...i.nondeterministic],
    warnings: i.plan.warnings,
  };
}

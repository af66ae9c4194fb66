// `npm run bench:real`: a small matrix of real migrations on loopback (workloads x channel counts x link
// rates), each beside the simulator's prediction for the same scenario, made before the run from one
// calibration profile (`--profile FILE`, or a calibration of every link at the start). The
// runs are planned like a matrix bench (scenario keys, run ids, seeds) so the report folder has the same
// runs.csv / rounds.csv / summary.csv / report.html / meta.json, plus sim-runs.csv (the predictions, same
// columns) and comparison.csv (measured against predicted, side by side).

import { deriveSeed } from '../random/index.js';
import type { MigrationResult } from '../result.js';
import type { ScenarioInput } from '../scenario.js';
import type { Prediction } from '../drivers/real/predict.js';
import type { RealRun } from '../drivers/real/options.js';
import type { LinkSpec } from '../drivers/real/profile.js';
import { formatBytes } from '../units/index.js';
import type { Matrix } from './matrix.js';
import type { Plan, PlannedRun, PlannedScenario } from './plan.js';
import type { BenchRun } from './runner.js';
import type { Row } from './columns.js';

export interface RealMatrix {
  memory: number;
  workloads: string[];
  channels: number[];
  /** Link payload rates in bytes/s; null: unlimited. */
  rates: (number | null)[];
  repeats: number;
  seed: number;
  /** What the guests cross, the first part of each run's network label (default `loopback`). */
  link?: string;
  /** A sentence for meta.json (default: loopback). */
  description?: string;
}

export interface RealPlanned extends PlannedRun {
  channels: number;
  rate: number | null;
}

export const rateLabel = (rate: number | null): string => (rate === null ? '' : `-${Number(((rate * 8) / 1e9).toPrecision(3))}gbit`);

/** The runs of a real matrix, repeat by repeat (like the matrix bench's execution order). */
export function planReal(m: RealMatrix, name = 'real'): { plan: Plan; runs: RealPlanned[]; matrix: Matrix } {
  const vm = formatBytes(m.memory).replace(' ', '');
  const scenarios: (PlannedScenario & { channels: number; rate: number | null })[] = [];
  for (const workload of m.workloads) {
    for (const channels of m.channels) {
      for (const rate of m.rates) {
        const network = `${m.link ?? 'loopback'}-${channels}ch${rateLabel(rate)}`;
        const labels = { mode: 'cluster', network, transport: 'smb', workload, vm, policy: 'hyperv' };
        const key = [labels.mode, labels.network, labels.transport, labels.workload, labels.vm, labels.policy].join('/');
        const input: ScenarioInput = { memory: String(m.memory), workload };
        scenarios.push({ index: scenarios.length, key, labels, input, channels, rate });
      }
    }
  }
  const runs: RealPlanned[] = [];
  for (let repeat = 0; repeat < m.repeats; repeat++) {
    for (const s of scenarios) {
      runs.push({ index: s.index * m.repeats + repeat, scenario: s, repeat, runId: `${s.key}#${repeat}`, seed: deriveSeed(m.seed, 'bench-real', s.key, repeat), channels: s.channels, rate: s.rate });
    }
  }
  const plan: Plan = { name, source: 'bench/real.ts', seed: m.seed, repeats: m.repeats, shard: null, scenarios, runs, totalScenarios: scenarios.length, excluded: [], warnings: [] };
  // The matrix as the report's meta.json records it (its hash identifies the matrix).
  const matrix = {
    description: m.description ?? 'real migrations on loopback (npm run bench:real)',
    seed: m.seed,
    repeats: m.repeats,
    axes: { modes: ['cluster'], networks: [...new Set(scenarios.map((s) => s.labels.network))], transports: ['smb'], workloads: m.workloads, vms: [vm], policies: ['hyperv'] },
    set: {},
    exclude: [],
  } as unknown as Matrix;
  return { plan, runs, matrix };
}

export const COMPARISON_COLUMNS = [
  'run_id',
  'scenario',
  'workload',
  'memory_bytes',
  'channels',
  'rate_limit_bps',
  'link_goodput_bps',
  'page_path_goodput_bps',
  'zero_scan_bps',
  'run_cost_s',
  'control_rtt_s',
  'round0_goodput_bps',
  'sim_setup_time_s',
  'sim_handoff_time_s',
  'sim_resume_time_s',
  'sim_cleanup_time_s',
  'measured_total_time_s',
  'predicted_total_time_s',
  'total_time_ratio',
  'measured_downtime_ms',
  'predicted_downtime_ms',
  'downtime_ratio',
  'predicted_total_time_r0_s',
  'total_time_ratio_r0',
  'measured_precopy_rounds',
  'predicted_precopy_rounds',
  'total_vs_goodput_bound',
  'verified',
  'prediction_from',
  'profile',
  'profile_created_at',
  'sim_link_rate_bps',
  'sim_rtt_s',
] as const;

/** One comparison.csv row: the real run beside its prediction (ratios are measured / predicted). */
export function comparisonRow(p: RealPlanned, run: RealRun, pred: Prediction | null): Row {
  const r = run.result;
  const m = run.measured;
  return {
    run_id: p.runId,
    scenario: p.scenario.key,
    workload: r.workload,
    memory_bytes: r.memory_bytes,
    channels: p.channels,
    rate_limit_bps: p.rate === null ? null : p.rate * 8,
    link_goodput_bps: m.link_goodput_bps === null ? null : m.link_goodput_bps * 8,
    page_path_goodput_bps: m.page_path_goodput_bps === null ? null : m.page_path_goodput_bps * 8,
    zero_scan_bps: m.zero_scan_bps === null ? null : m.zero_scan_bps * 8,
    run_cost_s: m.run_cost_s,
    control_rtt_s: m.control_rtt_s,
    round0_goodput_bps: m.round0_goodput_bps === null ? null : m.round0_goodput_bps * 8,
    sim_setup_time_s: pred?.inputs.setup_time_s ?? null,
    sim_handoff_time_s: pred?.inputs.handoff_time_s ?? null,
    sim_resume_time_s: pred?.inputs.resume_time_s ?? null,
    sim_cleanup_time_s: pred?.inputs.cleanup_time_s ?? null,
    measured_total_time_s: r.total_time_s,
    predicted_total_time_s: pred?.sim.total_time_s ?? null,
    total_time_ratio: pred ? pred.ratio.total_time : null,
    measured_downtime_ms: r.downtime_ms,
    predicted_downtime_ms: pred?.sim.downtime_ms ?? null,
    downtime_ratio: pred?.ratio.downtime ?? null,
    predicted_total_time_r0_s: pred?.post_hoc.with_round0_rate?.total_time_s ?? null,
    total_time_ratio_r0: pred?.post_hoc.with_round0_rate?.total_time_ratio ?? null,
    measured_precopy_rounds: r.precopy_rounds,
    predicted_precopy_rounds: pred?.sim.precopy_rounds ?? null,
    total_vs_goodput_bound: m.link_goodput_bps ? r.total_time_s / (r.memory_bytes / m.link_goodput_bps) : null,
    verified: r.verified ?? null,
    prediction_from: pred?.inputs.from ?? null,
    profile: pred?.inputs.profile ?? null,
    profile_created_at: pred?.inputs.profile_created_at ?? null,
    sim_link_rate_bps: pred ? pred.inputs.link_rate_bps * 8 : null,
    sim_rtt_s: pred?.inputs.rtt_s ?? null,
  };
}

/** The links (channels, rate limit) a plan's runs use, each once, in the plan's order: what its profile must calibrate. */
export function planLinks(runs: readonly RealPlanned[]): LinkSpec[] {
  const out: LinkSpec[] = [];
  for (const r of runs) if (!out.some((l) => l.channels === r.channels && l.rate === r.rate)) out.push({ channels: r.channels, rate: r.rate });
  return out;
}

/** The sim record of a prediction as a bench run (sim-runs.csv), keyed like the real run. */
export function simBenchRun(p: RealPlanned, sim: MigrationResult): BenchRun {
  return { planned: p, result: sim, wallMs: 0 };
}

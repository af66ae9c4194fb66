// A scenario: everything one migration run depends on. `ScenarioInput` is the flat, user-facing form
// (CLI flags, matrix entries: strings such as "8GiB" or numbers); `resolveScenario` validates it into a
// `Scenario` with bytes, seconds and model objects. One table (OPTIONS) defines every option's key,
// flag, accepted form and default, so the CLI, matrix files and docs never disagree.

import { InputError, UnitError } from './errors.js';
import { resolveWorkload, type Extent, type WorkloadSpec } from './guest/workload.js';
import { getNetwork, withOverrides, type Network } from './network/index.js';
import { POLICY_DEFAULTS, type PolicyConfig } from './migration/policy.js';
import type { NoConvergeAction } from './migration/precopy.js';
import { MODES, POLICIES, TRANSPORTS, type Mode, type PolicyName, type TransportName } from './result.js';
import { COMPRESSION_DEFAULTS, type CompressionParams } from './transport/model.js';
import { PAGE_SIZE, parseDuration, parseFraction, parseRate, parseSize } from './units/index.js';

export interface Timing {
  /** Creating the empty VM on the destination after its configuration arrived, seconds. */
  setupTime: number;
  /** VM configuration sent in the setup phase, bytes. */
  configBytes: number;
  /** CPU and device state sent in the blackout, bytes. */
  stateBytes: number;
  /** Starting the VM on the destination once everything arrived, seconds. */
  resumeTime: number;
  /** Unsolicited ARP announcement and switch relearning after the resume, seconds. */
  switchover: number;
  /** Removing the VM from the source after the move, seconds. */
  cleanupTime: number;
}

export interface Probes {
  pingInterval: number;
  tcpTimeout: number;
  tcpRtoMin: number;
}

export interface Scenario {
  mode: Mode;
  network: Network;
  transport: TransportName;
  compression: CompressionParams;
  workload: WorkloadSpec;
  memoryBytes: number;
  policy: PolicyConfig;
  onNoConverge: NoConvergeAction;
  seed: number;
  timing: Timing;
  probes: Probes;
}

export type ScenarioInput = Partial<Record<OptionKey, string | number | boolean>>;

type Parser = (v: string) => unknown;

interface OptionDef {
  flag: string;
  /** Accepted form, for --help and error messages. */
  form: string;
  help: string;
  default?: string;
  parse: Parser;
  boolean?: boolean;
}

const oneOf =
  (values: readonly string[]): Parser =>
  (v) => {
    if (!values.includes(v)) throw new UnitError(`one of ${values.join(', ')}`, v);
    return v;
  };
const positiveInt: Parser = (v) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UnitError('a whole number >= 1', v);
  return n;
};
const seedInt: Parser = (v) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 32 - 1) throw new UnitError('a whole number between 0 and 4294967295', v);
  return n;
};
const positive =
  (p: Parser, what: string): Parser =>
  (v) => {
    const n = p(v) as number;
    if (!(n > 0)) throw new UnitError(what, v);
    return n;
  };
const nonNegative =
  (p: Parser, what: string): Parser =>
  (v) => {
    const n = p(v) as number;
    if (!(n >= 0)) throw new UnitError(what, v);
    return n;
  };
const extent: Parser = (v) => (v.trim().endsWith('%') ? { fraction: parseFraction(v) } : { bytes: positive(parseSize, 'a positive size such as 2GiB, or a share of memory such as 25%')(v) });
const ratio: Parser = (v) => {
  const n = Number(v);
  if (!(n > 0 && n <= 1)) throw new UnitError('a ratio in (0, 1], such as 0.5', v);
  return n;
};

export const OPTIONS = {
  mode: { flag: '--mode', form: MODES.join('|'), help: 'migration mode', default: 'cluster', parse: oneOf(MODES) },
  memory: { flag: '--memory', form: 'SIZE', help: 'guest memory', default: '8GiB', parse: positive(parseSize, 'a positive size such as 8GiB') },
  workload: { flag: '--workload', form: 'NAME', help: 'workload preset: idle, web, oltp, vdi, churn, or custom', default: 'web', parse: (v) => v },
  network: { flag: '--network', form: 'NAME', help: 'network profile: 1g, 2x1g, 2x1g-team, 10g, 2x10g, 10g-rdma, 2x10g-rdma', default: '10g', parse: (v) => v },
  transport: { flag: '--transport', form: TRANSPORTS.join('|'), help: "live-migration performance option (Hyper-V's default is compression)", default: 'compression', parse: oneOf(TRANSPORTS) },
  policy: { flag: '--policy', form: POLICIES.join('|'), help: 'pre-copy stop policy', default: 'hyperv', parse: oneOf(POLICIES) },
  seed: { flag: '--seed', form: 'N', help: 'seed of every random stream of the run', default: '1', parse: seedInt },
  maxPasses: { flag: '--max-passes', form: 'N', help: 'hyperv: maximum pre-copy passes', default: String(POLICY_DEFAULTS.maxPasses), parse: positiveInt },
  downtimeLimit: { flag: '--downtime-limit', form: 'DURATION', help: 'switch over when the rest can be sent within this time', default: '300ms', parse: positive(parseDuration, 'a positive duration such as 300ms') },
  autoConverge: { flag: '--auto-converge', form: '', help: "qemu: QEMU's auto-converge CPU throttling", boolean: true, parse: (v) => v === 'true' },
  onNoConverge: { flag: '--on-no-converge', form: 'force|throttle|abort', help: 'when pre-copy does not converge', default: 'force', parse: oneOf(['force', 'throttle', 'abort']) },
  mtu: { flag: '--mtu', form: 'BYTES', help: 'Ethernet MTU (9000 for jumbo frames)', default: '1500', parse: positiveInt },
  rtt: { flag: '--rtt', form: 'DURATION', help: "override the network's TCP round trip", parse: nonNegative(parseDuration, 'a duration such as 150us') },
  streamCap: { flag: '--stream-cap', form: 'RATE', help: 'throughput of one TCP stream (one core)', default: '4Gbit/s', parse: positive(parseRate, 'a positive rate such as 4Gbit/s') },
  dirtyRate: { flag: '--dirty-rate', form: 'RATE', help: 'page writes per second (25000pages/s, or bytes: 100MB/s)', parse: nonNegative(parseRate, 'a non-negative rate such as 25000pages/s or 100MB/s') },
  workingSet: { flag: '--working-set', form: 'SIZE|PCT', help: 'region the workload writes (2GiB, or 25% of memory)', parse: extent },
  hotFraction: { flag: '--hot-fraction', form: 'FRACTION', help: 'share of the working set that is hot (0: uniform)', parse: parseFraction },
  hotShare: { flag: '--hot-share', form: 'FRACTION', help: 'share of writes that hit the hot part', parse: parseFraction },
  zeroFraction: { flag: '--zero-fraction', form: 'FRACTION', help: 'share of memory that is zero at the start', parse: parseFraction },
  compressionRatio: { flag: '--compression-ratio', form: 'RATIO', help: 'compressed/original size of non-zero pages', default: String(COMPRESSION_DEFAULTS.ratio), parse: ratio },
  compressionRate: { flag: '--compression-rate', form: 'RATE', help: 'input rate one core compresses', default: '200MB/s', parse: positive(parseRate, 'a positive rate such as 200MB/s') },
  compressionCores: { flag: '--compression-cores', form: 'N', help: 'cores used for compression', default: String(COMPRESSION_DEFAULTS.cores), parse: positiveInt },
  stateSize: { flag: '--state-size', form: 'SIZE', help: 'CPU and device state sent in the blackout', default: '1MiB', parse: nonNegative(parseSize, 'a size such as 1MiB') },
  configSize: { flag: '--config-size', form: 'SIZE', help: 'VM configuration sent in the setup phase', default: '64KiB', parse: nonNegative(parseSize, 'a size such as 64KiB') },
  setupTime: { flag: '--setup-time', form: 'DURATION', help: 'creating the empty VM on the destination', default: '1.5s', parse: nonNegative(parseDuration, 'a duration such as 1s') },
  resumeTime: { flag: '--resume-time', form: 'DURATION', help: 'restoring device state and starting the VM on the destination', default: '20ms', parse: nonNegative(parseDuration, 'a duration such as 10ms') },
  switchover: { flag: '--switchover', form: 'DURATION', help: 'ARP announcement and switch relearning after the resume', default: '1ms', parse: nonNegative(parseDuration, 'a duration such as 20ms') },
  cleanupTime: { flag: '--cleanup-time', form: 'DURATION', help: 'removing the VM from the source', default: '500ms', parse: nonNegative(parseDuration, 'a duration such as 500ms') },
  pingInterval: { flag: '--ping-interval', form: 'DURATION', help: 'interval of the ping probe', default: '1s', parse: positive(parseDuration, 'a positive duration such as 1s') },
  tcpTimeout: { flag: '--tcp-timeout', form: 'DURATION', help: 'a TCP session is dropped when it stalls longer', default: '20s', parse: positive(parseDuration, 'a positive duration such as 20s') },
  tcpRtoMin: { flag: '--tcp-rto-min', form: 'DURATION', help: 'minimum TCP retransmission timeout', default: '200ms', parse: positive(parseDuration, 'a positive duration such as 200ms') },
} satisfies Record<string, OptionDef>;

export type OptionKey = keyof typeof OPTIONS;
export const OPTION_KEYS = Object.keys(OPTIONS) as OptionKey[];

/** Where a bad value came from: a flag name by default, or a file and field path for matrix files. */
export type Naming = (key: OptionKey) => { source: string; path?: string };
export const flagNaming: Naming = (key) => ({ source: OPTIONS[key].flag });

function value<T>(input: ScenarioInput, key: OptionKey, naming: Naming): T | undefined {
  const def: OptionDef = OPTIONS[key];
  const raw = input[key] ?? def.default;
  if (raw === undefined) return undefined;
  if (def.boolean) {
    if (typeof raw === 'boolean') return raw as T;
    if (raw === 'true' || raw === 'false') return (raw === 'true') as T;
    throw new InputError({ ...naming(key), expected: 'true or false', got: raw });
  }
  try {
    return def.parse(String(raw)) as T;
  } catch (err) {
    if (err instanceof UnitError) throw new InputError({ ...naming(key), expected: err.expected, got: raw });
    throw err;
  }
}

/** Validate and resolve a scenario. Throws InputError naming the flag (or file field) at fault. */
export function resolveScenario(input: ScenarioInput, naming: Naming = flagNaming): Scenario {
  for (const k of Object.keys(input)) {
    if (!(k in OPTIONS)) throw new InputError({ ...naming(k as OptionKey), expected: `a known option (${OPTION_KEYS.join(', ')})`, got: k });
  }
  const v = <T>(key: OptionKey): T => value<T>(input, key, naming) as T;
  // Errors from the model lookups name a flag; map that flag to the caller's naming (a flag, or a matrix
  // file field), falling back to `key`.
  const rename = <T>(key: OptionKey, f: () => T): T => {
    try {
      return f();
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      const owner = OPTION_KEYS.find((k) => OPTIONS[k].flag === err.source) ?? key;
      throw new InputError({ ...naming(owner), expected: err.expected, got: err.got });
    }
  };
  const memoryBytes = v<number>('memory');
  // Parse every value before the lookups below, so an error names the flag that holds the bad value.
  const overrides = { mtu: v<number>('mtu'), rtt: v<number | undefined>('rtt'), streamCap: v<number>('streamCap') };
  const networkName = v<string>('network');
  const network = rename('network', () => withOverrides(getNetwork(networkName), overrides));
  const dirtyRate = v<number | undefined>('dirtyRate');
  const workloadOverrides = {
    dirtyRate: dirtyRate === undefined ? undefined : dirtyRate / PAGE_SIZE,
    workingSet: v<Extent | undefined>('workingSet'),
    hotFraction: v<number | undefined>('hotFraction'),
    hotShare: v<number | undefined>('hotShare'),
    zeroFraction: v<number | undefined>('zeroFraction'),
  };
  const workloadName = v<string>('workload');
  const workload = rename('workload', () => resolveWorkload(workloadName, workloadOverrides));
  if ('bytes' in workload.workingSet && workload.workingSet.bytes > memoryBytes) {
    throw new InputError({ ...naming('workingSet'), expected: `a working set no larger than the memory (${memoryBytes} bytes)`, got: input.workingSet });
  }
  const policyName = v<PolicyName>('policy');
  const scenario: Scenario = {
    mode: v<Mode>('mode'),
    network,
    transport: v<TransportName>('transport'),
    compression: { ratio: v<number>('compressionRatio'), ratePerCore: v<number>('compressionRate'), cores: v<number>('compressionCores') },
    workload,
    memoryBytes,
    policy: {
      ...POLICY_DEFAULTS,
      name: policyName,
      maxPasses: v<number>('maxPasses'),
      downtimeLimit: v<number>('downtimeLimit'),
      autoConverge: v<boolean | undefined>('autoConverge') ?? false,
    },
    onNoConverge: v<NoConvergeAction>('onNoConverge'),
    seed: v<number>('seed'),
    timing: {
      setupTime: v<number>('setupTime'),
      configBytes: v<number>('configSize'),
      stateBytes: v<number>('stateSize'),
      resumeTime: v<number>('resumeTime'),
      switchover: v<number>('switchover'),
      cleanupTime: v<number>('cleanupTime'),
    },
    probes: { pingInterval: v<number>('pingInterval'), tcpTimeout: v<number>('tcpTimeout'), tcpRtoMin: v<number>('tcpRtoMin') },
  };
  if (scenario.mode !== 'cluster') {
    throw new InputError({ ...naming('mode'), expected: 'cluster (the only mode the simulator models so far)', got: scenario.mode });
  }
  return scenario;
}

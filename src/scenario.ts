// A scenario: everything one migration run depends on. `ScenarioInput` is the flat, user-facing form
// (CLI flags, matrix entries: strings such as "8GiB" or numbers); `resolveScenario` validates it into a
// `Scenario` with bytes, seconds and model objects. One table (OPTIONS) defines every option's key,
// flag, accepted form and default, so the CLI, matrix files and docs never disagree.

import { InputError, UnitError } from './errors.js';
import { readVmSpec, shorthandSpec, type VmSpec } from './guest/files.js';
import { resolveWorkload, type Extent, type WorkloadSpec } from './guest/workload.js';
import { parseFault, type FaultSpec } from './migration/faults.js';
import { getEndpoint, type StorageEndpoint } from './storage/endpoints.js';
import { getNetwork, measuredLink, NETWORK_DEFAULTS, NETWORK_NAMES, withOverrides, type Network } from './network/index.js';
import { parseNicSpec } from './network/nic-spec.js';
import { POLICY_DEFAULTS, type PolicyConfig } from './migration/policy.js';
import type { NoConvergeAction } from './migration/precopy.js';
import { MODES, POLICIES, TRANSPORTS, type Mode, type PolicyName, type TransportName } from './result.js';
import { COMPRESSION_DEFAULTS, ZERO_PAGE_MODES, type CompressionParams, type ZeroPages } from './transport/model.js';
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
  /** Removing the VM (and, when they moved, its files) from the source after the move, seconds. */
  cleanupTime: number;
  /** Storage handoff inside the blackout (ownership, file handles, or the IO switch), seconds. */
  handoffTime: number;
  /** Cluster mode: updating the cluster's VM resource after the move, seconds (outside the downtime). */
  clusterUpdateTime: number;
  /** How long a lost link, channel or peer takes to notice, seconds. */
  detectTime: number;
  /** A transfer that makes no progress for this long fails, seconds. */
  transferTimeout: number;
  /** A crashed destination restarts and deletes what the migration left after this long, seconds. */
  destRestartTime: number;
  /** How long a `stall` fault stops the transfer, seconds. */
  stallTime: number;
}

export interface StorageSetup {
  /** Where the VM's files are (cluster: the CSV; smb-share: the file server; otherwise the source's disks). */
  source: StorageEndpoint;
  /** Where a shared-nothing or storage move puts them (default for files without their own destination). */
  dest: StorageEndpoint;
  /** smb-share: the guest's storage IO and the migration share the same NICs. */
  converged: boolean;
  /** The copy keeps at least this share of each device's time. */
  copyMinShare: number;
  /** Regions copied per segment (the copy's window in flight). */
  segmentBytes: number;
}

export interface Probes {
  pingInterval: number;
  tcpTimeout: number;
  tcpRtoMin: number;
}

/** The hosts' CPU: cores, and the share the VMs already use (compression runs on the rest). */
export interface HostCpu {
  cores: number;
  load: number;
}

export interface Scenario {
  mode: Mode;
  network: Network;
  transport: TransportName;
  compression: CompressionParams;
  /** Zero pages sent whole (Hyper-V's TCP and SMB) or skipped with a marker (QEMU). */
  zeroPages: ZeroPages;
  host: HostCpu;
  /** Bytes/s of zero memory the source reads to find zero pages (null: detection is free). */
  zeroScanRate: number | null;
  /** Seconds of the sending thread per run of consecutive pages (0: free). */
  runCost: number;
  workload: WorkloadSpec;
  memoryBytes: number;
  policy: PolicyConfig;
  onNoConverge: NoConvergeAction;
  seed: number;
  timing: Timing;
  probes: Probes;
  vm: VmSpec;
  storage: StorageSetup;
  faults: FaultSpec[];
}

export type ScenarioInput = Partial<Record<OptionKey, string | number | boolean | string[]>>;

type Parser = (v: string) => unknown;

interface OptionDef {
  flag: string;
  /** Accepted form, for --help and error messages. */
  form: string;
  help: string;
  default?: string;
  parse: Parser;
  boolean?: boolean;
  /** May be given several times (collected into a list). */
  repeatable?: boolean;
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
/** Ethernet MTUs: 576 (the smallest IPv4 datagram every host takes) to 9216 (the largest jumbo frame NICs offer). */
const mtuInt: Parser = (v) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 576 || n > 9216) throw new UnitError('an Ethernet MTU of at least 576 and at most 9216 bytes (9000 for jumbo frames)', v);
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
const nonNegativeNumber: Parser = (v) => {
  const n = Number(v);
  if (v.trim() === '' || !(n >= 0) || !Number.isFinite(n)) throw new UnitError('a non-negative number', v);
  return n;
};
const extent: Parser = (v) => (v.trim().endsWith('%') ? { fraction: parseFraction(v) } : { bytes: positive(parseSize, 'a positive size such as 2GiB, or a share of memory such as 25%')(v) });
const ratio: Parser = (v) => {
  const n = Number(v);
  if (!(n > 0 && n <= 1)) throw new UnitError('a ratio in (0, 1], such as 0.5', v);
  return n;
};

/** Largest guest memory a scenario may have (the simulator keeps state per 4 KiB page). */
export const MAX_GUEST_MEMORY = 4 * 2 ** 40;

export const OPTIONS = {
  mode: { flag: '--mode', form: MODES.join('|'), help: 'migration mode', default: 'cluster', parse: oneOf(MODES) },
  memory: { flag: '--memory', form: 'SIZE', help: 'guest memory', default: '8GiB', parse: positive(parseSize, 'a positive size such as 8GiB') },
  workload: { flag: '--workload', form: 'NAME', help: 'workload preset: idle, web, oltp, vdi, churn, or custom', default: 'web', parse: (v) => v },
  network: { flag: '--network', form: 'NAME', help: `network profile: ${NETWORK_NAMES.join(', ')}`, default: '10g', parse: (v) => v },
  transport: { flag: '--transport', form: TRANSPORTS.join('|'), help: "live-migration performance option (Hyper-V's default is compression)", default: 'compression', parse: oneOf(TRANSPORTS) },
  policy: { flag: '--policy', form: POLICIES.join('|'), help: 'pre-copy stop policy', default: 'hyperv', parse: oneOf(POLICIES) },
  seed: { flag: '--seed', form: 'N', help: 'seed of every random stream of the run', default: '1', parse: seedInt },
  maxPasses: { flag: '--max-passes', form: 'N', help: 'hyperv: maximum pre-copy passes', default: String(POLICY_DEFAULTS.maxPasses), parse: positiveInt },
  downtimeLimit: { flag: '--downtime-limit', form: 'DURATION', help: 'switch over when the rest can be sent within this time', default: `${POLICY_DEFAULTS.downtimeLimit * 1000}ms`, parse: positive(parseDuration, 'a positive duration such as 300ms') },
  autoConverge: { flag: '--auto-converge', form: '', help: "qemu: QEMU's auto-converge CPU throttling", boolean: true, parse: (v) => v === 'true' },
  onNoConverge: { flag: '--on-no-converge', form: 'force|throttle|abort', help: 'when pre-copy does not converge', default: 'force', parse: oneOf(['force', 'throttle', 'abort']) },
  mtu: { flag: '--mtu', form: 'BYTES', help: 'Ethernet MTU (9000 for jumbo frames)', default: String(NETWORK_DEFAULTS.mtu), parse: mtuInt },
  rtt: { flag: '--rtt', form: 'DURATION', help: "override the network's TCP round trip", parse: nonNegative(parseDuration, 'a duration such as 150us') },
  streamCap: { flag: '--stream-cap', form: 'RATE', help: 'throughput of one TCP stream (one core)', default: `${(NETWORK_DEFAULTS.streamCap * 8) / 1e9}Gbit/s`, parse: positive(parseRate, 'a positive rate such as 4Gbit/s') },
  linkRate: {
    flag: '--link-rate',
    form: 'RATE',
    help: 'replace the network with one link of this payload rate (replays a measured link; --network is then ignored, and the link has no per-stream cap unless --stream-cap is given)',
    parse: positive(parseRate, 'a positive rate such as 9.2Gbit/s'),
  },
  nics: {
    flag: '--nics',
    form: 'SPEC',
    help: 'replace the network with these NICs: comma-separated groups [Nx]SPEED[-rdma][-team][-norss], e.g. 2x25g-rdma,1g or 4x10g-team (--network is then ignored)',
    parse: (v) => v,
  },
  zeroScanRate: {
    flag: '--zero-scan-rate',
    form: 'RATE',
    help: 'zero memory the source reads per second to find zero pages (unset: detection is free)',
    parse: positive(parseRate, 'a positive rate such as 9GB/s'),
  },
  runCost: {
    flag: '--run-cost',
    form: 'DURATION',
    help: 'sending-thread time per run of consecutive pages (gather, frame, place; unset: free)',
    default: '0s',
    parse: nonNegative(parseDuration, 'a duration such as 5us'),
  },
  dirtyRate: { flag: '--dirty-rate', form: 'RATE', help: 'page writes per second (25000pages/s, or bytes: 100MB/s)', parse: nonNegative(parseRate, 'a non-negative rate such as 25000pages/s or 100MB/s') },
  workingSet: { flag: '--working-set', form: 'SIZE|PCT', help: 'region the workload writes (2GiB, or 25% of memory)', parse: extent },
  hotFraction: { flag: '--hot-fraction', form: 'FRACTION', help: 'share of the working set that is hot (0: uniform)', parse: parseFraction },
  hotShare: { flag: '--hot-share', form: 'FRACTION', help: 'share of writes that hit the hot part', parse: parseFraction },
  zeroFraction: { flag: '--zero-fraction', form: 'FRACTION', help: 'share of memory that is zero at the start', parse: parseFraction },
  compressionRatio: { flag: '--compression-ratio', form: 'RATIO', help: "compressed/original size of non-zero pages (default: the workload's)", parse: ratio },
  compressionRate: { flag: '--compression-rate', form: 'RATE', help: 'input rate one core compresses', default: `${COMPRESSION_DEFAULTS.ratePerCore / 1e6}MB/s`, parse: positive(parseRate, 'a positive rate such as 110MB/s') },
  compressionCores: { flag: '--compression-cores', form: 'N', help: "at most this many cores compress (default: every idle core of the host)", parse: positiveInt },
  zeroPages: { flag: '--zero-pages', form: 'send|skip', help: 'zero pages sent whole (Hyper-V) or skipped with a 9-byte marker (QEMU) (default: send for hyperv and xen, skip for qemu)', parse: oneOf(ZERO_PAGE_MODES) },
  hostCores: { flag: '--host-cores', form: 'N', help: 'cores of each host (a 2012-era 2 x 8-core Hyper-V host)', default: '16', parse: positiveInt },
  hostLoad: { flag: '--host-load', form: 'PCT', help: "share of the hosts' CPU the VMs already use (compression runs on the rest)", default: '30%', parse: parseFraction },
  stateSize: { flag: '--state-size', form: 'SIZE', help: 'CPU and device state sent in the blackout', default: '1MiB', parse: nonNegative(parseSize, 'a size such as 1MiB') },
  configSize: { flag: '--config-size', form: 'SIZE', help: 'VM configuration sent in the setup phase', default: '64KiB', parse: nonNegative(parseSize, 'a size such as 64KiB') },
  setupTime: { flag: '--setup-time', form: 'DURATION', help: 'creating the empty VM on the destination', default: '1.5s', parse: nonNegative(parseDuration, 'a duration such as 1s') },
  resumeTime: { flag: '--resume-time', form: 'DURATION', help: 'restoring device state and starting the VM on the destination', default: '20ms', parse: nonNegative(parseDuration, 'a duration such as 10ms') },
  switchover: { flag: '--switchover', form: 'DURATION', help: 'ARP announcement and switch relearning after the resume', default: '1ms', parse: nonNegative(parseDuration, 'a duration such as 20ms') },
  cleanupTime: { flag: '--cleanup-time', form: 'DURATION', help: 'removing the VM from the source', default: '500ms', parse: nonNegative(parseDuration, 'a duration such as 500ms') },
  pingInterval: { flag: '--ping-interval', form: 'DURATION', help: 'interval of the ping probe', default: '1s', parse: positive(parseDuration, 'a positive duration such as 1s') },
  tcpTimeout: { flag: '--tcp-timeout', form: 'DURATION', help: 'a TCP session is dropped when it stalls longer', default: '20s', parse: positive(parseDuration, 'a positive duration such as 20s') },
  tcpRtoMin: { flag: '--tcp-rto-min', form: 'DURATION', help: 'minimum TCP retransmission timeout', default: '200ms', parse: positive(parseDuration, 'a positive duration such as 200ms') },
  disk: { flag: '--disk', form: 'SIZE', help: 'one virtual disk of this size (shorthand for a VM spec)', default: '100GiB', parse: positive(parseSize, 'a positive size such as 100GiB') },
  diskAllocated: { flag: '--disk-allocated', form: 'FRACTION', help: 'allocated share of a dynamic --disk (1: fixed)', default: '1', parse: parseFraction },
  vm: { flag: '--vm', form: 'FILE', help: 'JSON VM spec: several disks, a paging file, per-file destinations (overrides --disk)', parse: (v) => v },
  sourceStorage: { flag: '--source-storage', form: 'NAME', help: 'where the files are: hdd, ssd, san, smb (default: san for cluster, smb for smb-share, ssd otherwise)', parse: (v) => v },
  destStorage: { flag: '--dest-storage', form: 'NAME', help: 'where a shared-nothing or storage move puts the files: hdd, ssd, san, smb', default: 'ssd', parse: (v) => v },
  converged: { flag: '--converged', form: '', help: "smb-share: the guest's storage IO shares the migration's NICs", boolean: true, parse: (v) => v === 'true' },
  copyMinShare: { flag: '--copy-min-share', form: 'FRACTION', help: "share of each device's time the storage copy keeps against guest IO", default: '0.2', parse: parseFraction },
  storageSegment: { flag: '--storage-segment', form: 'SIZE', help: 'storage copy window in flight (16 x 1 MiB, as QEMU)', default: '16MiB', parse: positive(parseSize, 'a positive size such as 16MiB') },
  writeIops: { flag: '--write-iops', form: 'N', help: 'guest storage writes per second', parse: nonNegativeNumber },
  readIops: { flag: '--read-iops', form: 'N', help: 'guest storage reads per second', parse: nonNegativeNumber },
  ioSize: { flag: '--io-size', form: 'SIZE', help: 'guest storage IO size', parse: positive(parseSize, 'a positive size such as 8KiB') },
  ioHotFraction: { flag: '--io-hot-fraction', form: 'FRACTION', help: 'share of the disks that takes most IO (0: uniform)', parse: parseFraction },
  ioHotShare: { flag: '--io-hot-share', form: 'FRACTION', help: 'share of IO that lands in the hot part', parse: parseFraction },
  handoffTime: { flag: '--handoff-time', form: 'DURATION', help: 'storage handoff in the blackout (default: 5ms cluster, 20ms per disk smb-share, 5ms otherwise)', parse: nonNegative(parseDuration, 'a duration such as 5ms') },
  clusterUpdateTime: { flag: '--cluster-update-time', form: 'DURATION', help: "cluster: updating the VM's cluster resource after the move", default: '1s', parse: nonNegative(parseDuration, 'a duration such as 1s') },
  fault: { flag: '--fault', form: 'KIND@WHEN', help: 'inject a fault (repeatable): link-down, nic-down, channel-down, dest-crash, dest-storage-error, auth-failure, stall @ a phase[:fraction] or a time', repeatable: true, parse: (v) => v },
  detectTime: { flag: '--detect-time', form: 'DURATION', help: 'time to notice a lost link, channel or peer', default: '1s', parse: nonNegative(parseDuration, 'a duration such as 1s') },
  transferTimeout: { flag: '--transfer-timeout', form: 'DURATION', help: 'a transfer without progress for this long fails', default: '20s', parse: positive(parseDuration, 'a positive duration such as 20s') },
  destRestartTime: { flag: '--dest-restart-time', form: 'DURATION', help: 'a crashed destination restarts and cleans up after this long', default: '120s', parse: nonNegative(parseDuration, 'a duration such as 120s') },
  stallTime: { flag: '--stall-time', form: 'DURATION', help: 'how long a stall fault stops the transfer', default: '30s', parse: positive(parseDuration, 'a positive duration such as 30s') },
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
  if (Array.isArray(raw)) {
    if (!def.repeatable) throw new InputError({ ...naming(key), expected: 'a single value', got: raw });
    return raw as T;
  }
  if (def.repeatable) return [String(raw)] as T;
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
      // An error about a field of a file (a VM spec) already names the file and the field: keep it.
      if (err.path !== undefined) throw err;
      const owner = OPTION_KEYS.find((k) => OPTIONS[k].flag === err.source) ?? key;
      throw new InputError({ ...naming(owner), expected: err.expected, got: err.got, ...(err.detail !== undefined ? { detail: err.detail } : {}) });
    }
  };
  const memoryBytes = v<number>('memory');
  if (memoryBytes < 2 ** 20) throw new InputError({ ...naming('memory'), expected: 'at least 1MiB of guest memory', got: input.memory });
  // The model keeps per-page state (about 2.5 GB of it for 4 TiB): beyond that a run would exhaust the host.
  if (memoryBytes > MAX_GUEST_MEMORY) throw new InputError({ ...naming('memory'), expected: 'at most 4TiB of guest memory', got: input.memory });
  // Parse every value before the lookups below, so an error names the flag that holds the bad value.
  const overrides = { mtu: v<number>('mtu'), rtt: v<number | undefined>('rtt'), streamCap: v<number>('streamCap') };
  const networkName = v<string>('network');
  const linkRate = v<number | undefined>('linkRate');
  const nicSpec = v<string | undefined>('nics');
  // Each replaces the network: given together, one would be ignored silently.
  if (nicSpec !== undefined && linkRate !== undefined) {
    throw new InputError({ ...naming('nics'), expected: 'either --nics or --link-rate, not both (each replaces the network)', got: input.nics });
  }
  const network =
    linkRate !== undefined
      ? rename('linkRate', () =>
          measuredLink(linkRate, { mtu: overrides.mtu, ...(overrides.rtt !== undefined ? { rtt: overrides.rtt } : {}), ...(input.streamCap !== undefined ? { streamCap: overrides.streamCap } : {}) }),
        )
      : nicSpec !== undefined
        ? rename('nics', () => withOverrides(parseNicSpec(nicSpec, OPTIONS.nics.flag), overrides))
        : rename('network', () => withOverrides(getNetwork(networkName), overrides));
  const dirtyRate = v<number | undefined>('dirtyRate');
  const workloadOverrides = {
    dirtyRate: dirtyRate === undefined ? undefined : dirtyRate / PAGE_SIZE,
    workingSet: v<Extent | undefined>('workingSet'),
    hotFraction: v<number | undefined>('hotFraction'),
    hotShare: v<number | undefined>('hotShare'),
    zeroFraction: v<number | undefined>('zeroFraction'),
    io: {
      writeIops: v<number | undefined>('writeIops'),
      readIops: v<number | undefined>('readIops'),
      ioSize: v<number | undefined>('ioSize'),
      hotFraction: v<number | undefined>('ioHotFraction'),
      hotShare: v<number | undefined>('ioHotShare'),
    },
  };
  const workloadName = v<string>('workload');
  const workload = rename('workload', () => resolveWorkload(workloadName, workloadOverrides));
  // A preset's own working set shrinks to fit a small VM (workingSetPages); one the user gave must fit.
  if (workload.workingSetFromUser && 'bytes' in workload.workingSet && workload.workingSet.bytes > memoryBytes) {
    throw new InputError({ ...naming('workingSet'), expected: `a working set no larger than the memory (${memoryBytes} bytes)`, got: input.workingSet });
  }
  const policyName = v<PolicyName>('policy');
  // Options of one policy given with another would be ignored silently: refuse them.
  for (const [key, only] of [
    ['maxPasses', 'hyperv'],
    ['autoConverge', 'qemu'],
  ] as const) {
    if (input[key] !== undefined && input[key] !== false && policyName !== only) {
      throw new InputError({ ...naming(key), expected: `no ${OPTIONS[key].flag} unless --policy ${only} (policy ${policyName} does not use it)`, got: input[key] });
    }
  }
  const scenario: Scenario = {
    mode: v<Mode>('mode'),
    network,
    transport: v<TransportName>('transport'),
    compression: { ratio: v<number | undefined>('compressionRatio') ?? workload.compressibility, ratePerCore: v<number>('compressionRate'), cores: v<number | undefined>('compressionCores') ?? null },
    zeroPages: v<ZeroPages | undefined>('zeroPages') ?? (policyName === 'qemu' ? 'skip' : 'send'),
    host: { cores: v<number>('hostCores'), load: v<number>('hostLoad') },
    zeroScanRate: v<number | undefined>('zeroScanRate') ?? null,
    runCost: v<number>('runCost'),
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
      handoffTime: 0,
      clusterUpdateTime: v<number>('clusterUpdateTime'),
      detectTime: v<number>('detectTime'),
      transferTimeout: v<number>('transferTimeout'),
      destRestartTime: v<number>('destRestartTime'),
      stallTime: v<number>('stallTime'),
    },
    probes: { pingInterval: v<number>('pingInterval'), tcpTimeout: v<number>('tcpTimeout'), tcpRtoMin: v<number>('tcpRtoMin') },
    // filled in below, once the mode is known
    vm: { files: [], source: '' },
    storage: undefined as unknown as StorageSetup,
    faults: [],
  };
  if (scenario.mode === 'storage' && input.transport !== undefined) {
    // A storage-only move stays on one host: it has no transport. (Accepted and ignored would mislead.)
    throw new InputError({ ...naming('transport'), expected: 'no --transport for a storage-only move (it copies locally)', got: input.transport });
  }
  const vmPath = v<string | undefined>('vm');
  scenario.vm = vmPath !== undefined ? rename('vm', () => readVmSpec(vmPath)) : shorthandSpec({ disk: v<number>('disk'), allocated: v<number>('diskAllocated'), configBytes: scenario.timing.configBytes });
  const defaultSource = scenario.mode === 'cluster' ? 'san' : scenario.mode === 'smb-share' ? 'smb' : 'ssd';
  const sourceName = v<string | undefined>('sourceStorage') ?? defaultSource;
  const destName = v<string>('destStorage');
  scenario.storage = {
    source: rename('sourceStorage', () => getEndpoint(sourceName, OPTIONS.sourceStorage.flag)),
    dest: rename('destStorage', () => getEndpoint(destName, OPTIONS.destStorage.flag)),
    converged: v<boolean | undefined>('converged') ?? false,
    copyMinShare: v<number>('copyMinShare'),
    segmentBytes: v<number>('storageSegment'),
  };
  scenario.vm.files.forEach((f, i) => {
    if (f.destination !== undefined) rename('vm', () => getEndpoint(f.destination!, `${scenario.vm.source}: files[${i}].destination`));
  });
  if (scenario.storage.converged && scenario.mode !== 'smb-share') {
    throw new InputError({ ...naming('converged'), expected: '--converged only with --mode smb-share (the guest IO rides SMB links only there)', got: true });
  }
  const disksCount = scenario.vm.files.filter((f) => f.kind !== 'config').length;
  const handoff = v<number | undefined>('handoffTime');
  scenario.timing.handoffTime = handoff ?? (scenario.mode === 'smb-share' ? 0.02 * disksCount : 0.005);
  const faults = v<string[] | undefined>('fault') ?? [];
  scenario.faults = faults.map((f) => rename('fault', () => parseFault(f, scenario.mode, OPTIONS.fault.flag)));
  return scenario;
}

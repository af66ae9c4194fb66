// Real links between two hosts on one machine: two Linux network namespaces ("source" and "destination")
// joined by veth pairs, one pair per NIC so the multichannel transport has that many paths, each shaped by
// the kernel with `tc tbf` in the data direction (source -> destination; acknowledgements and the
// destination's answers come back unshaped, as on a full-duplex NIC). Used by the namespace tests and by
// `npm run bench:real -- --netns`. Needs Linux, root and iproute2 (`ip`, `tc`); `netnsUnavailable()` says
// why not. Everything `createNetnsPair` makes is removed by `remove()` (also after a failure half-way).

import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { MigbenchError } from '../errors.js';
import { formatRate } from '../units/index.js';

export interface NetnsLink {
  /** Interface names (under Linux's 15 characters) in the source and destination namespaces. */
  srcIf: string;
  dstIf: string;
  srcAddr: string;
  dstAddr: string;
}

export interface NetnsOptions {
  /** Short tag that keeps names unique between concurrent users (default: this process id). */
  tag?: string;
  /** veth pairs ("NICs"), 1-8 (default 2). */
  links?: number;
  /** Shaped payload rate of each link in bytes/s (tc tbf on the source side); null: unshaped. */
  rate?: number | null;
  /** Second octet of the 10.x.y.0/24 subnets, one per link (default 233). */
  subnet?: number;
}

export interface NetnsPair {
  readonly src: string;
  readonly dst: string;
  readonly links: readonly NetnsLink[];
  /** Each link's tbf rate in bits/s (null: unshaped). */
  readonly rateBits: number | null;
  /** `command args` inside a namespace. */
  spawn(side: 'src' | 'dst', command: string, args: string[], o?: SpawnOptions): ChildProcess;
  /** Bytes the source side of link `i` has sent (its qdisc's counter). */
  sentBytes(i: number): number;
  /** Take link `i` down or up on the source side. */
  setLink(i: number, up: boolean): void;
  /** Delete both namespaces (their veth pairs and qdiscs go with them). Safe to call twice. */
  remove(): void;
}

function sh(args: string[]): string {
  return execFileSync(args[0]!, args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
}

/** Why this machine cannot create namespace links, or undefined when it can. */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces and tc need root (CI runs as root)';
  try {
    sh(['tc', '-V']);
  } catch {
    return 'tc (iproute2) is not installed';
  }
  const probe = `mbprobe${process.pid % 100000}`;
  try {
    sh(['ip', 'netns', 'add', probe]);
  } catch (e) {
    return `cannot create a network namespace (${(e as Error).message.split('\n')[0]})`;
  } finally {
    try {
      sh(['ip', 'netns', 'del', probe]);
    } catch {
      /* it was never made */
    }
  }
  return undefined;
}

/**
 * tbf's bucket: at least 64 KiB (one GSO segment of a veth must fit, or tbf drops it) and 4 ms of the
 * rate; the queue holds 20 ms (more would add that much to every control round trip under load).
 */
export function tbfArgs(rateBytes: number): string[] {
  const bits = Math.round(rateBytes * 8);
  const burst = Math.max(65536, Math.ceil(rateBytes * 0.004));
  return ['tbf', 'rate', `${bits}bit`, 'burst', String(burst), 'latency', '20ms'];
}

export function createNetnsPair(o: NetnsOptions = {}): NetnsPair {
  const tag = (o.tag ?? String(process.pid % 100000)).slice(0, 6);
  const n = o.links ?? 2;
  if (!Number.isInteger(n) || n < 1 || n > 8) throw new MigbenchError('E_INPUT', `namespace links: 1 to 8, not ${n}`);
  const subnet = o.subnet ?? 233;
  const src = `mbsrc${tag}`;
  const dst = `mbdst${tag}`;
  const links: NetnsLink[] = Array.from({ length: n }, (_, i) => ({
    srcIf: `mb${tag}s${i}`,
    dstIf: `mb${tag}d${i}`,
    srcAddr: `10.${subnet}.${i + 1}.1`,
    dstAddr: `10.${subnet}.${i + 1}.2`,
  }));
  const rate = o.rate ?? null;
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    for (const ns of [src, dst]) {
      try {
        sh(['ip', 'netns', 'del', ns]);
      } catch {
        /* not there */
      }
    }
  };
  // A namespace left by a run that was killed: start clean.
  for (const ns of [src, dst]) {
    try {
      sh(['ip', 'netns', 'del', ns]);
    } catch {
      /* not there */
    }
  }
  try {
    sh(['ip', 'netns', 'add', src]);
    sh(['ip', 'netns', 'add', dst]);
    for (const ns of [src, dst]) sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    for (const l of links) {
      sh(['ip', 'link', 'add', l.srcIf, 'netns', src, 'type', 'veth', 'peer', 'name', l.dstIf, 'netns', dst]);
      sh(['ip', '-n', src, 'addr', 'add', `${l.srcAddr}/24`, 'dev', l.srcIf]);
      sh(['ip', '-n', dst, 'addr', 'add', `${l.dstAddr}/24`, 'dev', l.dstIf]);
      sh(['ip', '-n', src, 'link', 'set', l.srcIf, 'up']);
      sh(['ip', '-n', dst, 'link', 'set', l.dstIf, 'up']);
      if (rate !== null) sh(['ip', 'netns', 'exec', src, 'tc', 'qdisc', 'add', 'dev', l.srcIf, 'root', ...tbfArgs(rate)]);
    }
  } catch (e) {
    remove();
    throw new MigbenchError('E_IO', `cannot create the namespace links (${(e as Error).message.split('\n')[0]})`, { cause: e });
  }
  return {
    src,
    dst,
    links,
    rateBits: rate === null ? null : rate * 8,
    spawn: (side, command, args, so = {}) => spawn('ip', ['netns', 'exec', side === 'src' ? src : dst, command, ...args], so),
    sentBytes: (i) => Number(/Sent (\d+) bytes/.exec(sh(['ip', 'netns', 'exec', src, 'tc', '-s', 'qdisc', 'show', 'dev', links[i]!.srcIf]))?.[1] ?? 0),
    setLink: (i, up) => void sh(['ip', '-n', src, 'link', 'set', links[i]!.srcIf, up ? 'up' : 'down']),
    remove,
  };
}

/** One line for a person: the namespaces, their links and the shaping. */
export function describeNetns(p: NetnsPair): string {
  const shaped = p.rateBits === null ? 'unshaped' : `each shaped by tc tbf to ${formatRate(p.rateBits / 8)}`;
  return `namespaces ${p.src} -> ${p.dst}, ${p.links.length} veth link(s) (${p.links.map((l) => `${l.srcAddr} -> ${l.dstAddr}`).join(', ')}), ${shaped}`;
}

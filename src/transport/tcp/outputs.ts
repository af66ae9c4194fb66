// Where `migbench serve` puts each session's stream, and what it refuses (docs/transport.md, "Receiver
// limits"):
// - `--out DIR` (an existing directory): one file per session, DIR/<session id>.bin; sessions never share one.
// - `--out FILE`: one session at a time (another one is refused while it is open, with a message the sender
//   prints), and never over an existing file without `--force` (checked at start and for every session).
// - memory (the default): within a budget of bytes over all open sessions (Receiver.sizeBudget), each
//   session's memory touched in slices that let the others run.
// - discard.
// Files are written to `<name>.tmp-<pid>-<hex>` and renamed after a verified commit (FileSink); at start,
// temporary files of writers that no longer run are removed and reported.

import { lstatSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '../../errors.js';
import { RefusedError } from './receiver-session.js';
import { DiscardSink, FileSink, MemorySink, staleTemps, type Sink } from './sinks.js';

export type OutputMode = { kind: 'memory' } | { kind: 'discard' } | { kind: 'file'; path: string; force: boolean } | { kind: 'dir'; dir: string };

/** Decide the mode from `--out`/`--discard`/`--force`, checking the target now (exit 2 on a bad one). */
export function outputMode(o: { out?: string; discard?: boolean; force?: boolean }): OutputMode {
  if (o.out !== undefined && o.discard) throw new InputError({ source: '--out/--discard', expected: 'at most one of --out PATH and --discard' });
  if (o.discard) return { kind: 'discard' };
  if (o.out === undefined) return { kind: 'memory' };
  const path = resolve(o.out);
  let st: ReturnType<typeof statSync> | undefined;
  try {
    st = statSync(path);
  } catch {
    st = undefined;
  }
  if (st?.isDirectory()) return { kind: 'dir', dir: path };
  if (st && !st.isFile()) throw new InputError({ source: '--out', expected: 'a regular file or a directory', got: o.out });
  if (st && !o.force) throw new InputError({ source: '--out', expected: 'a file that does not exist yet (--force replaces it), or a directory for one file per session', got: o.out, detail: 'the file exists' });
  try {
    if (!statSync(dirname(path)).isDirectory()) throw new Error('not a directory');
  } catch (e) {
    throw new InputError({ source: '--out', expected: 'a file in an existing directory', got: o.out, detail: (e as Error).message });
  }
  return { kind: 'file', path, force: Boolean(o.force) };
}

const SESSION_FILE = /^[0-9a-f]{16}\.bin$/;

export class Outputs {
  /** FILE mode: the session writing the file now. */
  private busy: string | undefined;
  private readonly files = new Map<string, string>();

  constructor(readonly mode: OutputMode) {}

  /** Remove temporary files that crashed writers left; returns what was removed and what a live writer holds. */
  cleanStale(): { removed: string[]; live: string[] } {
    const m = this.mode;
    if (m.kind !== 'file' && m.kind !== 'dir') return { removed: [], live: [] };
    const found = m.kind === 'file' ? staleTemps(dirname(m.path), [basename(m.path)]) : staleTemps(m.dir);
    const removed = m.kind === 'dir' ? found.stale.filter((f) => SESSION_FILE.test(basename(f).replace(/\.tmp-.*$/, ''))) : found.stale;
    for (const f of removed) rmSync(f, { force: true });
    return { removed, live: found.live };
  }

  /** The sink of a new session, or a RefusedError the sender sees. */
  async make(session: string, size: number): Promise<Sink> {
    const m = this.mode;
    switch (m.kind) {
      case 'discard':
        return new DiscardSink();
      case 'memory': {
        const s = new MemorySink(size);
        await s.prefault();
        return s;
      }
      case 'dir': {
        const path = join(m.dir, `${session}.bin`);
        this.files.set(session, path);
        return this.file(path, size, session);
      }
      case 'file': {
        if (this.busy !== undefined) {
          throw new RefusedError(`--out ${m.path} takes one session at a time and session ${this.busy} is still open (give serve a directory for one file per session)`);
        }
        if (!m.force && exists(m.path)) throw new RefusedError(`--out ${m.path} exists (an earlier session's stream); serve --force replaces it`);
        this.busy = session;
        this.files.set(session, m.path);
        return this.file(m.path, size, session);
      }
    }
  }

  private async file(path: string, size: number, session: string): Promise<Sink> {
    try {
      return await FileSink.create(path, size);
    } catch (e) {
      this.ended(session);
      throw new RefusedError(`the receiver cannot create the output file: ${(e as Error).message}`);
    }
  }

  /** The file a session writes (file and directory modes). */
  fileOf(session: string): string | undefined {
    return this.files.get(session);
  }

  /** The session ended (its file, if any, is renamed or removed by then). */
  ended(session: string): void {
    if (this.busy === session) this.busy = undefined;
    this.files.delete(session);
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

// The CLI's only contact with the terminal. Commands write through an Io so tests can run them in-process.
export interface Io {
  out(text: string): void;
  err(text: string): void;
  isTTY: boolean;
  /** stderr is a terminal (progress bars go there). */
  errIsTTY: boolean;
  /** Terminal width of stderr, when known. */
  errColumns?: number;
}

export const processIo: Io = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
  isTTY: Boolean(process.stdout.isTTY),
  errIsTTY: Boolean(process.stderr.isTTY),
  get errColumns() {
    return process.stderr.columns;
  },
};

/** Collects output in memory (for tests). */
export function memoryIo(): Io & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    isTTY: false,
    errIsTTY: false,
    out(t: string) {
      io.stdout += t;
    },
    err(t: string) {
      io.stderr += t;
    },
  };
  return io;
}

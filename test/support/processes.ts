// Child processes for end-to-end tests: the compiled CLI (or any command), its output collected, killed
// after `timeoutMs` and, by `killStarted()` in an afterEach, when a test ends early.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/migbench.js', import.meta.url));

export interface Done {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Started {
  child: ChildProcess;
  done: Promise<Done>;
  stdout: () => string;
  stderr: () => string;
}

const started: ChildProcess[] = [];

/** Kill (SIGKILL) every process started here that is still running. */
export function killStarted(): void {
  for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** `command args`, with MIGBENCH_KEY cleared in its environment unless `env` sets it. */
export function startProcess(command: string, args: string[], o: { env?: NodeJS.ProcessEnv; timeoutMs?: number; detached?: boolean } = {}): Started {
  const child = spawn(command, args, { env: { ...process.env, MIGBENCH_KEY: '', ...o.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: o.detached ?? false });
  started.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<Done>((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
  return { child, done, stdout: () => stdout, stderr: () => stderr };
}

/** `migbench args` (the compiled CLI). */
export function startCli(args: string[], o: { env?: NodeJS.ProcessEnv; timeoutMs?: number; detached?: boolean } = {}): Started {
  return startProcess(process.execPath, [BIN, ...args], o);
}

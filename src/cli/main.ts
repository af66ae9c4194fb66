// `migbench` command line: the only place that reads argv and prints for a person. Each command lives in
// its own file under commands/ and registers itself here. Errors become exit codes: 2 for bad input
// (unknown flag, bad value), 3 for a failed transfer or migration, 1 otherwise.

import { Command, CommanderError } from 'commander';
import { exitCodeFor, MigbenchError } from '../errors.js';
import { processIo, type Io } from './io.js';
import { VERSION } from '../version.js';
import { registerCommands } from './commands/index.js';

export async function buildProgram(io: Io, argv: string[] = []): Promise<Command> {
  const program = new Command();
  program
    .name('migbench')
    .description('Benchmark and plan Hyper-V style live migrations (simulated and real)')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride();
  await registerCommands(program, io, argv[2]);
  for (const c of program.commands) {
    c.exitOverride();
    c.configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
    c.showHelpAfterError('(run with --help for usage)');
  }
  return program;
}

/** Run the CLI with a full argv (node, script, ...args) and return the exit code. */
export async function run(argv: string[], io: Io = processIo): Promise<number> {
  // A reader that stops early (`migbench ... | head`) closes the pipe: end quietly, as other tools do.
  if (io === processIo) process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  const program = await buildProgram(io, argv);
  if (argv.length <= 2) {
    // No command: show the usage on stderr and fail, as for any other missing argument.
    io.err(program.helpInformation());
    return 2;
  }
  try {
    await program.parseAsync(argv);
    return 0; // commands report failure by throwing typed errors
  } catch (err) {
    return reportError(err, io);
  }
}

export function reportError(err: unknown, io: Io): number {
  if (err instanceof CommanderError) {
    // Help and version output are not errors; usage errors are bad input (exit 2).
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    return 2;
  }
  if (err instanceof MigbenchError) {
    io.err(`migbench: ${err.message}\n`);
    return exitCodeFor(err);
  }
  io.err(`migbench: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
}

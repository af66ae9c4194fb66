// One line per command: its name and how to load its register function. Commands load lazily, so
// `migbench simulate` does not pay for the bench's statistics or the transport's native CRC module.
import type { Command } from 'commander';
import type { Io } from '../io.js';

type Register = (program: Command, io: Io) => void;

export const COMMANDS: Record<string, () => Promise<Register>> = {
  simulate: async () => (await import('./simulate.js')).registerSimulate,
  bench: async () => (await import('./bench.js')).registerBench,
  compare: async () => (await import('./compare.js')).registerCompare,
  channels: async () => (await import('./channels.js')).registerChannels,
  serve: async () => (await import('./serve.js')).registerServe,
  send: async () => (await import('./send.js')).registerSend,
  migrate: async () => (await import('./migrate.js')).registerMigrate,
  'migrate-receiver': async () => (await import('./migrate-receiver.js')).registerMigrateReceiver,
  calibrate: async () => (await import('./calibrate.js')).registerCalibrate,
  evacuate: async () => (await import('./evacuate.js')).registerEvacuate,
};

/** Register `only` when it names a command, else every command (for --help, --version, a typo). */
export async function registerCommands(program: Command, io: Io, only?: string): Promise<void> {
  const names = only !== undefined && only in COMMANDS ? [only] : Object.keys(COMMANDS);
  for (const name of names) (await COMMANDS[name]!())(program, io);
}

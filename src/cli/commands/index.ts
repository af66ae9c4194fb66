// One line per command; each command file exports a register function.
import type { Command } from 'commander';
import type { Io } from '../io.js';
import { registerBench } from './bench.js';
import { registerChannels } from './channels.js';
import { registerCompare } from './compare.js';
import { registerMigrate } from './migrate.js';
import { registerMigrateReceiver } from './migrate-receiver.js';
import { registerSend } from './send.js';
import { registerServe } from './serve.js';
import { registerSimulate } from './simulate.js';

export function registerCommands(program: Command, io: Io): void {
  registerSimulate(program, io);
  registerBench(program, io);
  registerCompare(program, io);
  registerChannels(program, io);
  registerServe(program, io);
  registerSend(program, io);
  registerMigrate(program, io);
  registerMigrateReceiver(program, io);
}

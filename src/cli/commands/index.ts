// One line per command; each command file exports a register function.
import type { Command } from 'commander';
import type { Io } from '../io.js';
import { registerChannels } from './channels.js';
import { registerSend } from './send.js';
import { registerServe } from './serve.js';

export function registerCommands(program: Command, io: Io): void {
  registerChannels(program, io);
  registerServe(program, io);
  registerSend(program, io);
}

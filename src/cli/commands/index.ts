// One line per command; each command file exports a register function.
import type { Command } from 'commander';
import type { Io } from '../io.js';

export function registerCommands(program: Command, io: Io): void {
  void program;
  void io;
}

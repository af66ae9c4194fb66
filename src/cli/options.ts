// Registers the scenario options (src/scenario.ts OPTIONS) as commander flags, and reads them back.
import type { Command } from 'commander';
import { OPTIONS, OPTION_KEYS, type OptionKey, type ScenarioInput } from '../scenario.js';

export function addScenarioOptions(cmd: Command, keys: readonly OptionKey[] = OPTION_KEYS, defaults: Partial<Record<OptionKey, string>> = {}): Command {
  for (const key of keys) {
    const def: { flag: string; form: string; help: string; default?: string; boolean?: boolean; repeatable?: boolean } = OPTIONS[key];
    const shown = defaults[key] ?? def.default;
    const help = shown !== undefined ? `${def.help} (default: ${shown})` : def.help;
    if (def.repeatable) cmd.option(`${def.flag} <${def.form}>`, help, (v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    else cmd.option(def.boolean ? def.flag : `${def.flag} <${def.form}>`, help);
  }
  return cmd;
}

/** The scenario options present on the command line (commander camelCases flags into our keys). */
export function scenarioInputFrom(opts: Record<string, unknown>, keys: readonly OptionKey[] = OPTION_KEYS): ScenarioInput {
  const input: ScenarioInput = {};
  for (const key of keys) {
    const v = opts[key];
    if (v !== undefined) input[key] = v as string | boolean | string[];
  }
  return input;
}

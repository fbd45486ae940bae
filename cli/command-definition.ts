import type { ParseArgsConfig } from 'node:util';
import type { CliContext } from './cli-context.ts';

export type CommandOptions = NonNullable<ParseArgsConfig['options']>;

export interface CommandArgs {
  /** Option values, parsed strictly against the command's own options plus the common ones. */
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  /** Positional arguments after the command name (sub-commands, SQL, files). */
  positionals: string[];
}

/**
 * One `netflow` command: a module under cli/commands/ exports one of these and is listed in
 * cli/commands/index.ts with its one-line summary. main.ts parses the options, builds the context and calls run().
 */
export interface CommandDefinition {
  name: string;
  /** The full text of `netflow <name> --help`, starting with its usage line. */
  help: string;
  options: CommandOptions;
  /** When set, more positional arguments than this (after the command's name) are bad usage, instead of being ignored. */
  maxPositionals?: number;
  run(context: CliContext, args: CommandArgs): Promise<number>;
}

export function stringOption(args: CommandArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function booleanOption(args: CommandArgs, name: string): boolean {
  return args.values[name] === true;
}

import { parseArgs } from 'node:util';
import { ValidationError } from '../lib/config/yaml-file.ts';
import { createContext, processIo, UsageError, type CliIo } from './cli-context.ts';
import type { CommandOptions } from './command-definition.ts';
import { COMMANDS } from './commands/index.ts';

const COMMON_OPTIONS: CommandOptions = {
  config: { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  return `netflow: a network-telemetry data lake (flow logs and VM agents into curated Parquet)

Usage: netflow <command> [options]

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join('\n')}

Options for every command:
  --config FILE      configuration file (default: ./netflow.config.yaml if present, else built-in defaults)
  --log-level LEVEL  debug, info, warn or error (JSON logs on stderr)
  -h, --help         help for netflow or for one command

Exit codes: 0 success, 1 the work failed (a run, a query), 2 bad usage or configuration.
Run "netflow <command> --help" for a command's options.`;
}

/** The CLI's entry point; returns the exit code instead of exiting, so tests can call it. */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const name = commandName(argv);
  if (name === undefined || name === 'help') {
    const topic = COMMANDS.find((command) => command.name === argv[argv.indexOf('help') + 1]);
    const asked = argv.includes('--help') || argv.includes('-h') || name === 'help' || argv.length === 0;
    (asked ? io.stdout : io.stderr)(`${topic?.help ?? mainHelp()}\n`);
    return asked ? 0 : 2;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) {
    io.stderr(`netflow: unknown command "${name}"\n\n${mainHelp()}\n`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { ...COMMON_OPTIONS, ...command.options } });
  } catch (error) {
    io.stderr(`netflow ${command.name}: ${(error as Error).message}\n\n${command.help}\n`);
    return 2;
  }
  if (parsed.values.help) {
    io.stdout(`${command.help}\n`);
    return 0;
  }
  const logLevel = parsed.values['log-level'];
  if (logLevel !== undefined && (typeof logLevel !== 'string' || !['debug', 'info', 'warn', 'error'].includes(logLevel))) {
    io.stderr(`netflow: --log-level must be debug, info, warn or error, got "${String(logLevel)}"\n`);
    return 2;
  }
  try {
    const configFile = typeof parsed.values.config === 'string' ? parsed.values.config : undefined;
    const context = await createContext(io, configFile, logLevel);
    return await command.run(context, { values: parsed.values, positionals: parsed.positionals.slice(1) });
  } catch (error) {
    if (error instanceof ValidationError || error instanceof UsageError) {
      io.stderr(`netflow: ${error.message}\n`);
      return 2;
    }
    io.stderr(`netflow: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
}

/** The first positional argument, skipping the values of common options given before it. */
function commandName(argv: string[]): string | undefined {
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '--config' || arg === '--log-level') index++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

import { parseArgs } from 'node:util';
import type { LoggingChoice } from './cli-context.ts';
import { processIo, type CliIo } from './cli-io.ts';
import type { LogLevel } from '../lib/log/logger.ts';
import type { CommandOptions } from './command-definition.ts';
import { EXIT, EXIT_CODES_HELP } from './exit-codes.ts';
import { COMMANDS } from './commands/index.ts';

const COMMON_OPTIONS: CommandOptions = {
  config: { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  verbose: { type: 'boolean', short: 'v' },
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
  --log-level LEVEL  debug, info, warn or error (logs go to stderr)
  --log-format FMT   human (short lines; the default on a terminal) or json (JSON lines; the default otherwise)
  -q, --quiet        warnings and errors only, and no progress
  -v, --verbose      debug logs too
  -h, --help         help for netflow or for one command

${EXIT_CODES_HELP}
Run "netflow <command> --help" for a command's options.`;
}

/** The CLI's entry point; returns the exit code instead of exiting, so tests can call it. */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const name = commandName(argv);
  if (name === undefined || name === 'help') {
    const topic = await COMMANDS.find((command) => command.name === argv[argv.indexOf('help') + 1])?.load();
    const asked = argv.includes('--help') || argv.includes('-h') || name === 'help' || argv.length === 0;
    (asked ? io.stdout : io.stderr)(`${topic?.help ?? mainHelp()}\n`);
    return asked ? 0 : 2;
  }
  const entry = COMMANDS.find((candidate) => candidate.name === name);
  if (!entry) {
    io.stderr(`netflow: unknown command "${name}"\n\n${mainHelp()}\n`);
    return EXIT.usage;
  }
  const command = await entry.load();
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { ...COMMON_OPTIONS, ...command.options } });
  } catch (error) {
    io.stderr(`netflow ${command.name}: ${(error as Error).message}\n\n${command.help}\n`);
    return EXIT.usage;
  }
  const positionals = parsed.positionals.slice(1);
  if (command.maxPositionals !== undefined && positionals.length > command.maxPositionals) {
    io.stderr(`netflow ${command.name}: unexpected argument "${positionals[command.maxPositionals]}"\n\n${command.help}\n`);
    return EXIT.usage;
  }
  if (parsed.values.help) {
    io.stdout(`${command.help}\n`);
    return 0;
  }
  let logging;
  try {
    logging = loggingOptions(parsed.values);
  } catch (error) {
    io.stderr(`netflow: ${(error as Error).message}\n`);
    return EXIT.usage;
  }
  // Loaded here, not at the top: the configuration's schemas (zod, yaml) are not needed by --help.
  const [{ createContext, UsageError }, { ValidationError }] = await Promise.all([import('./cli-context.ts'), import('../lib/config/yaml-file.ts')]);
  try {
    const configFile = typeof parsed.values.config === 'string' ? parsed.values.config : undefined;
    const context = await createContext(io, configFile, logging);
    // Every command logs at least this at debug, so --verbose always says which configuration and store ran.
    context.logger.debug('command starting', { command: command.name, config: context.configFile ?? 'defaults and environment', store: context.config.store.type });
    return await command.run(context, { values: parsed.values, positionals });
  } catch (error) {
    if (error instanceof ValidationError || error instanceof UsageError) {
      io.stderr(`netflow: ${error.message}\n`);
      return EXIT.usage;
    }
    io.stderr(`netflow: ${(error as Error).stack ?? String(error)}\n`);
    return EXIT.failed;
  }
}

/** --log-level, --log-format, --quiet and --verbose, checked; throws a usage message. */
function loggingOptions(values: Record<string, unknown>): LoggingChoice {
  const level = values['log-level'];
  if (level !== undefined && (typeof level !== 'string' || !['debug', 'info', 'warn', 'error'].includes(level))) {
    throw new Error(`--log-level must be debug, info, warn or error, got "${String(level)}"`);
  }
  const format = values['log-format'];
  if (format !== undefined && format !== 'json' && format !== 'human') throw new Error(`--log-format must be human or json, got "${String(format)}"`);
  if (values.quiet && values.verbose) throw new Error('--quiet and --verbose contradict each other: give one');
  const chosenLevel = (level as LogLevel | undefined) ?? (values.quiet ? 'warn' : values.verbose ? 'debug' : undefined);
  return { ...(chosenLevel ? { level: chosenLevel } : {}), ...(format ? { format } : {}), quiet: values.quiet === true };
}

/** The first positional argument, skipping the values of common options given before it. */
function commandName(argv: string[]): string | undefined {
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '--config' || arg === '--log-level' || arg === '--log-format') index++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

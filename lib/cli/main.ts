import { parseArgs } from 'node:util';
import { ValidationError } from '../config/yaml-file.ts';
import { createContext, processIo, UsageError, type CliIo } from './cli-context.ts';
import { CONFIG_HELP, configCommand } from './commands/config-command.ts';
import { DEMO_HELP, demoCommand } from './commands/demo-command.ts';
import { QUERY_HELP, queryCommand } from './commands/query-command.ts';
import { RUN_HELP, runCommand } from './commands/run-command.ts';
import { RUNS_HELP, runsCommand } from './commands/runs-command.ts';

const COMMANDS: Record<string, string> = {
  run: RUN_HELP,
  demo: DEMO_HELP,
  query: QUERY_HELP,
  runs: RUNS_HELP,
  config: CONFIG_HELP,
};

export const MAIN_HELP = `netflow: a network-telemetry data lake (flow logs and VM agents into curated Parquet)

Usage: netflow <command> [options]

Commands:
  run --hour H       run the hourly job for one event hour (UTC, e.g. 2024-05-01T13)
  demo               deliver the bundled samples into the store and run their two hours
  query "SQL"        SQL over the curated tables (flows, violations, traffic_matrix, alerts, quarantine)
  runs               list the runs recorded in the run ledger
  config             validate (--check) or print (--dump) the effective configuration

Options for every command:
  --config FILE      configuration file (default: ./netflow.config.yaml if present, else built-in defaults)
  --log-level LEVEL  debug, info, warn or error (JSON logs on stderr)
  -h, --help         help for netflow or for one command

Exit codes: 0 success, 1 the work failed (a run, a query), 2 bad usage or configuration.
Run "netflow <command> --help" for a command's options.`;

/** The CLI's entry point; returns the exit code instead of exiting, so tests can call it. */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        hour: { type: 'string' },
        json: { type: 'boolean' },
        format: { type: 'string' },
        status: { type: 'string' },
        check: { type: 'boolean' },
        dump: { type: 'boolean' },
      },
    });
  } catch (error) {
    io.stderr(`netflow: ${(error as Error).message}\n\n${MAIN_HELP}\n`);
    return 2;
  }
  const [command, ...rest] = parsed.positionals;
  const options = parsed.values;
  if (!command || command === 'help') {
    io.stdout(`${rest[0] && COMMANDS[rest[0]] ? COMMANDS[rest[0]] : MAIN_HELP}\n`);
    return 0;
  }
  if (!COMMANDS[command]) {
    io.stderr(`netflow: unknown command "${command}"\n\n${MAIN_HELP}\n`);
    return 2;
  }
  if (options.help) {
    io.stdout(`${COMMANDS[command]}\n`);
    return 0;
  }
  const logLevel = options['log-level'];
  if (logLevel !== undefined && !['debug', 'info', 'warn', 'error'].includes(logLevel)) {
    io.stderr(`netflow: --log-level must be debug, info, warn or error, got "${logLevel}"\n`);
    return 2;
  }
  try {
    const context = await createContext(io, options.config, logLevel);
    switch (command) {
      case 'run':
        return await runCommand(context, { ...(options.hour ? { hour: options.hour } : {}), json: Boolean(options.json) });
      case 'demo':
        return await demoCommand(context);
      case 'query':
        return await queryCommand(context, rest[0], { ...(options.format ? { format: options.format } : {}) });
      case 'runs':
        return await runsCommand(context, { ...(options.status ? { status: options.status } : {}), json: Boolean(options.json) });
      case 'config':
        return await configCommand(context, { dump: Boolean(options.dump) });
    }
    return 2;
  } catch (error) {
    if (error instanceof ValidationError || error instanceof UsageError) {
      io.stderr(`netflow: ${error.message}\n`);
      return 2;
    }
    io.stderr(`netflow: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
}

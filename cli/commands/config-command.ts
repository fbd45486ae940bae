import { stringify } from 'yaml';
import type { CliContext } from '../cli-context.ts';
import { booleanOption, type CommandDefinition } from '../command-definition.ts';
import { redactConfig } from '../redact-config.ts';

const CONFIG_HELP = `netflow config [--check] [--dump] [--config FILE]

Validates the configuration (defaults, then the file, then NETFLOW_* environment overrides such
as NETFLOW_STORE__TYPE=s3 or NETFLOW_LATENESS=30m). --dump prints the effective configuration (URL paths of webhooks, user info
and query strings redacted).
Exit code 0 when valid, 2 with every problem listed (file, line, key) when not.`;

export async function configCommand(context: CliContext, options: { dump?: boolean }): Promise<number> {
  if (options.dump) context.stdout(stringify(redactConfig(context.config)));
  else context.stdout(`configuration is valid (${context.configFile ?? 'defaults, no file'})\n`);
  return 0;
}

export const configCommandDefinition: CommandDefinition = {
  name: 'config',
  help: CONFIG_HELP,
  maxPositionals: 0,
  options: { check: { type: 'boolean' }, dump: { type: 'boolean' } },
  run: (context, args) => configCommand(context, { dump: booleanOption(args, 'dump') }),
};

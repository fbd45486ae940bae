import { stringify } from 'yaml';
import type { CliContext } from '../cli-context.ts';

export const CONFIG_HELP = `netflow config [--check] [--dump] [--config FILE]

Validates the configuration (defaults, then the file, then NETFLOW_* environment overrides such
as NETFLOW_STORE__TYPE=s3 or NETFLOW_LATENESS=30m). --dump prints the effective configuration.
Exit code 0 when valid, 2 with every problem listed (file, line, key) when not.`;

export async function configCommand(context: CliContext, options: { dump?: boolean }): Promise<number> {
  if (options.dump) context.stdout(stringify(context.config));
  else context.stdout(`configuration is valid (${context.configFile ?? 'defaults, no file'})\n`);
  return 0;
}

import { checkReferenceFiles, formatChecks } from '../../lib/reference/check-reference.ts';
import { referenceFilesOf } from '../../lib/reference/reference-data.ts';
import { UsageError, type CliContext } from '../cli-context.ts';
import { booleanOption, type CommandDefinition } from '../command-definition.ts';

const REF_HELP = `netflow ref check [--json] [--config FILE]

Validates every reference file the configuration names: inventory snapshots (YAML, JSON, CSV),
IP range files (YAML, CSV, AWS ip-ranges.json, Azure Service Tags JSON), threat lists (plain,
FireHOL netset, CSV) and the rules file, then checks them against each other (snapshot times,
threat lists named by rules). Every problem is printed with its file, line and field.
Exit code 0 when everything is valid, 1 when a file has a problem.`;

export async function refCommand(context: CliContext, subcommand: string | undefined, options: { json: boolean }): Promise<number> {
  if (subcommand !== 'check') throw new UsageError(`ref needs a sub-command: check (got ${subcommand ? `"${subcommand}"` : 'none'})`);
  const results = await checkReferenceFiles(referenceFilesOf(context.config, context.baseDir));
  context.stdout(options.json ? `${JSON.stringify(results, null, 2)}\n` : formatChecks(results));
  return results.every((result) => result.ok) ? 0 : 1;
}

export const refCommandDefinition: CommandDefinition = {
  name: 'ref',
  help: REF_HELP,
  maxPositionals: 1,
  options: { json: { type: 'boolean' } },
  run: (context, args) => refCommand(context, args.positionals[0], { json: booleanOption(args, 'json') }),
};

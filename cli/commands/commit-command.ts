import { commitShardsOfHour } from '../../orchestration/shard-hour.ts';
import { parseHour, UsageError, type CliContext } from '../cli-context.ts';
import { booleanOption, stringOption, type CommandDefinition } from '../command-definition.ts';
import { exitCodeOfRuns } from '../exit-codes.ts';
import { formatRunSummary } from '../run-summary.ts';

const COMMIT_HELP = `netflow commit --hour <YYYY-MM-DDTHH> --shards <N> [--config FILE] [--json]

Publishes an event hour that N workers processed as shards (netflow run --hour H --shard i/N,
i = 0 … N-1): checks that every shard of the hour's recorded listing finished and that its files
are intact, then computes what needs the whole hour (which observation of a connection counts in
totals, the traffic matrix, the alerts, the record counts) over the union of the shards' rows,
checks and publishes every table in one Delta commit per table, delivers the alerts and records
the run in the ledger: the same rows and run id as netflow run --hour H on one machine. Then it
deletes the shards' staging (_shards/<hour>/ in the store). See docs/operations.md.
Exit code 0 when published, or already published from the same inputs (said on stderr); 1 when
a shard is missing, failed, ran against another listing (each named) or the commit failed:
nothing is published then; 2 on bad usage; 3 when the partition's lock is held past locks.wait.`;

export async function commitCommand(context: CliContext, options: { hour?: string; shards?: string; json?: boolean }): Promise<number> {
  if (!options.hour) throw new UsageError('commit needs --hour, for example --hour 2024-05-01T13');
  if (!options.shards || !/^\d+$/.test(options.shards) || Number(options.shards) < 1)
    throw new UsageError(`commit needs --shards N, the number of shards the hour was run as (a positive integer)${options.shards ? `, got "${options.shards}"` : ''}`);
  const hour = parseHour(options.hour);
  const result = await commitShardsOfHour({ config: context.config, baseDir: context.baseDir, store: context.store, logger: context.logger, hour, shards: Number(options.shards) });
  context.stdout(options.json ? `${JSON.stringify(result, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v), 2)}\n` : formatRunSummary(result));
  if (result.status === 'skipped') context.stderr(`netflow commit: hour ${result.hour} already published from the same inputs; nothing to do\n`);
  if (result.status === 'failed' && result.error) context.stderr(`netflow commit: ${result.error}\n`);
  return exitCodeOfRuns([result]);
}

export const commitCommandDefinition: CommandDefinition = {
  name: 'commit',
  help: COMMIT_HELP,
  options: { hour: { type: 'string' }, shards: { type: 'string' }, json: { type: 'boolean' } },
  run: (context, args) => {
    const hour = stringOption(args, 'hour');
    const shards = stringOption(args, 'shards');
    return commitCommand(context, { ...(hour ? { hour } : {}), ...(shards ? { shards } : {}), json: booleanOption(args, 'json') });
  },
};

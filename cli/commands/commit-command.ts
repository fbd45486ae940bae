import type { HourCommitPartOptions } from '../../jobs/hour-commit-part.ts';
import { commitPartOfHour, commitShardsOfHour } from '../../orchestration/shard-hour.ts';
import { parseHour, UsageError, type CliContext } from '../cli-context.ts';
import { booleanOption, stringOption, type CommandDefinition } from '../command-definition.ts';
import { exitCodeOfRuns } from '../exit-codes.ts';
import { shardSpecOption } from './shard-run.ts';
import { formatRunSummary } from '../run-summary.ts';

const COMMIT_HELP = `netflow commit --hour <YYYY-MM-DDTHH> --shards <N> [--parts <M> | --part <j/M>] [--config FILE] [--json]

Publishes an event hour that N workers processed as shards (netflow run --hour H --shard i/N,
i = 0 … N-1): checks that every shard of the hour's recorded listing finished and that its files
are intact, then computes what needs the whole hour (which observation of a connection counts in
totals, the traffic matrix, the alerts, the record counts) over the union of the shards' rows,
checks and publishes every table in one Delta commit per table, delivers the alerts and records
the run in the ledger: the same rows and run id as netflow run --hour H on one machine. Then it
deletes the shards' staging (_shards/<hour>/ in the store). See docs/operations.md.

--part j/M runs part j (0 … M-1) of the commit's work on this worker: the records of one range of
connections from every shard, their counted flags, the flows and violations tables' data files;
it publishes nothing (exit 0 when staged). --parts M then publishes from the M parts: it checks
every part as it checks the shards, adds up the marts and alerts from the parts' rows and
publishes the parts' files. Without --parts (or --parts 1) the commit does all the work itself.
Exit code 0 when published, or already published from the same inputs (said on stderr); 5 when
a shard or part is missing, failed, is stale or ran against another listing (each named): nothing
is published, and running the commit again once they finish can succeed; 1 when the commit itself
failed; 2 on bad usage; 3 when the partition's lock is held past locks.wait.`;

export async function commitCommand(context: CliContext, options: { hour?: string; shards?: string; parts?: string; part?: string; json?: boolean }): Promise<number> {
  if (!options.hour) throw new UsageError('commit needs --hour, for example --hour 2024-05-01T13');
  if (!options.shards || !/^\d+$/.test(options.shards) || Number(options.shards) < 1)
    throw new UsageError(`commit needs --shards N, the number of shards the hour was run as (a positive integer)${options.shards ? `, got "${options.shards}"` : ''}`);
  if (options.parts !== undefined && (!/^\d+$/.test(options.parts) || Number(options.parts) < 1)) throw new UsageError(`--parts M needs a positive integer, got "${options.parts}"`);
  if (options.parts !== undefined && options.part !== undefined) throw new UsageError('give --part j/M (run one part) or --parts M (publish from the parts), not both');
  const hour = parseHour(options.hour);
  const job = { config: context.config, baseDir: context.baseDir, store: context.store, logger: context.logger, hour, shards: Number(options.shards) };
  if (options.part !== undefined) return commitPartCommand(context, { ...job, part: shardSpecOption(options.part) }, options.json ?? false);
  const result = await commitShardsOfHour({ ...job, ...(options.parts ? { parts: Number(options.parts) } : {}) });
  context.stdout(options.json ? `${JSON.stringify(result, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v), 2)}\n` : formatRunSummary(result));
  if (result.status === 'skipped') context.stderr(`netflow commit: hour ${result.hour} already published from the same inputs; nothing to do\n`);
  if (result.status === 'failed' && result.error) context.stderr(`netflow commit: ${result.error}\n`);
  return exitCodeOfRuns([result]);
}

/** `netflow commit --part j/M`: one part of the hour's commit, staged for the final commit. */
async function commitPartCommand(context: CliContext, options: HourCommitPartOptions, json: boolean): Promise<number> {
  const result = await commitPartOfHour(options);
  const label = `netflow commit: hour ${result.hour} part ${result.part.index}/${result.part.count}`;
  context.stdout(
    json
      ? `${JSON.stringify(result, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v), 2)}\n`
      : `${label}  ${result.status.toUpperCase()}  run ${result.runId || '-'}  attempt ${result.attemptId}  ${((result.durationsMs.total ?? 0) / 1000).toFixed(2)} s${result.prefix ? `  under ${result.prefix}` : ''}\n`,
  );
  if (result.status === 'already-staged') context.stderr(`${label}: already staged from the same shards; nothing redone\n`);
  if (result.status === 'skipped') context.stderr(`${label} skipped: the hour is already published from the same inputs\n`);
  if (result.status === 'failed' && result.error) context.stderr(`${label}: ${result.error}\n`);
  return exitCodeOfRuns([result]);
}

export const commitCommandDefinition: CommandDefinition = {
  name: 'commit',
  help: COMMIT_HELP,
  options: { hour: { type: 'string' }, shards: { type: 'string' }, parts: { type: 'string' }, part: { type: 'string' }, json: { type: 'boolean' } },
  run: (context, args) => {
    const given = Object.fromEntries((['hour', 'shards', 'parts', 'part'] as const).flatMap((name) => (stringOption(args, name) === undefined ? [] : [[name, stringOption(args, name)!]])));
    return commitCommand(context, { ...given, json: booleanOption(args, 'json') });
  },
};

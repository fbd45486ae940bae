import { entriesByHour, hourKey, hoursBetween, partitionStatus, publishedSnapshots, type PartitionState } from '../../orchestration/partition-status.ts';
import { runLedgerOf } from '../../orchestration/run-ledger.ts';
import { loadReferenceData, referenceFilesOf } from '../../lib/reference/reference-data.ts';
import { parseHour, UsageError, type CliContext } from '../cli-context.ts';
import { booleanOption, stringOption, type CommandDefinition } from '../command-definition.ts';
import { formatRows } from '../format-rows.ts';

const STATUS_HELP = `netflow status --from <YYYY-MM-DDTHH> --to <YYYY-MM-DDTHH> [--json] [--config FILE]

One line per event hour from --from to --to (UTC, both included), from the partition manifests,
the run ledger and a fresh listing of each hour's raw objects:
  published   every table holds the same run and the raw objects are the ones it read
  late        published, but raw objects were added, changed or removed since (rerun it:
              the scheduler's rescan does, or netflow backfill over the hour)
  outdated    published from the same objects, but the reference data or rules changed since
              (netflow backfill over the hours reruns them; the scheduler does not)
  incomplete  the tables' manifests disagree or the ledger has no record of the published run
  failed      the latest attempt failed (an older version may still be published)
  missing     never published, never attempted
Ends with a count per state. Exit code 0, or 1 when any hour is failed, late, incomplete or missing.`;

/** The hashes a run would record now; undefined (and said) when the reference data cannot be loaded. */
async function currentReference(context: CliContext): Promise<{ referenceHash: string; rulesHash: string } | undefined> {
  try {
    const reference = await loadReferenceData(referenceFilesOf(context.config, context.baseDir));
    return { referenceHash: reference.referenceHash, rulesHash: reference.rulesHash };
  } catch (error) {
    context.logger.warn('reference data could not be loaded: outdated hours are not told apart', { error: (error as Error).message });
    return undefined;
  }
}

export async function statusCommand(context: CliContext, options: { from?: string; to?: string; json: boolean }): Promise<number> {
  if (!options.from || !options.to) throw new UsageError('status needs --from and --to, for example --from 2024-05-01T00 --to 2024-05-01T23');
  const from = parseHour(options.from);
  const to = parseHour(options.to);
  if (to < from) throw new UsageError(`--to (${options.to}) is before --from (${options.from})`);
  const hours = hoursBetween(from, to);
  if (hours.length > 24 * 366) throw new UsageError(`status covers at most a year of hours at once, asked for ${hours.length}`);
  const byHour = entriesByHour(await runLedgerOf(context).entries());
  const reference = await currentReference(context);
  // One snapshot of each table for every hour asked about.
  const snapshots = await publishedSnapshots(context.store);
  const statuses = [];
  for (const hour of hours) {
    statuses.push(
      await partitionStatus({
        store: context.store,
        config: context.config,
        hour,
        entries: byHour.get(hourKey(hour)) ?? [],
        compareInputs: true,
        snapshots,
        ...(reference ? { currentReference: reference } : {}),
      }),
    );
  }
  const counts: Record<PartitionState, number> = { published: 0, late: 0, outdated: 0, incomplete: 0, failed: 0, missing: 0 };
  for (const status of statuses) counts[status.state]++;
  if (options.json) {
    context.stdout(statuses.map((status) => JSON.stringify(status)).join('\n') + '\n');
  } else {
    const rows = statuses.map((status) => ({
      hour: status.hour,
      state: status.state,
      run_id: status.runId ?? '',
      published_at: status.committedAt?.slice(0, 19) ?? '',
      flows: status.flows ?? '',
      last_attempt: status.lastStatus ? `${status.lastStatus} ${status.lastAttemptAt?.slice(0, 19) ?? ''}` : '',
      detail:
        status.lastError ??
        (status.changes && status.state === 'late' ? `${status.changes.added.length} added, ${status.changes.changed.length} changed, ${status.changes.removed.length} removed` : ''),
    }));
    context.stdout(formatRows(rows, ['hour', 'state', 'run_id', 'published_at', 'flows', 'last_attempt', 'detail'], 'table'));
    context.stdout(
      `${Object.entries(counts)
        .map(([state, n]) => `${state} ${n}`)
        .join(', ')}\n`,
    );
  }
  return counts.published + counts.outdated === statuses.length ? 0 : 1;
}

export const statusCommandDefinition: CommandDefinition = {
  name: 'status',
  help: STATUS_HELP,
  maxPositionals: 0,
  options: { from: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' } },
  run: (context, args) => {
    const [from, to] = [stringOption(args, 'from'), stringOption(args, 'to')];
    return statusCommand(context, { ...(from ? { from } : {}), ...(to ? { to } : {}), json: booleanOption(args, 'json') });
  },
};

import { backfill } from '../../orchestration/backfill.ts';
import { parseHour, UsageError, type CliContext } from '../cli-context.ts';
import { booleanOption, stringOption, type CommandDefinition } from '../command-definition.ts';
import { EXIT, exitCodeOfRuns } from '../exit-codes.ts';
import { formatHoursSummary } from '../hours-summary.ts';
import { createProgress } from '../progress.ts';

const BACKFILL_HELP = `netflow backfill --from <YYYY-MM-DDTHH> --to <YYYY-MM-DDTHH> [--parallel N] [--force] [--config FILE]

Runs the hourly job for every event hour from --from to --to (UTC, both included), N hours at a
time (default 1; each hour opens its own DuckDB session, so memory is N × duckdb.memory_limit).
Resumable: an hour already published from the same raw objects (keys, ETags, sizes), reference
data, rules and pipeline version is skipped without running the models; --force reruns it.
Each hour runs under its partition lock and is recorded in the run ledger (trigger "backfill").
A progress bar (hours done / total, rate, ETA) is drawn on stderr when it is a terminal.
SIGINT/SIGTERM stop taking new hours; hours already running finish.
Prints how many hours were published, skipped and failed, then only the hours that need attention
(each failure with its error).
Exit code 0 when no hour failed (skipped hours included), 3 when the only failures are partition
locks held by live runners, 1 otherwise.`;

export async function backfillCommand(context: CliContext, options: { from?: string; to?: string; parallel?: string; force: boolean }): Promise<number> {
  if (!options.from || !options.to) throw new UsageError('backfill needs --from and --to, for example --from 2024-05-01T00 --to 2024-05-07T23');
  const from = parseHour(options.from);
  const to = parseHour(options.to);
  if (to < from) throw new UsageError(`--to (${options.to}) is before --from (${options.from})`);
  const parallel = options.parallel === undefined ? 1 : Number(options.parallel);
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 64) throw new UsageError(`--parallel must be a whole number from 1 to 64, got "${options.parallel}"`);
  const progress = createProgress('hours', context);
  const controller = new AbortController();
  const stop = () => {
    context.logger.warn('backfill stopping: no new hours, waiting for the running ones');
    controller.abort();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let result;
  try {
    result = await backfill({
      config: context.config,
      baseDir: context.baseDir,
      store: context.store,
      logger: context.logger,
      from,
      to,
      parallel,
      force: options.force,
      signal: controller.signal,
      onHourDone: (done, total) => progress.update(done, total),
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    progress.done();
  }
  const attention = result.failed.map((failure) => `${failure.hour}  failed: ${failure.error}`);
  if (result.notStarted.length > 0) attention.push(`${result.notStarted[0]} .. ${result.notStarted.at(-1)}  not started (stopped)`);
  context.stdout(
    formatHoursSummary(
      `backfill ${options.from} .. ${options.to}`,
      result.total,
      [
        { count: result.published.length, label: 'published', always: true },
        { count: result.skipped.length, label: 'skipped', reason: 'unchanged', always: true },
        { count: result.failed.length, label: 'failed', always: true },
        { count: result.notStarted.length, label: 'not started', reason: 'stopped' },
      ],
      attention,
    ),
  );
  if (result.notStarted.length > 0) return EXIT.failed;
  return exitCodeOfRuns(result.failed.map((failure) => ({ status: 'failed', ...failure })));
}

export const backfillCommandDefinition: CommandDefinition = {
  name: 'backfill',
  help: BACKFILL_HELP,
  maxPositionals: 0,
  options: { from: { type: 'string' }, to: { type: 'string' }, parallel: { type: 'string' }, force: { type: 'boolean' } },
  run: (context, args) => {
    const [from, to, parallel] = [stringOption(args, 'from'), stringOption(args, 'to'), stringOption(args, 'parallel')];
    return backfillCommand(context, { ...(from ? { from } : {}), ...(to ? { to } : {}), ...(parallel ? { parallel } : {}), force: booleanOption(args, 'force') });
  },
};

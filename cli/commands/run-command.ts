import { formatBytes } from '../../lib/format/format-bytes.ts';
import { runHourAndRecord, type RunHourResult } from '../../orchestration/run-hour.ts';
import { parseHour, UsageError, type CliContext } from '../cli-context.ts';
import { booleanOption, stringOption, type CommandDefinition } from '../command-definition.ts';
import { exitCodeOfRuns } from '../exit-codes.ts';
import { createProgress } from '../progress.ts';
import { runShardCommand, shardSpecOption } from './shard-run.ts';
import { formatRunSummary } from '../run-summary.ts';

const RUN_HELP = `netflow run --hour <YYYY-MM-DDTHH> [--shard i/N] [--config FILE] [--json]

Runs the hourly job for one event hour (UTC): discovers the raw objects delivered in the hour's
window, normalizes, enriches and checks them, publishes the curated partition atomically and
records the run in the ledger. Prints a summary (or the full result as JSON with --json).
Exit code 0 when the partition was published, or skipped because another runner already published
it from the same inputs (said on stderr); 1 when the run failed; 3 when the partition's lock is
held by a live runner past locks.wait.
With --shard i/N (i from 0 to N-1): processes only shard i of the hour's raw objects (assigned
from the listing the first shard recorded, balanced by bytes) and stages its outputs in the store
for netflow commit --hour H --shards N, which publishes the hour; nothing is published here. Exit
code 0 when the shard is staged (or was already, from the same listing), 1 when it failed.`;

const PHASE_LABELS: Record<string, string> = { stage: 'objects staged', models: 'models built', publish: 'tables published' };

/** One hourly run, recorded in the ledger, with its staging progress drawn on a terminal. */
export async function runHourWithProgress(context: CliContext, hour: Date, trigger?: string): Promise<RunHourResult> {
  const label = hour.toISOString().slice(0, 13);
  const progress = createProgress(`objects staged (${label})`, context);
  let drawing = 'stage';
  try {
    return await runHourAndRecord({
      config: context.config,
      baseDir: context.baseDir,
      store: context.store,
      logger: context.logger,
      hour,
      ...(trigger ? { trigger } : {}),
      onProgress: (phase, done, total, bytes) => {
        // Each phase keeps its own line: staging ends before the models start.
        if (phase !== drawing) progress.done();
        drawing = phase;
        progress.update(done, total, `${PHASE_LABELS[phase] ?? phase} (${label})`, bytes ? `${formatBytes(bytes.done)} of ${formatBytes(bytes.total)}` : undefined);
      },
    });
  } finally {
    progress.done();
  }
}

export async function runCommand(context: CliContext, options: { hour?: string; shard?: string; json?: boolean }): Promise<number> {
  if (!options.hour) throw new UsageError('run needs --hour, for example --hour 2024-05-01T13');
  const hour = parseHour(options.hour);
  if (options.shard !== undefined) return runShardCommand(context, hour, shardSpecOption(options.shard), options.json ?? false);
  const result = await runHourWithProgress(context, hour, 'run');
  context.stdout(options.json ? `${JSON.stringify(result, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v), 2)}\n` : formatRunSummary(result));
  if (result.status === 'skipped') context.stderr(`netflow run: hour ${result.hour} skipped: another runner already published it from the same inputs\n`);
  return exitCodeOfRuns([result]);
}

export const runCommandDefinition: CommandDefinition = {
  name: 'run',
  help: RUN_HELP,
  maxPositionals: 0,
  options: { hour: { type: 'string' }, shard: { type: 'string' }, json: { type: 'boolean' } },
  run: (context, args) => {
    const hour = stringOption(args, 'hour');
    const shard = stringOption(args, 'shard');
    return runCommand(context, { ...(hour ? { hour } : {}), ...(shard !== undefined ? { shard } : {}), json: booleanOption(args, 'json') });
  },
};

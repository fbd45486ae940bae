import { durationMs } from '../../schemas/config.ts';
import { sizeBytes } from '../../schemas/agent-config.ts';
import { hoursBetween, hourKey } from '../../orchestration/partition-status.ts';
import { runLedgerOf } from '../../orchestration/run-ledger.ts';
import { discoverInWindows } from '../../lib/sources/late-objects.ts';
import { deliveryWindow } from '../../lib/sources/source-definition.ts';
import { planHours, throughputOfRuns, type HourBytes, type HoursPlan } from '../../lib/scale-out/plan-hours.ts';
import { parseHour, UsageError, type CliContext } from '../cli-context.ts';
import { booleanOption, stringOption, type CommandDefinition } from '../command-definition.ts';
import { formatRows } from '../format-rows.ts';

const PLAN_HELP = `netflow plan --from <YYYY-MM-DDTHH> --to <YYYY-MM-DDTHH> --workers <W> [--json] [--config FILE]

The hours × shards plan of a range of event hours (UTC, both included) on W workers, and its
expected wall time. Reads nothing but the object listing of the hours' delivery windows (no
downloads) and the run ledger:
  shards per hour  ceil(raw bytes / scale_out.bytes_per_shard), at least 1, at most one per object
  throughput       bytes per second of the ledger's recent published runs of 16 MiB or more, or the
                   bench's default (110 k flows/s of AWS VPC Flow Logs v2) when it has none; the
                   plan says which
  wall time        shards dispatched in index order to the first free worker, each hour's commit
                   after its last shard
One line per hour (objects, bytes, shards, seconds per shard, done at) and a summary; --json prints
the whole plan as one JSON object. Deploying it: docs/scale-out.md.
Exit code 0, or 2 for bad usage; 1 when the listing fails.`;

/** The most hours one plan lists: a year. */
const MAX_HOURS = 24 * 366;

/** Each hour's raw objects, from one listing of every hour's delivery window. */
async function hourBytes(context: CliContext, hours: readonly Date[]): Promise<HourBytes[]> {
  const latenessMs = durationMs(context.config.lateness);
  const found = await discoverInWindows(
    context.store,
    context.config,
    hours.map((hour) => deliveryWindow(hour, latenessMs)),
  );
  const perHour = hours.map((hour) => ({ hour: hourKey(hour), objects: 0, bytes: 0, largestObjectBytes: 0 }));
  for (const { object, windows } of found) {
    for (const index of windows) {
      const hour = perHour[index]!;
      hour.objects++;
      hour.bytes += object.size;
      hour.largestObjectBytes = Math.max(hour.largestObjectBytes, object.size);
    }
  }
  return perHour;
}

const megabytes = (bytes: number) => (bytes / 1e6).toFixed(1);

/** Seconds as `1 h 02 min`, `3 min 05 s` or `42 s`. */
export function formatSeconds(seconds: number): string {
  const whole = Math.ceil(seconds);
  const [h, m, s] = [Math.floor(whole / 3600), Math.floor((whole % 3600) / 60), whole % 60];
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  return m > 0 ? `${m} min ${String(s).padStart(2, '0')} s` : `${s} s`;
}

function planText(plan: HoursPlan): string {
  const rows = plan.hours.map((hour) => ({
    hour: hour.hour,
    objects: hour.objects,
    mb: megabytes(hour.bytes),
    shards: hour.shards,
    shard_s: hour.shardSeconds.toFixed(1),
    commit_s: hour.commitSeconds.toFixed(1),
    done_at: formatSeconds(hour.doneAtSeconds),
  }));
  const throughput =
    plan.throughput.source === 'ledger'
      ? `${megabytes(plan.throughput.bytesPerSecond)} MB/s per worker, measured on the ledger's ${plan.throughput.runs} most recent published runs of 16 MiB or more`
      : `${megabytes(plan.throughput.bytesPerSecond)} MB/s per worker, the default (the ledger has no published run of 16 MiB or more)`;
  return [
    formatRows(rows, ['hour', 'objects', 'mb', 'shards', 'shard_s', 'commit_s', 'done_at'], 'table').trimEnd(),
    '',
    `${plan.hours.length} hours, ${megabytes(plan.totalBytes)} MB, ${plan.totalShards} shards (at most ${plan.maxShards} an hour) of up to ${megabytes(plan.bytesPerShard)} MB on ${plan.workers} workers`,
    `throughput: ${throughput}`,
    `expected wall time: ${formatSeconds(plan.wallSeconds)} (one worker, unsharded: ${formatSeconds(plan.singleWorkerSeconds)})`,
    '',
  ].join('\n');
}

export async function planCommand(context: CliContext, options: { from?: string; to?: string; workers?: string; json: boolean }): Promise<number> {
  if (!options.from || !options.to || !options.workers) throw new UsageError('plan needs --from, --to and --workers, for example --from 2024-05-01T00 --to 2024-05-01T23 --workers 16');
  const from = parseHour(options.from);
  const to = parseHour(options.to);
  if (to < from) throw new UsageError(`--to (${options.to}) is before --from (${options.from})`);
  const workers = Number(options.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 100_000) throw new UsageError(`--workers must be a whole number from 1 to 100000, got "${options.workers}"`);
  const hours = hoursBetween(from, to);
  if (hours.length > MAX_HOURS) throw new UsageError(`plan covers at most a year of hours at once, asked for ${hours.length}`);
  const throughput = throughputOfRuns(await runLedgerOf(context).entries());
  const plan = planHours(await hourBytes(context, hours), { workers, bytesPerShard: sizeBytes(context.config.scale_out.bytes_per_shard), throughput });
  context.stdout(options.json ? `${JSON.stringify(plan)}\n` : planText(plan));
  return 0;
}

export const planCommandDefinition: CommandDefinition = {
  name: 'plan',
  help: PLAN_HELP,
  options: { from: { type: 'string' }, to: { type: 'string' }, workers: { type: 'string' }, json: { type: 'boolean' } },
  run: (context, args) => {
    const [from, to, workers] = [stringOption(args, 'from'), stringOption(args, 'to'), stringOption(args, 'workers')];
    return planCommand(context, { ...(from ? { from } : {}), ...(to ? { to } : {}), ...(workers ? { workers } : {}), json: booleanOption(args, 'json') });
  },
};

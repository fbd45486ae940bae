import type { HourShardResult } from '../../jobs/hour-shard.ts';
import { parseShardSpec, type ShardSpec } from '../../lib/scale-out/shard-assignment.ts';
import { runShardOfHour } from '../../orchestration/shard-hour.ts';
import { UsageError, type CliContext } from '../cli-context.ts';
import { EXIT } from '../exit-codes.ts';

/** `--shard i/N` as a ShardSpec; a bad one is a usage error (exit 2). */
export function shardSpecOption(text: string): ShardSpec {
  try {
    return parseShardSpec(text);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** `netflow run --hour H --shard i/N`: one shard of the hour, staged for `netflow commit`. */
export async function runShardCommand(context: CliContext, hour: Date, shard: ShardSpec, json: boolean): Promise<number> {
  const result = await runShardOfHour({ config: context.config, baseDir: context.baseDir, store: context.store, logger: context.logger, hour, shard });
  context.stdout(json ? `${JSON.stringify(result, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v), 2)}\n` : formatShardSummary(result));
  const label = `netflow run: hour ${result.hour} shard ${shard.index}/${shard.count}`;
  if (result.status === 'already-staged') context.stderr(`${label}: already staged from the same listing (${result.prefix}); nothing redone\n`);
  if (result.status === 'skipped') context.stderr(`${label} skipped: the hour is already published from the same inputs\n`);
  return result.status === 'failed' ? EXIT.failed : EXIT.ok;
}

function formatShardSummary(result: HourShardResult): string {
  const c = result.counts;
  const lines = [
    `hour ${result.hour}  shard ${result.shard.index}/${result.shard.count}  ${result.status.toUpperCase()}  run ${result.runId || '-'}  attempt ${result.attemptId}  ${((result.durationsMs.total ?? 0) / 1000).toFixed(2)} s`,
  ];
  if (result.error) lines.push(`  error: ${result.error}`);
  lines.push(
    `  objects: ${result.objects.length} (${result.bytes} bytes)${result.recordedListing === undefined ? '' : result.recordedListing ? '; recorded the listing of the hour' : '; used the recorded listing'}`,
  );
  if (result.status === 'staged') lines.push(`  records read ${c.records_read}: flows of the hour ${c.flows_published}, quarantined ${c.quarantined}, late ${c.late}; staged under ${result.prefix}`);
  return `${lines.join('\n')}\n`;
}

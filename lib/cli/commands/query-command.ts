import path from 'node:path';
import { openLakeSession } from '../../query/lake-session.ts';
import { formatRows, type OutputFormat } from '../format-rows.ts';
import { UsageError, type CliContext } from '../cli-context.ts';
import { stringOption, type CommandDefinition } from '../command-definition.ts';

const QUERY_HELP = `netflow query "<SQL>" [--format table|csv|json] [--config FILE]

Runs SQL over the curated tables: flows, violations, traffic_matrix, alerts, quarantine,
late_records (records that arrived too late for their hour), and the analytics tables anomalies
and capacity_hourly (netflow analytics), and ocsf_network_activity (flows as OCSF Network Activity
events, docs/ocsf.md). Each table is a
view over the latest published version of every partition (resolved through its manifest).
One read-only statement (SELECT, EXPLAIN); the session can read only the lake's published files. Output: an aligned table (default), CSV,
or NDJSON.`;

export async function queryCommand(context: CliContext, sql: string | undefined, options: { format?: string }): Promise<number> {
  if (!sql) throw new UsageError('query needs SQL, for example: netflow query "SELECT count(*) FROM flows"');
  const format = (options.format ?? 'table') as OutputFormat;
  if (!['table', 'csv', 'json'].includes(format)) throw new UsageError(`--format must be table, csv or json, got "${options.format}"`);
  const lake = await openLakeSession({
    store: context.store,
    workDir: path.resolve(context.baseDir, context.config.work_dir),
    memoryLimit: context.config.duckdb.memory_limit,
    maxTempDirectorySize: context.config.duckdb.max_temp_directory_size,
  });
  try {
    const { columns, rows } = await lake.session.queryReadOnly(sql);
    context.stdout(formatRows(rows, columns, format));
    return 0;
  } catch (error) {
    context.stderr(`query failed: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await lake.close();
  }
}

export const queryCommandDefinition: CommandDefinition = {
  name: 'query',
  summary: 'SQL over the curated tables (flows, violations, traffic_matrix, alerts, quarantine, late_records, anomalies, capacity_hourly)',
  help: QUERY_HELP,
  options: { format: { type: 'string' } },
  run: (context, args) => {
    const format = stringOption(args, 'format');
    return queryCommand(context, args.positionals[0], { ...(format ? { format } : {}) });
  },
};

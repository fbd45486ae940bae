import path from 'node:path';
import { QUERYABLE_TABLES } from '../../schemas/tables/index.ts';
import { openLakeSession, type LakeSession } from '../../lib/query/lake-session.ts';
import { datesOfRange, parseAsOf, partitionRange } from '../../lib/query/read-range.ts';
import { formatRows, type OutputFormat } from '../format-rows.ts';
import { UsageError, type CliContext } from '../cli-context.ts';
import { stringOption, type CommandDefinition } from '../command-definition.ts';

const QUERY_HELP = `netflow query "<SQL>" [--from YYYY-MM-DDTHH] [--to YYYY-MM-DDTHH] [--as-of VERSION|TIME]
             [--format table|csv|json] [--config FILE]

Runs SQL over the curated tables: flows, violations, traffic_matrix, alerts, quarantine,
late_records (records that arrived too late for their hour), and the analytics tables anomalies
and capacity_hourly (netflow analytics), and ocsf_network_activity (flows as OCSF Network Activity
events, docs/ocsf.md). Each table is a view over one snapshot of the table's Delta
log (curated/<table>/_delta_log/), with the partition columns dt and hour last; every file is
checked against the size and SHA-256 its commit recorded before it is read.

  --from, --to   read only the partitions of these hours (both included), found from the log's
                 partition values: nothing else is listed or downloaded
  --as-of        read the tables as of a time (UTC), or the tables the SQL names at a version
                 of their log (netflow history <table>)

One query (SELECT, or EXPLAIN [ANALYZE] of one); the session can read only the snapshot's files and
write nowhere. Output: an aligned table (default), CSV, or NDJSON.`;

export interface QueryOptions {
  format?: string;
  from?: string;
  to?: string;
  asOf?: string;
}

export async function queryCommand(context: CliContext, sql: string | undefined, options: QueryOptions): Promise<number> {
  if (!sql) throw new UsageError('query needs SQL, for example: netflow query "SELECT count(*) FROM flows"');
  const format = (options.format ?? 'table') as OutputFormat;
  if (!['table', 'csv', 'json'].includes(format)) throw new UsageError(`--format must be table, csv or json, got "${options.format}"`);
  let range: ReturnType<typeof partitionRange>;
  let dates: string[] | undefined;
  let asOf: { version: number; tables?: string[] } | { timestamp: Date } | undefined;
  try {
    range = partitionRange(options.from, options.to);
    dates = datesOfRange(options.from, options.to);
    asOf = options.asOf === undefined ? undefined : parseAsOf(options.asOf);
    // A version is a version of each table the SQL names.
    if (asOf && 'version' in asOf) asOf = { ...asOf, tables: QUERYABLE_TABLES.filter((table) => new RegExp(`\\b${table.name}\\b`, 'i').test(sql)).map((table) => table.name) };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  let lake: LakeSession | undefined;
  try {
    lake = await openLakeSession({
      store: context.store,
      workDir: path.resolve(context.baseDir, context.config.work_dir),
      memoryLimit: context.config.duckdb.memory_limit,
      maxTempDirectorySize: context.config.duckdb.max_temp_directory_size,
      ...(range ? { includePartition: (_table: string, partition: { dt: string; hour: string }) => range(partition) } : {}),
      ...(dates ? { dates } : {}),
      ...(asOf ? { asOf } : {}),
    });
    const { columns, rows } = await lake.session.queryReadOnly(sql);
    context.stdout(formatRows(rows, columns, format));
    return 0;
  } catch (error) {
    context.stderr(`query failed: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await lake?.close();
  }
}

export const queryCommandDefinition: CommandDefinition = {
  name: 'query',
  help: QUERY_HELP,
  maxPositionals: 1,
  options: { format: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, 'as-of': { type: 'string' } },
  run: (context, args) => {
    const options: QueryOptions = {};
    for (const [name, key] of [
      ['format', 'format'],
      ['from', 'from'],
      ['to', 'to'],
      ['as-of', 'asOf'],
    ] as const) {
      const value = stringOption(args, name);
      if (value !== undefined) options[key] = value;
    }
    return queryCommand(context, args.positionals[0], options);
  },
};

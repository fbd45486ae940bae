import path from 'node:path';
import type { StoreConfig } from '../../schemas/config.ts';
import { QUERYABLE_TABLES } from '../../schemas/tables/index.ts';
import { DDL_OBJECT_NAMES, engineDdl } from '../../lib/ddl/engine-ddl.ts';
import { ENGINES, type Engine } from '../../lib/ddl/sql-dialect.ts';
import { OCSF_VIEW_NAME } from '../../lib/ocsf/ocsf-network-activity.ts';
import { UsageError, type CliContext } from '../cli-context.ts';
import { stringOption, type CommandDefinition } from '../command-definition.ts';

const DDL_HELP = `netflow ddl --engine athena|trino|spark|duckdb [--location URL] [--table NAME] [--schema NAME] [--catalog NAME]

Prints ready-to-run DDL that registers the curated Delta tables (${QUERYABLE_TABLES.map((table) => table.name).join(', ')})
in another engine, each with its column docs from schemas/, and the OCSF view ${OCSF_VIEW_NAME} over flows.
  --engine    athena: CREATE EXTERNAL TABLE … TBLPROPERTIES ('table_type'='DELTA') (S3 locations only)
              trino:  CALL <catalog>.system.register_table(…) of the Delta Lake connector
              spark:  CREATE TABLE … USING DELTA LOCATION … (delta-spark)
              duckdb: views over delta_scan(…) (DuckDB's delta extension; netflow itself never loads it)
  --location  root of the lake as the engine reads it, e.g. s3://bucket/prefix (default: the configured
              store: its folder, s3://bucket/prefix, or abfss://container@account.dfs.core.windows.net/prefix)
  --table     only this table, or only the view ${OCSF_VIEW_NAME} (which reads the table flows)
  --schema    database/schema to register in (default netflow)
  --catalog   Trino catalog of the Delta Lake connector (default delta)`;

export interface DdlCommandOptions {
  engine?: string;
  location?: string;
  table?: string;
  schema?: string;
  catalog?: string;
}

export function ddlCommand(context: CliContext, options: DdlCommandOptions): number {
  const engine = options.engine;
  if (!engine) throw new UsageError(`ddl needs --engine, one of ${ENGINES.join(', ')}`);
  if (!ENGINES.includes(engine as Engine)) throw new UsageError(`--engine must be one of ${ENGINES.join(', ')}, got "${engine}"`);
  if (options.table !== undefined && !DDL_OBJECT_NAMES.includes(options.table)) {
    throw new UsageError(`--table must be one of ${DDL_OBJECT_NAMES.join(', ')}, got "${options.table}"`);
  }
  for (const [option, value] of [
    ['schema', options.schema],
    ['catalog', options.catalog],
  ] as const) {
    if (value !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) throw new UsageError(`--${option} must be a plain identifier (letters, digits, _), got "${value}"`);
  }
  const location = options.location ?? defaultLocation(context.config.store, context.baseDir);
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/]/.test(location) && !path.isAbsolute(location)) {
    throw new UsageError(`--location must be a URL such as s3://bucket/prefix or an absolute path, got "${location}"`);
  }
  if (engine === 'athena' && !location.startsWith('s3://')) throw new UsageError(`athena reads tables on S3 only: give --location s3://bucket/prefix, got "${location}"`);
  context.stdout(
    engineDdl({
      engine: engine as Engine,
      location,
      schema: options.schema ?? 'netflow',
      catalog: options.catalog ?? 'delta',
      tables: options.table === undefined ? QUERYABLE_TABLES : QUERYABLE_TABLES.filter((table) => table.name === options.table),
      ocsfView: options.table === undefined || options.table === OCSF_VIEW_NAME,
    }),
  );
  return 0;
}

/** Where the configured store keeps the lake, as engines address it. */
function defaultLocation(store: StoreConfig, baseDir: string): string {
  switch (store.type) {
    case 'local':
      return path.resolve(baseDir, store.path);
    case 's3':
      return `s3://${[store.bucket, store.prefix.replace(/^\/+|\/+$/g, '')].filter(Boolean).join('/')}`;
    case 'azure_blob': {
      const account = /^https:\/\/([a-z0-9]+)\.blob\.core\.windows\.net\/?$/.exec(store.account_url)?.[1];
      if (!account || !store.container)
        throw new UsageError(`ddl cannot name an abfss:// location for store.account_url "${store.account_url}"${store.container ? '' : ' without store.container'}: give --location`);
      return `abfss://${[`${store.container}@${account}.dfs.core.windows.net`, store.prefix.replace(/^\/+|\/+$/g, '')].filter(Boolean).join('/')}`;
    }
  }
}

export const ddlCommandDefinition: CommandDefinition = {
  name: 'ddl',
  help: DDL_HELP,
  maxPositionals: 0,
  options: { engine: { type: 'string' }, location: { type: 'string' }, table: { type: 'string' }, schema: { type: 'string' }, catalog: { type: 'string' } },
  run: async (context, args) => {
    const options: DdlCommandOptions = {};
    for (const name of ['engine', 'location', 'table', 'schema', 'catalog'] as const) {
      const value = stringOption(args, name);
      if (value !== undefined) options[name] = value;
    }
    return ddlCommand(context, options);
  },
};

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDbSession, sqlString } from '../../../lib/duckdb/duckdb-session.ts';
import type { Logger } from '../../../lib/log/logger.ts';
import { partitionOf } from '../../../lib/publish/partition-keys.ts';
import { publishPartition } from '../../../lib/publish/publish-partition.ts';
import type { ObjectStore } from '../../../lib/storage/object-store.ts';
import type { TableDefinition } from '../../../schemas/tables/table-definition.ts';
import { dataFileProjectionSql } from '../../../lib/delta/delta-schema.ts';

/** Publishes rows of a curated table, one partition per hour of `hourColumn`, as a job would (Parquet, manifest). */
export async function publishTableRows(options: { store: ObjectStore; workDir: string; logger: Logger; table: TableDefinition; hourColumn: string; rows: Record<string, unknown>[] }): Promise<number> {
  const dir = path.resolve(options.workDir, `rows-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  await mkdir(dir, { recursive: true });
  const input = path.join(dir, 'rows.ndjson');
  await writeFile(input, options.rows.map((row) => JSON.stringify(row, (_k, v) => (v instanceof Date ? v.toISOString().replace('Z', '') : v))).join('\n') + '\n');
  const session = await DuckDbSession.open({ workDir: dir, memoryLimit: '512MB', maxTempDirectorySize: '1GB', threads: 1 });
  try {
    const columns = options.table.columns.map((c) => `${sqlString(c.name)}: ${sqlString(c.type)}`).join(', ');
    await session.run(`CREATE TABLE r AS SELECT * FROM read_json(${sqlString(input)}, format = 'newline_delimited', columns = {${columns}})`);
    const hours = await session.all<{ h: string }>(`SELECT DISTINCT strftime(date_trunc('hour', "${options.hourColumn}"), '%Y-%m-%dT%H') AS h FROM r ORDER BY 1`);
    for (const { h } of hours) {
      const file = path.join(dir, `${h}.parquet`);
      await session.run(`COPY (SELECT ${dataFileProjectionSql(options.table)} FROM r WHERE date_trunc('hour', "${options.hourColumn}") = CAST($1 AS TIMESTAMP)) TO ${sqlString(file)} (FORMAT parquet)`, [`${h.replace('T', ' ')}:00:00`]);
      const rows = Number((await session.all<{ n: bigint }>(`SELECT count(*) AS n FROM read_parquet(${sqlString(file)})`))[0]!.n);
      await publishPartition({ store: options.store, partition: partitionOf(new Date(`${h}:00:00Z`)), runId: `generated-${h}`, attemptId: `g${h.replace(/[-T]/g, '')}`, tables: [{ table: options.table, files: [{ localPath: file, rows }] }], logger: options.logger });
    }
    return hours.length;
  } finally {
    session.close();
  }
}

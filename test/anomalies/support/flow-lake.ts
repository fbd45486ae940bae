import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { flowsTable } from '../../../schemas/tables/index.ts';
import { DuckDbSession, sqlIdentifier, sqlString } from '../../../lib/duckdb/duckdb-session.ts';
import type { Logger } from '../../../lib/log/logger.ts';
import { partitionOf } from '../../../lib/publish/partition-keys.ts';
import { publishPartition } from '../../../lib/publish/publish-partition.ts';
import type { ObjectStore } from '../../../lib/storage/object-store.ts';

/** A generated flow record: the columns detection and capacity read; the rest get neutral values. */
export interface GeneratedFlow {
  start_at: string;
  end_at: string;
  src_ip: string;
  src_port: number | null;
  dst_ip: string;
  dst_port: number | null;
  protocol: number;
  bytes: number;
  /** The destination's answer in the same record (Azure's reverse counters). */
  reverse_bytes?: number | null;
  packets?: number;
  action?: 'accept' | 'reject' | null;
  source_type?: string;
  observer_vm_id?: string | null;
  src_vm_id?: string | null;
  src_vm_name?: string | null;
  src_segment?: string | null;
  src_is_public?: boolean;
  dst_vm_id?: string | null;
  dst_vm_name?: string | null;
  dst_segment?: string | null;
  dst_is_public?: boolean;
  /** Whether the record counts in totals (true unless another observer's record counts the connection). */
  counts_in_totals?: boolean;
}

/**
 * Publishes generated flows into a lake as the hourly job would (one Parquet file per event hour,
 * through a manifest), without raw files: volume tests for the analytics that read curated data.
 */
export async function publishGeneratedFlows(options: { store: ObjectStore; workDir: string; logger: Logger; flows: GeneratedFlow[] }): Promise<number> {
  const workDir = path.resolve(options.workDir, `generated-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  await mkdir(workDir, { recursive: true });
  const input = path.join(workDir, 'flows.ndjson');
  await writeFile(
    input,
    options.flows
      .map((flow, index) =>
        JSON.stringify({
          flow_id: `g${String(index).padStart(8, '0')}`,
          packets: Math.max(1, Math.round(flow.bytes / 800)),
          action: 'accept',
          source_type: 'agent',
          src_is_public: false,
          dst_is_public: false,
          raw_object_key: 'generated',
          raw_offset: index + 1,
          counts_in_totals: true,
          ...flow,
        }),
      )
      .join('\n') + '\n',
  );
  const given = [
    'flow_id',
    'start_at',
    'end_at',
    'source_type',
    'src_ip',
    'src_port',
    'dst_ip',
    'dst_port',
    'protocol',
    'action',
    'packets',
    'bytes',
    'observer_vm_id',
    'src_vm_id',
    'src_vm_name',
    'src_segment',
    'src_is_public',
    'dst_vm_id',
    'dst_vm_name',
    'dst_segment',
    'dst_is_public',
    'raw_object_key',
    'raw_offset',
    'reverse_bytes',
    'counts_in_totals',
  ];
  const session = await DuckDbSession.open({ workDir, memoryLimit: '1GB', maxTempDirectorySize: '1GB', threads: 2 });
  try {
    const columnTypes = flowsTable.columns.filter((col) => given.includes(col.name)).map((col) => `${sqlString(col.name)}: ${sqlString(col.type)}`);
    await session.run(`CREATE TABLE g AS SELECT * FROM read_json(${sqlString(input)}, format = 'newline_delimited', columns = {${columnTypes.join(', ')}})`);
    const select = flowsTable.columns
      .map((col) => {
        if (given.includes(col.name)) return `CAST(${sqlIdentifier(col.name)} AS ${col.type}) AS ${sqlIdentifier(col.name)}`;
        if (col.type === 'VARCHAR[]') return `CAST([] AS VARCHAR[]) AS ${sqlIdentifier(col.name)}`;
        if (col.name === 'verdict') return `'conformant' AS verdict`;
        if (col.name === 'run_id') return `'generated' AS run_id`;
        if (!col.nullable && col.type === 'BOOLEAN') return `false AS ${sqlIdentifier(col.name)}`;
        if (!col.nullable && col.type === 'VARCHAR') return `'' AS ${sqlIdentifier(col.name)}`;
        return `CAST(NULL AS ${col.type}) AS ${sqlIdentifier(col.name)}`;
      })
      .join(', ');
    const hours = await session.all<{ h: string }>(`SELECT DISTINCT strftime(date_trunc('hour', start_at), '%Y-%m-%dT%H') AS h FROM g ORDER BY 1`);
    for (const { h } of hours) {
      const file = path.join(workDir, `flows-${h}.parquet`);
      await session.run(`COPY (SELECT ${select} FROM g WHERE date_trunc('hour', start_at) = CAST($1 AS TIMESTAMP) ORDER BY start_at, flow_id) TO ${sqlString(file)} (FORMAT parquet)`, [
        `${h.replace('T', ' ')}:00:00`,
      ]);
      const rows = Number((await session.all<{ n: bigint }>(`SELECT count(*) AS n FROM read_parquet(${sqlString(file)})`))[0]!.n);
      const hour = new Date(`${h}:00:00Z`);
      await publishPartition({
        store: options.store,
        partition: partitionOf(hour),
        runId: `generated-${h}`,
        attemptId: `g${h.replace(/[-T]/g, '')}`,
        tables: [{ table: flowsTable, files: [{ localPath: file, rows }] }],
        logger: options.logger,
      });
    }
    return hours.length;
  } finally {
    session.close();
  }
}

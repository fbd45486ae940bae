import { sqlIdentifier, sqlString } from '../lib/duckdb/duckdb-session.ts';
import type { TableDefinition } from '../schemas/tables/table-definition.ts';

/**
 * The least a job that publishes `flows` must do with DuckDB alone, for the pipeline benchmark's
 * `--shape-floor`: read the raw AWS VPC Flow Logs text files (as the floor does) and write one
 * Parquet file of the published table's shape (every column of schemas/tables/flows.ts, in its
 * type and order, zstd level 1 as the job writes it). The columns an AWS record fills come from
 * its fields, the flow id is the same md5 of its inputs, and everything else is NULL or a
 * constant: no checks, no line numbers, no Community ID, no enrichment, no rules, no other table.
 * Against it, the job's ratio says how far it is from writing the contract itself.
 */
export function shapeFloorSql(files: readonly string[], table: TableDefinition, out: string): string {
  const fromAwsFields: Record<string, string> = {
    // The offset is no line number (DuckDB's parallel CSV reader gives none): a per-file value of
    // the same size keeps the md5 the same work.
    flow_id: `md5('aws_vpc|' || filename || '|' || srcport || dstport)`,
    start_at: 'to_timestamp("start")',
    end_at: 'to_timestamp("end")',
    source_type: `'aws_vpc'`,
    src_ip: 'srcaddr',
    src_port: 'srcport',
    dst_ip: 'dstaddr',
    dst_port: 'dstport',
    protocol: 'protocol',
    action: 'lower("action")',
    packets: 'packets',
    bytes: 'bytes',
    interface_id: '"interface-id"',
    account_id: '"account-id"',
    src_tags: '[]',
    dst_tags: '[]',
    src_threat_lists: '[]',
    dst_threat_lists: '[]',
    src_is_public: 'false',
    dst_is_public: 'false',
    verdict: `'conformant'`,
    violated_rule_ids: '[]',
    raw_object_key: 'filename',
    raw_offset: 'srcport',
    run_id: `'shape-floor'`,
    counts_in_totals: 'true',
    source_version: '"version"',
  };
  const projection = table.columns.map((column) => `CAST(${fromAwsFields[column.name] ?? 'NULL'} AS ${column.type}) AS ${sqlIdentifier(column.name)}`).join(', ');
  return `COPY (SELECT ${projection} FROM read_csv([${files.map(sqlString).join(', ')}], delim = ' ', header = true, filename = true))
    TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)`;
}

import type { ColumnType, TableDefinition } from '../../schemas/tables/table-definition.ts';

/**
 * How each contract type is written for every engine that reads the lake: the Delta log's schema
 * (Spark's StructType JSON), and the DDL dialects of Spark SQL, Trino, Athena and DuckDB. One table
 * for all of them, so that a type added to `ColumnType` fails to compile until every engine has it.
 *
 * TIMESTAMP is Delta's `timestamp` (microseconds, adjusted to UTC): data files must carry it as a
 * UTC-adjusted Parquet timestamp (DuckDB TIMESTAMPTZ), not `timestamp_ntz`, which is a table
 * feature that locks out older readers.
 */
export type DeltaPrimitive = 'string' | 'integer' | 'long' | 'double' | 'boolean' | 'timestamp';
export type DeltaType = DeltaPrimitive | { type: 'array'; elementType: DeltaPrimitive; containsNull: boolean };

export interface EngineTypes {
  delta: DeltaType;
  spark: string;
  trino: string;
  athena: string;
  duckdb: string;
}

export const ENGINE_TYPES: Readonly<Record<ColumnType, EngineTypes>> = {
  VARCHAR: { delta: 'string', spark: 'STRING', trino: 'varchar', athena: 'string', duckdb: 'VARCHAR' },
  INTEGER: { delta: 'integer', spark: 'INT', trino: 'integer', athena: 'int', duckdb: 'INTEGER' },
  BIGINT: { delta: 'long', spark: 'BIGINT', trino: 'bigint', athena: 'bigint', duckdb: 'BIGINT' },
  DOUBLE: { delta: 'double', spark: 'DOUBLE', trino: 'double', athena: 'double', duckdb: 'DOUBLE' },
  BOOLEAN: { delta: 'boolean', spark: 'BOOLEAN', trino: 'boolean', athena: 'boolean', duckdb: 'BOOLEAN' },
  TIMESTAMP: { delta: 'timestamp', spark: 'TIMESTAMP', trino: 'timestamp(3) with time zone', athena: 'timestamp', duckdb: 'TIMESTAMPTZ' },
  'VARCHAR[]': {
    delta: { type: 'array', elementType: 'string', containsNull: true },
    spark: 'ARRAY<STRING>',
    trino: 'array(varchar)',
    athena: 'array<string>',
    duckdb: 'VARCHAR[]',
  },
};

/**
 * The Hive-style partition columns of every curated table (`dt=YYYY-MM-DD/hour=HH/`). Strings, so
 * that a partition value reads back exactly as its folder name (`hour=03`, not 3), in every engine.
 * They live in the folder names and the log's `partitionValues`, never in the data files.
 */
export const PARTITION_COLUMNS = [
  { name: 'dt', type: 'VARCHAR', nullable: false, doc: 'event date of the partition (UTC), YYYY-MM-DD' },
  { name: 'hour', type: 'VARCHAR', nullable: false, doc: 'event hour of the partition (UTC), two digits 00-23' },
] as const satisfies readonly { name: string; type: ColumnType; nullable: boolean; doc: string }[];

/** A table's columns as every engine sees them: the contract's columns, then the partition columns. */
export function engineColumns(table: TableDefinition): readonly { name: string; type: ColumnType; nullable: boolean; doc: string }[] {
  return [...table.columns, ...PARTITION_COLUMNS];
}

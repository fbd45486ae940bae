import type { TableDefinition } from '../../schemas/tables/table-definition.ts';
import { engineColumns, ENGINE_TYPES, PARTITION_COLUMNS, type DeltaType } from './column-types.ts';

interface StructField {
  name: string;
  type: DeltaType;
  nullable: boolean;
  metadata: { comment: string };
}

/**
 * A table's `schemaString`: Spark's StructType JSON of the contract's columns and the partition
 * columns, each type mapped by column-types.ts, each column's doc as its comment.
 */
export function schemaStringOf(table: TableDefinition): string {
  const fields: StructField[] = engineColumns(table).map((column) => ({
    name: column.name,
    type: ENGINE_TYPES[column.type].delta,
    nullable: column.nullable,
    metadata: { comment: column.doc },
  }));
  return JSON.stringify({ type: 'struct', fields });
}

export const PARTITION_COLUMN_NAMES: readonly string[] = PARTITION_COLUMNS.map((column) => column.name);

/** The Parquet projection of a data file: the contract's columns in order, each cast to the type its Delta type needs (TIMESTAMP as TIMESTAMPTZ). */
export function dataFileProjectionSql(table: TableDefinition): string {
  return table.columns.map((col) => `CAST("${col.name}" AS ${ENGINE_TYPES[col.type].duckdb}) AS "${col.name}"`).join(',\n  ');
}

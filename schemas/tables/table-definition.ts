/**
 * A curated table's contract, declared once: its columns (name, DuckDB type, nullability and a
 * one-line doc), from which the published Parquet projection, the schema check of written files,
 * the TypeScript row type and the docs are all derived. Columns are only ever added; a breaking
 * change is a new table version.
 */
export type ColumnType = 'VARCHAR' | 'INTEGER' | 'BIGINT' | 'DOUBLE' | 'BOOLEAN' | 'TIMESTAMP' | 'VARCHAR[]';

export interface ColumnDefinition {
  name: string;
  type: ColumnType;
  /** False: every written file is checked to hold no NULL in the column (jobs/hourly-etl.ts). */
  nullable: boolean;
  doc: string;
  /** The only values the column may hold (besides NULL where nullable); checked on every written file too. */
  values?: readonly string[];
}

export interface TableDefinition<Columns extends readonly ColumnDefinition[] = readonly ColumnDefinition[]> {
  name: string;
  /** Root prefix in the object store (`curated`): the table is the Delta table `<root>/<name>/`. */
  root: string;
  schemaVersion: number;
  /** Sort order of the published rows, which makes reruns byte-comparable. */
  orderBy: readonly string[];
  columns: Columns;
  doc: string;
}

type TsType<T extends ColumnType> = T extends 'VARCHAR'
  ? string
  : T extends 'INTEGER' | 'DOUBLE'
    ? number
    : T extends 'BIGINT'
      ? bigint
      : T extends 'BOOLEAN'
        ? boolean
        : T extends 'TIMESTAMP'
          ? Date
          : string[];

/** The row type of a table as DuckDB's JS reader returns it. */
export type RowOf<Table extends TableDefinition> = {
  [Column in Table['columns'][number] as Column['name']]: Column['nullable'] extends true ? TsType<Column['type']> | null : TsType<Column['type']>;
};

export function column<const Name extends string, const Type extends ColumnType, const Nullable extends boolean>(
  name: Name,
  type: Type,
  nullable: Nullable,
  doc: string,
  values?: readonly string[],
): { name: Name; type: Type; nullable: Nullable; doc: string; values?: readonly string[] } {
  return values ? { name, type, nullable, doc, values } : { name, type, nullable, doc };
}

export function defineTable<const Columns extends readonly ColumnDefinition[]>(table: TableDefinition<Columns>): TableDefinition<Columns> {
  return table;
}

/** Columns of another table, by name and with their types and docs: one declaration for a column two tables share. */
export function pickColumns<const Columns extends readonly ColumnDefinition[], const Names extends readonly Columns[number]['name'][]>(
  table: TableDefinition<Columns>,
  ...names: Names
): { [K in keyof Names]: Extract<Columns[number], { name: Names[K] }> } {
  return names.map((name) => {
    const found = table.columns.find((col) => col.name === name);
    if (!found) throw new Error(`table ${table.name} has no column ${name}`);
    return found;
  }) as { [K in keyof Names]: Extract<Columns[number], { name: Names[K] }> };
}

/** The SELECT list that casts a model's output to the contract, in the declared column order. */
export function projectionSql(table: TableDefinition): string {
  return table.columns.map((col) => `CAST("${col.name}" AS ${col.type}) AS "${col.name}"`).join(',\n  ');
}

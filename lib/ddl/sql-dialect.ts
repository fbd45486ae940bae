import type { ColumnType } from '../../schemas/tables/table-definition.ts';
import { ENGINE_TYPES } from '../delta/column-types.ts';

export type Engine = 'athena' | 'trino' | 'spark' | 'duckdb';
export const ENGINES: readonly Engine[] = ['athena', 'trino', 'spark', 'duckdb'];

/**
 * What differs between the engines' SQL for a view over the lake: identifier quoting, the types of a
 * query's CASTs, struct and list constructors, and epoch milliseconds. Everything else the views
 * use (CASE, COALESCE, +, CAST) is the same standard SQL in all four.
 */
export interface SqlDialect {
  engine: Engine;
  quote(identifier: string): string;
  /** A string literal (Spark escapes with backslashes: two quotes in a row are two literals to it). */
  string(text: string): string;
  /** A contract type as a query's CAST writes it (Athena's DML is Trino's, its DDL is Hive's). */
  type(type: ColumnType): string;
  structType(fields: readonly (readonly [name: string, type: string])[]): string;
  listType(element: string): string;
  /** A struct value with named fields; `type` is its structType (Trino names ROW fields only by a CAST). */
  struct(fields: readonly (readonly [name: string, sql: string])[], type: string): string;
  list(items: readonly string[]): string;
  /** Milliseconds since the epoch of a timestamp (OCSF's timestamp_t), before the CAST to BIGINT. */
  epochMs(sql: string): string;
}

const doubleQuote = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;
const standardString = (text: string) => `'${text.replaceAll("'", "''")}'`;

const duckdb: SqlDialect = {
  engine: 'duckdb',
  quote: doubleQuote,
  string: standardString,
  type: (type) => ENGINE_TYPES[type].duckdb,
  structType: (fields) => `STRUCT(${fields.map(([name, type]) => `${doubleQuote(name)} ${type}`).join(', ')})`,
  listType: (element) => `${element}[]`,
  struct: (fields) => `struct_pack(${fields.map(([name, sql]) => `${doubleQuote(name)} := ${sql}`).join(', ')})`,
  list: (items) => `[${items.join(', ')}]`,
  epochMs: (sql) => `epoch_ms(${sql})`,
};

const spark: SqlDialect = {
  engine: 'spark',
  quote: (identifier) => `\`${identifier.replaceAll('`', '``')}\``,
  string: (text) => `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`,
  type: (type) => ENGINE_TYPES[type].spark,
  structType: (fields) => `STRUCT<${fields.map(([name, type]) => `${name}: ${type}`).join(', ')}>`,
  listType: (element) => `ARRAY<${element}>`,
  struct: (fields) => `named_struct(${fields.map(([name, sql]) => `'${name}', ${sql}`).join(', ')})`,
  list: (items) => `array(${items.join(', ')})`,
  epochMs: (sql) => `unix_millis(${sql})`,
};

const trinoLike = (engine: 'trino' | 'athena', type: (type: ColumnType) => string): SqlDialect => ({
  engine,
  quote: doubleQuote,
  string: standardString,
  type,
  structType: (fields) => `ROW(${fields.map(([name, fieldType]) => `${doubleQuote(name)} ${fieldType}`).join(', ')})`,
  listType: (element) => `ARRAY(${element})`,
  struct: (fields, structType) => `CAST(ROW(${fields.map(([, sql]) => sql).join(', ')}) AS ${structType})`,
  list: (items) => `ARRAY[${items.join(', ')}]`,
  epochMs: (sql) => `to_unixtime(${sql}) * 1000`,
});

/** Athena reads a Delta `timestamp` as its own millisecond `timestamp`; its other types in queries are Trino's. */
const athenaQueryType = (type: ColumnType) => (type === 'TIMESTAMP' ? 'timestamp' : ENGINE_TYPES[type].trino);

export const SQL_DIALECTS: Readonly<Record<Engine, SqlDialect>> = {
  duckdb,
  spark,
  trino: trinoLike('trino', (type) => ENGINE_TYPES[type].trino),
  athena: trinoLike('athena', athenaQueryType),
};

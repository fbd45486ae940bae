import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, type Compilable } from 'kysely';
import type { CompiledSql } from '../duckdb/duckdb-session.ts';

/**
 * Kysely as a compiler only: queries are built with it, compiled to `{sql, parameters}` and run
 * by our DuckDB session. DuckDB accepts PostgreSQL's `$n` placeholders and double-quoted
 * identifiers, so the PostgreSQL compiler fits; the dummy driver makes sure kysely never executes.
 */
export function createQueryBuilder<Database>(): Kysely<Database> {
  return new Kysely<Database>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
}

export function compileSql(query: Compilable): CompiledSql {
  const compiled = query.compile();
  return { sql: compiled.sql, parameters: compiled.parameters };
}

import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { loadMacroFiles } from '../../lib/net/sql-macros.ts';

/** The macro files under test; any other file in sql/macros (another feature's) is not loaded. */
const MACRO_FILES = ['00_ip.sql', '10_community_id.sql'];

export type SqlRow = Record<string, unknown>;

export interface MacroDb {
  all<T extends object = SqlRow>(sql: string): Promise<T[]>;
  close(): void;
}

/** An in-memory DuckDB with the IP and Community ID macros created, as a session sets them up. */
export async function openMacroDb(): Promise<MacroDb> {
  const instance = await DuckDBInstance.create(':memory:', {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  const connection = await instance.connect();
  try {
    for (const macro of await loadMacroFiles()) {
      if (!MACRO_FILES.includes(path.basename(macro.file))) continue;
      const statements = await connection.extractStatements(macro.sql);
      for (let index = 0; index < statements.count; index++) {
        const prepared = await statements.prepare(index);
        try {
          await prepared.run();
        } finally {
          prepared.destroySync();
        }
      }
    }
  } catch (error) {
    connection.closeSync();
    instance.closeSync();
    throw error;
  }
  return {
    async all<T extends object = SqlRow>(sql: string): Promise<T[]> {
      return (await connection.runAndReadAll(sql)).getRowObjectsJson() as T[];
    },
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** A SQL literal for a test value: NULL, a number, or a quoted string. */
export function sqlLiteral(value: string | number | null): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number') return String(value);
  return `'${value.replaceAll("'", "''")}'`;
}

/** `(VALUES (...), (...)) AS name(col, ...)` with an ordinal `i` column first, for batched cases. */
export function valuesTable(name: string, columns: string[], rows: (string | number | null)[][]): string {
  const body = rows.map((row, index) => `(${[index, ...row].map(sqlLiteral).join(', ')})`).join(',\n');
  return `(VALUES ${body}) AS ${name}(i, ${columns.join(', ')})`;
}

/**
 * One query for every case of the table-driven suites of a file: planning a query over these
 * macros costs far more than its rows (about 250 ms for one Community ID), so each case registers
 * its input when the suite is defined and the first test to ask runs them all at once.
 */
export class CaseBatch<I, O> {
  private readonly inputs: I[] = [];
  private results: Promise<O[]> | undefined;

  constructor(private readonly run: (inputs: I[]) => Promise<O[]>) {}

  /** Registers an input (at definition time); the returned function resolves to its output. */
  add(input: I): () => Promise<O> {
    const index = this.inputs.push(input) - 1;
    return async () => (await (this.results ??= this.run(this.inputs)))[index]!;
  }
}

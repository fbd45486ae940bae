import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance, StatementType, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';

export interface DuckDbSessionOptions {
  /** The only folder the session may read or write; everything else is refused by DuckDB itself. */
  workDir: string;
  /** Further folders the session may read (published Parquet for the query command). */
  readableDirs?: string[];
  /** Single files the session may read besides those folders (a snapshot's data files, and no other file of their folders). */
  readableFiles?: string[];
  memoryLimit: string;
  maxTempDirectorySize: string;
  threads?: number;
  /**
   * Plan every join as written: the left input is probed, the right one is the hash table. For
   * sessions that run our own models, whose joins are written that way: DuckDB estimates a
   * filtered relation at a fraction of its rows and then builds its hash tables from the big
   * side (the flows of the hour: 3-4x the work and spilling at a million flows).
   */
  joinsAsWritten?: boolean;
}

/** A SQL statement with its bound values: the boundary between compiling and executing. */
export interface CompiledSql {
  sql: string;
  parameters: readonly unknown[];
}

export type Row = Record<string, unknown>;

/**
 * One locked-down DuckDB session per job: file access limited to the job's work directory,
 * memory and temp-size limits set, no extension auto-install, and the configuration locked
 * before any model or user SQL runs, so nothing later can lift these limits.
 */
export class DuckDbSession {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    /** The one directory the session may write (absolute). */
    readonly workDir: string,
  ) {}

  static async open(options: DuckDbSessionOptions): Promise<DuckDbSession> {
    const workDir = path.resolve(options.workDir);
    const tempDir = path.join(workDir, 'duckdb-temp');
    await mkdir(tempDir, { recursive: true });
    const instance = await DuckDBInstance.create(':memory:', {
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
      ...(options.threads ? { threads: String(options.threads) } : {}),
    });
    const connection = await instance.connect();
    const session = new DuckDbSession(instance, connection, workDir);
    try {
      const dirs = [workDir, ...(options.readableDirs ?? []).map((dir) => path.resolve(dir))].map((dir) => `${dir}/`);
      await session.run(`SET allowed_directories = [${dirs.map(sqlString).join(', ')}]`);
      if (options.readableFiles?.length) await session.run(`SET allowed_paths = [${options.readableFiles.map((file) => sqlString(path.resolve(file))).join(', ')}]`);
      // Timestamps adjusted to UTC (TIMESTAMPTZ, what Delta's `timestamp` is) convert in UTC whatever the machine's zone.
      await session.run(`SET TimeZone = 'UTC'`);
      await session.run(`SET temp_directory = ${sqlString(tempDir)}`);
      await session.run(`SET memory_limit = ${sqlString(options.memoryLimit)}`);
      await session.run(`SET max_temp_directory_size = ${sqlString(options.maxTempDirectorySize)}`);
      await session.run(`SET preserve_insertion_order = false`);
      await session.run(`SET enable_external_access = false`);
      await session.run(`SET allow_community_extensions = false`);
      if (options.joinsAsWritten) await session.run(`SET disabled_optimizers = 'join_order,build_side_probe_side'`);
      await session.run(`SET lock_configuration = true`);
    } catch (error) {
      session.close();
      throw error;
    }
    return session;
  }

  async run(sql: string, parameters: readonly unknown[] = []): Promise<void> {
    await this.connection.run(sql, parameters.length ? (parameters as DuckDBValue[]) : undefined);
  }

  async all<T extends Row = Row>(sql: string, parameters: readonly unknown[] = []): Promise<T[]> {
    const reader = await this.connection.runAndReadAll(sql, parameters.length ? (parameters as DuckDBValue[]) : undefined);
    return reader.getRowObjectsJS() as T[];
  }

  /** Rows plus column names in result order (known even when there are no rows). */
  async query(sql: string, parameters: readonly unknown[] = []): Promise<{ columns: string[]; rows: Row[] }> {
    const reader = await this.connection.runAndReadAll(sql, parameters.length ? (parameters as DuckDBValue[]) : undefined);
    return { columns: reader.columnNames(), rows: reader.getRowObjectsJS() as Row[] };
  }

  /**
   * Runs exactly one statement that can only read (SELECT, which includes DESCRIBE, SHOW and
   * SUMMARIZE, or EXPLAIN): the path for SQL typed by people. allowed_directories grants writing
   * as well as reading, so without this a `COPY … TO` into a readable folder (the lake's published
   * version folders, for the query command) would overwrite published files.
   */
  async queryReadOnly(sql: string): Promise<{ columns: string[]; rows: Row[] }> {
    const extracted = await this.connection.extractStatements(sql);
    if (extracted.count !== 1) throw new ReadOnlyStatementError(`expected exactly one SQL statement, got ${extracted.count}`);
    const prepared = await extracted.prepare(0);
    if (prepared.statementType !== StatementType.SELECT && prepared.statementType !== StatementType.EXPLAIN) {
      const kind = StatementType[prepared.statementType] ?? String(prepared.statementType);
      throw new ReadOnlyStatementError(`only SELECT (or EXPLAIN) statements may run here, not ${kind}`);
    }
    const reader = await prepared.runAndReadAll();
    return { columns: reader.columnNames(), rows: reader.getRowObjectsJS() as Row[] };
  }

  async execute<T extends Row = Row>(compiled: CompiledSql): Promise<T[]> {
    return this.all<T>(compiled.sql, compiled.parameters);
  }

  /** Runs several `;`-separated statements (macro files, model setup). */
  async runScript(sql: string): Promise<void> {
    const extracted = await this.connection.extractStatements(sql);
    for (let index = 0; index < extracted.count; index++) {
      const prepared = await extracted.prepare(index);
      await prepared.run();
    }
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

export class ReadOnlyStatementError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReadOnlyStatementError';
  }
}

/** Quotes a string literal for the few settings DuckDB does not accept as parameters. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

export function sqlIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

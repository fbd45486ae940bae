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
    return { columns: reader.columnNames(), rows: reader.getRowObjectsJS() };
  }

  /**
   * Runs exactly one plain query (SELECT, which includes DESCRIBE, SHOW and SUMMARIZE), or an
   * EXPLAIN [ANALYZE] of one: the path for SQL typed by people. allowed_directories and
   * allowed_paths grant writing as well as reading, so anything else (COPY, ATTACH, SET, INSTALL,
   * LOAD, PRAGMA, CALL, and EXPLAIN ANALYZE of any of them, which runs it) is refused before it runs.
   */
  async queryReadOnly(sql: string): Promise<{ columns: string[]; rows: Row[] }> {
    const extracted = await this.connection.extractStatements(sql);
    if (extracted.count !== 1) throw new ReadOnlyStatementError(`expected exactly one SQL statement, got ${extracted.count}`);
    // The explained statement is checked before the EXPLAIN is even prepared.
    const explain = /^EXPLAIN\b/i.test(withoutLeadingComments(sql));
    if (explain) await this.assertPlainQuery(explainedStatement(sql));
    const prepared = await extracted.prepare(0);
    // A prepared statement holds native memory until destroyed, whether it ran, failed or was refused.
    try {
      const expected = explain ? StatementType.EXPLAIN : StatementType.SELECT;
      if (prepared.statementType !== expected || (!explain && !startsAsQuery(sql))) {
        throw new ReadOnlyStatementError(`only a query (SELECT) or an EXPLAIN of one may run here, not ${StatementType[prepared.statementType] ?? String(prepared.statementType)}`);
      }
      const reader = await prepared.runAndReadAll();
      return { columns: reader.columnNames(), rows: reader.getRowObjectsJS() };
    } finally {
      prepared.destroySync();
    }
  }

  /** Throws unless the text is one SELECT (prepared, never run). */
  private async assertPlainQuery(sql: string | undefined): Promise<void> {
    const refuse = (what: string) => new ReadOnlyStatementError(`EXPLAIN may only explain a query (SELECT) here, not ${what}`);
    if (sql === undefined) throw refuse('this form of EXPLAIN');
    const inner = await this.connection.extractStatements(sql).catch(() => undefined);
    if (!inner || inner.count !== 1) throw refuse('that text');
    const prepared = await inner.prepare(0).catch(() => undefined);
    if (!prepared) throw refuse('that text');
    if (prepared.statementType !== StatementType.SELECT || !startsAsQuery(sql)) throw refuse(StatementType[prepared.statementType] ?? String(prepared.statementType));
  }

  async execute<T extends Row = Row>(compiled: CompiledSql): Promise<T[]> {
    return this.all<T>(compiled.sql, compiled.parameters);
  }

  /** Runs several `;`-separated statements (macro files, model setup). */
  async runScript(sql: string): Promise<void> {
    const extracted = await this.connection.extractStatements(sql);
    for (let index = 0; index < extracted.count; index++) {
      const prepared = await extracted.prepare(index);
      try {
        await prepared.run();
      } finally {
        prepared.destroySync();
      }
    }
  }

  private closed = false;

  /** Idempotent: a job closes its session as soon as DuckDB's memory is no longer needed, and again in its `finally`. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/**
 * The statement an `EXPLAIN [ANALYZE]` explains: the text after the keywords, past leading
 * comments. Undefined for any other form (an option list, a comment between the keywords), which
 * is then refused rather than guessed at.
 */
export function explainedStatement(sql: string): string | undefined {
  const text = withoutLeadingComments(sql);
  const match = /^EXPLAIN\s+(?:ANALY[SZ]E\s+)?/i.exec(text);
  if (!match) return undefined;
  const rest = text.slice(match[0].length);
  return /^[(]/.test(rest.trimStart()) ? undefined : rest;
}

function withoutLeadingComments(sql: string): string {
  return sql.replace(/^(\s+|--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/)*/, '');
}

/**
 * DuckDB plans some statements that are not queries as SELECTs (`PRAGMA database_list` becomes a
 * table function call), so the statement must also start with a query's first word.
 */
function startsAsQuery(sql: string): boolean {
  return /^(SELECT|WITH|FROM|VALUES|TABLE|DESCRIBE|SHOW|SUMMARIZE)\b|^\(/i.test(withoutLeadingComments(sql));
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

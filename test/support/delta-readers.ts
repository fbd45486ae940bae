import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { openLakeSession } from '../../lib/query/lake-session.ts';
import type { ObjectStore } from '../../lib/storage/object-store.ts';
import { REPO_ROOT } from './lake-fixture.ts';
import { requireTool, requireTools, type ToolGuard } from './require-tool.ts';

const run = promisify(execFile);

/** Where .ci/run installs the independent Delta readers (a Python venv and the delta-spark jars). */
export const READERS_DIR = path.join(REPO_ROOT, '.cache', 'readers');
export const PINNED = { deltalake: '1.1.4', pyspark: '3.5.5', deltaSpark: '3.3.2', hadoopAws: '3.3.4' } as const;
const INSTALL_HINT = 'install with .ci/install-delta-readers (pip deltalake, pyspark, delta-spark; mvn delta jars)';
const S3A_INSTALL_HINT = 'install with .ci/install-delta-readers (mvn hadoop-aws and aws-java-sdk-bundle into .cache/readers/jars-s3a)';

export interface DeltaReaders {
  python: string;
  /** Null when the reader is available, else the one line saying what is missing and how to install it. */
  deltalakeMissing: string | null;
  sparkMissing: string | null;
  sparkJars: string[];
  /** Spark's S3 filesystem (s3a): hadoop-aws and the AWS SDK bundle it was built against, added to spark.jars for a lake on S3. */
  s3aJars: string[];
  s3aMissing: string | null;
}

/** Finds the readers; `deltaReaderGuards` turns what is missing into skips (or failures under NETFLOW_REQUIRE_SYSTEM_TESTS=1). */
export function findDeltaReaders(): DeltaReaders {
  const venvPython = path.join(READERS_DIR, 'venv', 'bin', 'python');
  const python = process.env.NETFLOW_READERS_PYTHON ?? (existsSync(venvPython) ? venvPython : 'python3');
  const jarsDir = process.env.NETFLOW_DELTA_JARS ?? path.join(READERS_DIR, 'jars');
  const s3aDir = path.join(READERS_DIR, 'jars-s3a');
  const jarsIn = (dir: string) =>
    existsSync(dir)
      ? readdirSync(dir)
          .filter((name) => name.endsWith('.jar'))
          .map((name) => path.join(dir, name))
      : [];
  const sparkJars = jarsIn(jarsDir);
  const s3aJars = jarsIn(s3aDir);
  // Synchronous on purpose: skipIf needs the answer when the suite is declared.
  const importable = (module: string) => spawnSync(python, ['-c', `import ${module}`]).status === 0;
  const deltalakeMissing = importable('deltalake') ? null : `deltalake (delta-rs) not found for ${python}: ${INSTALL_HINT}`;
  const sparkMissing = importable('pyspark') && importable('delta') && sparkJars.length > 0 ? null : `pyspark with delta-spark jars not found (${python}, ${jarsDir}): ${INSTALL_HINT}`;
  const s3aMissing = s3aJars.some((jar) => path.basename(jar).startsWith('hadoop-aws-')) ? null : `hadoop-aws (Spark's s3a filesystem) not found in ${s3aDir}: ${S3A_INSTALL_HINT}`;
  return { python, deltalakeMissing, sparkMissing, sparkJars, s3aJars, s3aMissing };
}

/**
 * The readers as test guards (test/support/require-tool.ts): each skips its tests with one line
 * naming it and its install step where it is missing, or fails them under
 * NETFLOW_REQUIRE_SYSTEM_TESTS=1; `any` runs a suite when at least one reader is there.
 */
export function deltaReaderGuards(readers: DeltaReaders): { deltalake: ToolGuard; spark: ToolGuard; sparkS3: ToolGuard; both: ToolGuard; any: ToolGuard } {
  const deltalake = requireTool('Python module deltalake (delta-rs)', INSTALL_HINT, () => readers.deltalakeMissing ?? true);
  const spark = requireTool('pyspark with the delta-spark jars', INSTALL_HINT, () => readers.sparkMissing ?? true);
  const sparkS3 = requireTools(
    spark,
    requireTool('hadoop-aws jars for Spark on S3', S3A_INSTALL_HINT, () => readers.s3aMissing ?? true),
  );
  const both = requireTools(deltalake, spark);
  return { deltalake, spark, sparkS3, both, any: deltalake.available || spark.available ? requireTools() : both };
}

export interface ReaderRequest {
  reader: 'deltalake' | 'spark';
  /** Table name to its location (a path), or with spark_ddl to its name in Spark's catalog. */
  tables: Record<string, string>;
  spark_ddl?: string;
  /** SQL Spark runs after the DDL, with its schema current (filters that let Spark skip files by the log's stats). */
  spark_queries?: Record<string, string>;
  write_fixture?: string;
  /** delta-rs's options for a lake on object storage (endpoint, credentials), as `DeltaTable(…, storage_options=)` takes them. */
  storage_options?: Record<string, string>;
  /** Spark settings added to the session's (the s3a filesystem's endpoint and credentials). */
  spark_conf?: Record<string, string>;
  /** Jars added to the delta-spark ones (hadoop-aws for s3a). */
  extra_jars?: string[];
}

export interface ReaderResult {
  versions: Record<string, string>;
  tables: Record<string, { columns: string[]; rows: Record<string, unknown>[] }>;
  seconds: Record<string, number>;
}

/** Runs test/interop/read-delta-tables.py as its own process, one per scenario. */
export async function readWithPython(readers: DeltaReaders, workDir: string, request: ReaderRequest): Promise<ReaderResult> {
  const requestFile = path.join(workDir, `${request.reader}-request.json`);
  const outputFile = path.join(workDir, `${request.reader}-output.json`);
  const { extra_jars: extraJars = [], ...rest } = request;
  await writeFile(requestFile, JSON.stringify({ ...rest, spark_jars: [...readers.sparkJars, ...extraJars] }));
  const readOnce = () =>
    run(readers.python, [path.join(REPO_ROOT, 'test', 'interop', 'read-delta-tables.py'), requestFile, outputFile], {
      env: { ...process.env, TZ: 'UTC', NETFLOW_SPARK_SCRATCH: workDir },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 600_000,
    });
  try {
    try {
      await readOnce();
    } catch (error) {
      // delta-rs 1.1.4 once aborted natively ("terminate called without an active exception",
      // SIGABRT) in a run that passed six times alone: a process killed by a signal, not one that
      // answered with an error, runs once more from scratch, and the run says so.
      const { signal } = error as { signal?: string | null };
      if (!signal || signal === 'SIGTERM') throw error;
      process.stdout.write(`[interop] the ${request.reader} reader process died of ${signal}; running it once more\n`);
      if (request.write_fixture) await rm(request.write_fixture, { recursive: true, force: true });
      await readOnce();
    }
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(
      `${request.reader} reader failed: ${(stderr ?? String(error))
        .split('\n')
        .filter((line) => !line.includes(' WARN '))
        .slice(-25)
        .join('\n')}`,
      { cause: error },
    );
  }
  return JSON.parse(await readFile(outputFile, 'utf8')) as ReaderResult;
}

export type CanonicalRows = ReaderResult['tables'][string];

/**
 * What `netflow query` returns for each relation (a table or view name, or a parenthesised query),
 * read through one netflow query session over `store`, in the readers' canonical form.
 */
export async function netflowQueryRows(store: ObjectStore, workDir: string, relations: Record<string, string>): Promise<Record<string, CanonicalRows>> {
  const lake = await openLakeSession({ store, workDir, memoryLimit: '1GB', maxTempDirectorySize: '1GB' });
  const rows: Record<string, CanonicalRows> = {};
  try {
    for (const [name, relation] of Object.entries(relations)) rows[name] = await canonicalDuckDbRows(lake.session, relation);
  } finally {
    await lake.close();
  }
  return rows;
}

/** Differences between netflow query's rows of one table and a reader's, in a few lines each (an empty list when equal). */
export function tableDifferences(label: string, netflow: CanonicalRows, reader: CanonicalRows | undefined): string[] {
  if (!reader) return [`${label}: not read`];
  const problems: string[] = [];
  if (JSON.stringify(reader.columns) !== JSON.stringify(netflow.columns)) problems.push(`${label}: columns ${JSON.stringify(reader.columns)}, netflow query has ${JSON.stringify(netflow.columns)}`);
  const count = (keys: string[]) => keys.reduce((map, key) => map.set(key, (map.get(key) ?? 0) + 1), new Map<string, number>());
  const expected = count(netflow.rows.map(rowKey));
  const got = count(reader.rows.map(rowKey));
  const onlyExpected = [...expected].filter(([key, n]) => (got.get(key) ?? 0) < n).map(([key]) => key);
  const onlyGot = [...got].filter(([key, n]) => (expected.get(key) ?? 0) < n).map(([key]) => key);
  if (onlyExpected.length || onlyGot.length) {
    problems.push(`${label}: ${reader.rows.length} rows, netflow query ${netflow.rows.length}; ${onlyExpected.length} of netflow's missing, ${onlyGot.length} extra`);
    for (const key of onlyExpected.slice(0, 2)) problems.push(`  netflow: ${key}`);
    for (const key of onlyGot.slice(0, 2)) problems.push(`  reader:  ${key}`);
  }
  return problems;
}

/** A row as one JSON text with sorted keys: what two readers' rows are compared by. */
export function rowKey(row: Record<string, unknown>): string {
  return JSON.stringify(sortKeys(row));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  return value;
}

/** The canonical form of a nested value (inside a list or struct): integers as decimal strings. */
function nested(value: unknown): unknown {
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value;
  if (Array.isArray(value)) return value.map(nested);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, nested(item)]));
  return value;
}

/**
 * Rows of a relation in a DuckDB session in the readers' canonical form (read-delta-tables.py):
 * timestamps formatted by DuckDB as UTC ISO with microseconds (a JS Date has milliseconds only),
 * integers as strings, lists and structs as sorted-key JSON text, doubles as numbers.
 */
export async function canonicalDuckDbRows(session: { all(sql: string): Promise<Record<string, unknown>[]> }, relation: string): Promise<{ columns: string[]; rows: Record<string, unknown>[] }> {
  const described = await session.all(`DESCRIBE SELECT * FROM ${relation}`);
  const columns = described.map((row) => ({ name: String(row.column_name), type: String(row.column_type) }));
  const select = columns.map(({ name, type }) => {
    const quoted = `"${name.replaceAll('"', '""')}"`;
    return /^TIMESTAMP/.test(type) ? `strftime(timezone('UTC', CAST(${quoted} AS TIMESTAMPTZ)), '%Y-%m-%dT%H:%M:%S.%fZ') AS ${quoted}` : quoted;
  });
  const rows = await session.all(`SELECT ${select.join(', ')} FROM ${relation}`);
  const doubles = new Set(columns.filter(({ type }) => type === 'DOUBLE' || type === 'FLOAT').map(({ name }) => name));
  return {
    columns: columns.map(({ name }) => name),
    rows: rows.map((row) =>
      Object.fromEntries(
        Object.entries(row).map(([key, value]) => {
          if (value === null || doubles.has(key)) return [key, value];
          const canonical = nested(value);
          return [key, canonical !== null && typeof canonical === 'object' ? JSON.stringify(sortKeys(canonical)) : canonical];
        }),
      ),
    ),
  };
}

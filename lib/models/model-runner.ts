import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sqlIdentifier, sqlString, type DuckDbSession } from '../duckdb/duckdb-session.ts';
import { cpuMsSince } from '../log/cpu-time.ts';
import type { Logger } from '../log/logger.ts';
import { parquetCompressionSql, type DataTest, type ModelDefinition } from './model-definition.ts';
import { failedRowChecks } from './row-checks.ts';
import { orderModels } from './model-graph.ts';

export interface ModelResult {
  name: string;
  stage: string;
  origin: string;
  status: 'built' | 'failed' | 'skipped';
  /** Row count of a table model; views are not counted, since counting would run them. */
  rows: number | null;
  durationMs: number;
  /** Of durationMs, the time spent in the model's data tests. */
  testsMs?: number;
  /** CPU time of the process (all of DuckDB's threads) while the model and its tests ran. */
  cpuMs?: number;
  /** A `parquet` model's file. */
  file?: string;
  error?: string;
}

export interface ModelRunResult {
  ok: boolean;
  models: ModelResult[];
  /** The first failure, naming the model file and DuckDB's message. */
  error?: string;
}

export class DataTestFailure extends Error {}

/**
 * Builds models in dependency order in one DuckDB session and runs each model's data tests
 * right after it is built. It stops at the first failure and reports it; it never throws halfway.
 */
export class ModelRunner {
  constructor(
    private readonly session: DuckDbSession,
    private readonly logger: Logger,
    /** Told after each model built (done of all models to build), for a progress line. */
    private readonly onModelBuilt?: (done: number, total: number) => void,
  ) {}

  async run(models: ModelDefinition[], external: ReadonlySet<string>): Promise<ModelRunResult> {
    let ordered: ModelDefinition[];
    try {
      ordered = orderModels(models, external);
    } catch (error) {
      return { ok: false, models: [], error: (error as Error).message };
    }
    const results: ModelResult[] = [];
    let failure: string | undefined;
    for (const model of ordered) {
      if (failure) {
        results.push({ name: model.name, stage: model.stage, origin: model.origin, status: 'skipped', rows: null, durationMs: 0 });
        continue;
      }
      const started = performance.now();
      const cpuStarted = process.cpuUsage();
      try {
        const { rows, file } = await this.build(model);
        const testsStarted = performance.now();
        await this.runDataTests(model);
        const testsMs = Math.round(performance.now() - testsStarted);
        const durationMs = Math.round(performance.now() - started);
        const cpuMs = Math.round(cpuMsSince(cpuStarted));
        this.logger.info('model built', { model: model.name, stage: model.stage, rows, duration_ms: durationMs, tests_ms: testsMs, cpu_ms: cpuMs });
        results.push({ name: model.name, stage: model.stage, origin: model.origin, status: 'built', rows, durationMs, testsMs, cpuMs, ...(file ? { file } : {}) });
        this.onModelBuilt?.(results.length, ordered.length);
      } catch (error) {
        const message = error instanceof DataTestFailure ? error.message : `DuckDB: ${(error as Error).message}`;
        failure = `model ${model.name} (${model.origin}) failed: ${message}`;
        this.logger.error('model failed', { model: model.name, origin: model.origin, error: message });
        results.push({
          name: model.name,
          stage: model.stage,
          origin: model.origin,
          status: 'failed',
          rows: null,
          durationMs: Math.round(performance.now() - started),
          error: message,
        });
      }
    }
    return { ok: failure === undefined, models: results, ...(failure ? { error: failure } : {}) };
  }

  /** Creates the model's relation; its row count unless it is a view (counting would run it). */
  private async build(model: ModelDefinition): Promise<{ rows: number | null; file?: string }> {
    const relation = sqlIdentifier(model.name);
    if (model.materialized === 'parquet') {
      const file = path.join(this.session.workDir, 'models', `${model.name}.parquet`);
      await mkdir(path.dirname(file), { recursive: true });
      // Uncompressed by default: written faster than an in-memory table is built, and read back
      // without a decompression step; dictionary and run-length encoding still apply.
      const [written] = await this.session.all<{ Count: bigint }>(
        `COPY (${model.body.sql}) TO ${sqlString(file)} (FORMAT parquet, ${parquetCompressionSql(model.parquetCompression)})`,
        model.body.parameters,
      );
      await this.session.run(`CREATE OR REPLACE VIEW ${relation} AS SELECT * FROM read_parquet(${sqlString(file)})`);
      return { rows: Number(written!.Count), file };
    }
    await this.session.run(`CREATE OR REPLACE ${model.materialized === 'view' ? 'VIEW' : 'TABLE'} ${relation} AS\n${model.body.sql}`, model.body.parameters);
    if (model.materialized === 'view') return { rows: null };
    return { rows: Number((await this.session.all<{ n: bigint }>(`SELECT count(*) AS n FROM ${relation}`))[0]!.n) };
  }

  /**
   * Runs a model's data tests: every not_null and accepted_values test in one scan, each unique
   * test as one aggregate. The first failing test is reported with its failing row count.
   */
  private async runDataTests(model: ModelDefinition): Promise<void> {
    const relation = sqlIdentifier(model.name);
    const scanned = model.tests.filter((test) => test.kind !== 'unique').map((test) => ({ label: label(test), failing: failingCondition(test) }));
    const [failed] = await failedRowChecks(this.session, relation, scanned);
    if (failed) throw new DataTestFailure(`data test ${failed.label} failed for ${failed.rows} row(s)`);
    for (const test of model.tests) {
      if (test.kind !== 'unique') continue;
      const columns = test.columns.map(sqlIdentifier).join(', ');
      // Grouped by a 64-bit hash of the key first: grouping millions of (object key, offset)
      // pairs by value held the keys' text in the hash table (1.4 s at 5 million rows). Only a
      // repeated hash, a repeated key or a collision, is grouped by value to tell which.
      const repeatedHashes = `SELECT count(*) AS n FROM (SELECT 1 FROM ${relation} GROUP BY hash(${columns}) HAVING count(*) > 1)`;
      if (Number((await this.session.all<{ n: bigint }>(repeatedHashes))[0]!.n) === 0) continue;
      const sql = `SELECT count(*) AS n FROM (SELECT 1 FROM ${relation} GROUP BY ${columns} HAVING count(*) > 1)`;
      const failing = Number((await this.session.all<{ n: bigint }>(sql))[0]!.n);
      if (failing > 0) throw new DataTestFailure(`data test ${label(test)} failed for ${failing} row(s)`);
    }
  }
}

function failingCondition(test: DataTest): string {
  switch (test.kind) {
    case 'not_null':
      return test.columns.map((c) => `${sqlIdentifier(c)} IS NULL`).join(' OR ');
    case 'accepted_values':
      return `${sqlIdentifier(test.column)} IS NOT NULL AND ${sqlIdentifier(test.column)}::VARCHAR NOT IN (${test.values.map(sqlString).join(', ')})`;
    case 'unique':
      return 'false';
  }
}

function label(test: DataTest): string {
  return test.kind === 'accepted_values' ? `accepted_values(${test.column}: ${test.values.join(', ')})` : `${test.kind}(${test.columns.join(', ')})`;
}

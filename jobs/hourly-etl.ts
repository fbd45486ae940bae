import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { durationMs, type Config } from '../schemas/config.ts';
import { flowsTable, PUBLISHED_TABLES } from '../schemas/tables/index.ts';
import { projectionSql } from '../schemas/tables/table-definition.ts';
import { dataFileProjectionSql } from '../lib/delta/delta-schema.ts';
import { exportTables, PUBLISHED_PARQUET_COMPRESSION } from '../lib/publish/export-tables.ts';
import type { AlertRow } from '../schemas/tables/alerts.ts';
import { alertPayloadOf } from '../lib/alerts/alert-payload.ts';
import type { AlertSink } from '../lib/alerts/alert-sink.ts';
import { deliverRunAlerts, type SinkDelivery } from '../lib/alerts/deliver-alerts.ts';
import { DuckDbSession, sqlIdentifier } from '../lib/duckdb/duckdb-session.ts';
import { cpuMsSince } from '../lib/log/cpu-time.ts';
import { claimWorkDir } from '../lib/process/work-dir-owner.ts';
import { errorCauses, type Logger } from '../lib/log/logger.ts';
import { loadMacroFiles } from '../lib/net/sql-macros.ts';
import { loadModelFiles, type ModelDefinition } from '../lib/models/model-definition.ts';
import { ModelRunner, type ModelResult } from '../lib/models/model-runner.ts';
import { readPublishedPartition } from '../lib/delta/published-partitions.ts';
import { partitionOf } from '../lib/publish/partition-keys.ts';
import { publishPartition, type PublishedTable } from '../lib/publish/publish-partition.ts';
import { installReferenceData, loadReferenceData, ndjson, REFERENCE_RELATIONS, referenceFilesOf, type ReferenceData } from '../lib/reference/reference-data.ts';
import { compileFlowsMart } from '../lib/rules/compile-rules.ts';
import { generatedSourceModels } from '../lib/sources/all-sources-model.ts';
import { SOURCES } from '../lib/sources/registry.ts';
import { discoverInWindows, discoverRunObjects, hourKeyOf, OBJECT_ROUTING_COLUMNS, objectRouting, type LateAccounting, type LateObject, type ObjectRouting } from '../lib/sources/late-objects.ts';
import { deliveryWindow } from '../lib/sources/source-definition.ts';
import { STAGING_SOURCES } from '../lib/sources/staging-sources.ts';
import { installStagedInputs, stagedRelations } from '../lib/staging/install-staged-inputs.ts';
import { stageObjects, type DiscoveredObject, type StagedObject, type StageReject, type StagingResult } from '../lib/staging/stage-objects.ts';
import { stageLimitsOf } from '../lib/staging/stage-lines.ts';
import { ObjectChangedError, renderUnsafeKey, unsafeKeyReason, type ObjectStore } from '../lib/storage/object-store.ts';
import { packagePath } from '../lib/process/package-root.ts';
import { ShardsNotReadyError } from '../lib/scale-out/shards-not-ready.ts';

/** Bumped whenever a change to parsing or models changes published rows for the same inputs. */
export const PIPELINE_VERSION = '1';

export const DEFAULT_SQL_DIR = packagePath('sql');

export interface HourlyEtlOptions {
  config: Config;
  /** Relative paths in the configuration resolve against this folder. */
  baseDir: string;
  store: ObjectStore;
  logger: Logger;
  /** Start of the event hour (UTC). */
  hour: Date;
  sqlDir?: string;
  now?: () => Date;
  /** Progress of the long phases: `stage` (objects, with their bytes as listed), `models` (built), `publish` (tables committed). */
  onProgress?: (phase: string, done: number, total: number, bytes?: { done: number; total: number }) => void;
  /** Publish protocol hook (orchestration's partition lock): runs before each manifest commit, throws to stop it. */
  beforeCommit?: () => Promise<void>;
  /** Stop with status `skipped` when every table's manifest already holds this run id (same inputs). */
  skipWhenPublished?: boolean;
  /** Alert sinks to use instead of the configured ones (tests); `env` and `stdout` serve the configured ones. */
  alertSinks?: readonly AlertSink[];
  env?: NodeJS.ProcessEnv;
  stdout?: (text: string) => void;
  /** What the run ledger says is accounted for in the hours past the look-back; without it no late objects are looked for (lib/sources/late-objects.ts). */
  lateAccounting?: LateAccounting;
}

export interface InputObject {
  source_type: string;
  key: string;
  etag: string;
  size: number;
  /** Highest record offset read from the object (absent before the run's models ran). */
  last_offset?: number | null;
}

/** An object version whose records of a past hour (beyond the look-back) this run routed to late_records. */
export interface LateInput extends InputObject {
  /** The late hour, `YYYY-MM-DDTHH`. */
  hour: string;
}

export interface SourceCounts {
  objects: number;
  objects_quarantined: number;
  records_read: number;
  flows_published: number;
  other_hour: number;
  /** Records routed to late_records by this run. */
  late: number;
  nodata: number;
  skipdata: number;
  quarantined: number;
}

export interface HourlyEtlResult {
  /** `skipped`: the partition was already published from the same inputs (skipWhenPublished). */
  status: 'published' | 'failed' | 'skipped';
  hour: string;
  runId: string;
  attemptId: string;
  inputs: InputObject[];
  /** Objects read for hours past the look-back (not part of the hour's own inputs). */
  lateInputs?: LateInput[];
  referenceHash: string | null;
  rulesHash: string | null;
  counts: SourceCounts;
  countsBySource: Record<string, SourceCounts>;
  models: ModelResult[];
  tables: PublishedTable[];
  alerts: AlertRow[];
  /** The rules file's `version` label (the hash is rulesHash). */
  rulesVersion?: string | null;
  /** Per alert sink: what this run delivered and what stays pending (lib/alerts). */
  alertDelivery?: Record<string, SinkDelivery>;
  durationsMs: Record<string, number>;
  /** What discovery's listings cost (every listing of the run): requests, keys and folders returned, entries skipped. */
  listing?: { requests: number; keys: number; skipped: number };
  /**
   * CPU time of the whole process per phase (every thread: Node, staging workers, DuckDB): with
   * durationsMs, how parallel a phase ran, and its cost on a shared machine where wall time is not.
   */
  cpuMs?: Record<string, number>;
  error?: string;
  /** What caused `error`, outermost first (errorCauses): the ledger keeps them, redacted. */
  errorCauses?: string[];
  /** A commit (or commit part) refused only because shards or parts are missing, stale or of another listing: running it again once they finish can succeed. */
  notReady?: boolean;
}

export const EMPTY_COUNTS: SourceCounts = {
  objects: 0,
  objects_quarantined: 0,
  records_read: 0,
  flows_published: 0,
  other_hour: 0,
  late: 0,
  nodata: 0,
  skipdata: 0,
  quarantined: 0,
};

/** Listings per run when objects keep changing between listing and download. */
const MAX_LISTINGS = 3;

/** Times a phase of a run (wall and CPU, into the result) and remembers the first that failed. */
export type PhaseTimer = <T>(name: string, work: () => Promise<T>) => Promise<T>;

/** One attempt at an hour (a run, a shard, a commit): its id, work folder, result so far and phase timer. */
export interface Attempt {
  attemptId: string;
  logger: Logger;
  result: HourlyEtlResult;
  workDir: string;
  phase: PhaseTimer;
  /** The phase that failed, for the log. */
  failedPhase: () => string | undefined;
}

export function startAttempt(options: Pick<HourlyEtlOptions, 'config' | 'baseDir' | 'logger' | 'hour' | 'now'>): Attempt {
  const now = options.now ?? (() => new Date());
  const attemptId = `${now()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${randomBytes(4).toString('hex')}`;
  const hourKey = options.hour.toISOString().slice(0, 13);
  const logger = options.logger.child({ hour: hourKey, attempt_id: attemptId });
  const result: HourlyEtlResult = {
    status: 'failed',
    hour: hourKey,
    runId: '',
    attemptId,
    inputs: [],
    lateInputs: [],
    referenceHash: null,
    rulesHash: null,
    counts: { ...EMPTY_COUNTS },
    countsBySource: {},
    models: [],
    tables: [],
    alerts: [],
    rulesVersion: null,
    alertDelivery: {},
    durationsMs: {},
  };
  const cpuMs: Record<string, number> = {};
  result.cpuMs = cpuMs;
  let failed: string | undefined;
  const phase: PhaseTimer = async (name, work) => {
    const phaseStart = performance.now();
    const cpuStart = process.cpuUsage();
    try {
      return await work();
    } catch (error) {
      failed ??= name;
      throw error;
    } finally {
      result.durationsMs[name] = Math.round(performance.now() - phaseStart);
      cpuMs[name] = Math.round(cpuMsSince(cpuStart));
    }
  };
  return { attemptId, logger, result, workDir: path.resolve(options.baseDir, options.config.work_dir, 'runs', attemptId), phase, failedPhase: () => failed };
}

/**
 * The hourly job for one event hour: discover the raw objects of its delivery window, stage
 * them, run the models in one locked-down DuckDB session, check the outputs, publish them
 * atomically. It returns a result object in every case; a failed run publishes nothing and
 * leaves no staging behind.
 */
export async function runHourlyEtl(options: HourlyEtlOptions): Promise<HourlyEtlResult> {
  const { config, store, hour } = options;
  const started = performance.now();
  const { logger, result, workDir, phase, failedPhase } = startAttempt(options);
  let session: DuckDbSession | undefined;
  try {
    if (hour.getTime() % 3_600_000 !== 0) throw new Error(`event hour must start on the hour: ${hour.toISOString()}`);
    await mkdir(workDir, { recursive: true });
    // A killed run cannot remove its folder (raw data copies): the next run on this machine does, seeing its owner dead.
    await claimWorkDir(workDir);
    const reference = await phase('reference', () => loadReferenceData(referenceFilesOf(config, options.baseDir)));
    result.referenceHash = reference.referenceHash;
    result.rulesHash = reference.rulesHash;
    result.rulesVersion = reference.rules.version ?? null;

    let discovered: readonly DiscoveredObject[] = [];
    let routing: ObjectRouting[] = [];
    const listed = await stageUntilListingHolds(
      async (listing) => {
        const found = await phase('discover', () => discoverHour(options, result, logger));
        ({ discovered, routing } = adoptListing(options, result, reference, found));
        logger.info('objects discovered', {
          objects: found.window.length,
          late_objects: found.late.length,
          unsafe_keys: discovered.filter((object) => object.unsafeKey !== undefined).length,
          list_requests: result.listing?.requests,
          keys_listed: result.listing?.keys,
          run_id: result.runId,
        });
        if (options.skipWhenPublished && (await publishedRunIds(store, partitionOf(hour))).every((id) => id === result.runId)) return 'published';
        return phase('stage', () => stageRunObjects(options, discovered, listing === 1 ? workDir : path.join(workDir, `listing-${listing}`), logger));
      },
      (error, listing) => logger.warn('an object changed between listing and download; listing again', { key: error.key, listing }),
    );
    if (listed === 'published') {
      logger.info('partition already published from the same inputs', { run_id: result.runId });
      result.status = 'skipped';
      return result;
    }
    const staging = listed;

    session = await openHourSession(config, workDir);
    const transform = await phase('transform', () =>
      transformHour(session!, {
        ...transformSettings(options, workDir, result.runId, reference, logger),
        installInputs: stagedInputs({ workDir, staged: staging.objects, rejects: staging.rejects, routing, config }),
      }),
    );
    result.models = transform.models;
    if (transform.error) throw new Error(transform.error);
    await publishTransformedHour({
      session,
      options,
      result,
      workDir,
      logger,
      phase,
      discovered,
      wholeObjectRejects: staging.rejects.filter((reject) => reject.raw_offset === null).map((reject) => reject.raw_object_key),
    });
  } catch (error) {
    recordFailure(result, logger, error, failedPhase());
  } finally {
    session?.close();
    await rm(workDir, { recursive: true, force: true });
    result.durationsMs.total = Math.round(performance.now() - started);
  }
  return result;
}

/** What publishTransformedHour needs: a session whose models ran, and the run's result so far. */
export interface TransformedHour {
  /** Closed here once the alerts are read (before uploading: DuckDB's memory is not needed for it). */
  session: DuckDbSession;
  options: HourlyEtlOptions;
  result: HourlyEtlResult;
  workDir: string;
  logger: Logger;
  phase: PhaseTimer;
  /** Every object the run read (its window's and late ones). */
  discovered: readonly DiscoveredObject[];
  /** Keys of the objects quarantined whole. */
  wholeObjectRejects: readonly string[];
  /** Tables whose data files are written already (a commit's parts: jobs/hour-commit-part.ts), published as they are. */
  preparedFiles?: ReadonlyMap<string, readonly { file: string; rows: number }[]>;
}

/**
 * The end of an hourly run once its models ran, the same for one machine and for a commit of
 * shards: counts that must reconcile, export and check every table, publish them in one Delta
 * commit per table, deliver the alerts. Throws on the first failure (nothing published then).
 */
export async function publishTransformedHour(hour: TransformedHour): Promise<void> {
  const { session, options, result, workDir, logger, phase, discovered } = hour;
  const { store, config } = options;
  const now = options.now ?? (() => new Date());
  const counts = await countRecords(session, discovered, hour.wholeObjectRejects);
  result.counts = counts.total;
  result.countsBySource = counts.bySource;
  for (const input of [...result.inputs, ...(result.lateInputs ?? [])]) input.last_offset = counts.lastOffsets.get(input.key) ?? null;
  const modelFiles = new Map(result.models.flatMap((model) => (model.file ? [[model.name, { file: model.file, rows: model.rows ?? 0 }] as const] : [])));
  const outputs = await phase('export', () => exportTables(session, workDir, result.durationsMs, modelFiles, hour.preparedFiles));
  // The flows mart is the hour's flows with both ends joined to their profiles: a join that
  // lost or repeated a flow would publish counts that no longer reconcile with records read.
  const exportedFlows = outputs.find((output) => output.table.name === 'flows')?.files.reduce((sum, file) => sum + file.rows, 0);
  if (exportedFlows !== result.counts.flows_published) {
    throw new Error(`flows export holds ${exportedFlows} rows but the hour has ${result.counts.flows_published} flows: the enrichment joins lost or repeated flows`);
  }
  result.alerts = await session.all<AlertRow>(
    `SELECT ${projectionSql(PUBLISHED_TABLES.find((t) => t.name === 'alerts')!)} FROM alerts ORDER BY list_position(['critical', 'high', 'medium', 'low'], severity), rule_id, alert_id`,
  );
  session.close();

  result.tables = await phase('publish', () =>
    publishPartition({
      store,
      partition: partitionOf(options.hour),
      runId: result.runId,
      attemptId: result.attemptId,
      tables: outputs,
      logger,
      now,
      onTablePublished: (done, total) => options.onProgress?.('publish', done, total),
      gracePeriodMs: durationMs(config.publish.grace_period),
      checkpointInterval: config.publish.checkpoint_interval,
      logRetentionMs: durationMs(config.publish.log_retention),
      durationsMs: result.durationsMs,
      ...(options.beforeCommit ? { beforeCommit: options.beforeCommit } : {}),
    }),
  );
  result.status = 'published';
  result.alertDelivery = await phase('deliver', () =>
    deliverRunAlerts({
      store,
      sinkConfigs: config.alerts.sinks,
      sinks: options.alertSinks,
      hour: result.hour,
      alerts: result.alerts.map(alertPayloadOf),
      logger,
      env: options.env,
      stdout: options.stdout,
      now,
    }),
  );
}

/** Records a failed run's error and its causes in its result, and logs it. */
export function recordFailure(result: Pick<HourlyEtlResult, 'error' | 'errorCauses' | 'notReady'>, logger: Logger, error: unknown, failedPhase: string | undefined): void {
  result.error = error instanceof Error ? error.message : String(error);
  if (error instanceof ShardsNotReadyError) result.notReady = true;
  const causes = errorCauses(error);
  if (causes.length > 0) result.errorCauses = causes;
  // The error itself, not its message: the log keeps its cause chain (errorJson), redacted.
  logger.error('run failed', { ...(failedPhase ? { phase: failedPhase } : {}), error });
}

/** The objects a run of the hour reads, listed now; the listing's cost goes into the result. */
export async function discoverHour(options: HourlyEtlOptions, result: Pick<HourlyEtlResult, 'listing'>, logger: Logger): Promise<{ window: DiscoveredObject[]; late: LateObject[] }> {
  const listingCost = (result.listing ??= { requests: 0, keys: 0, skipped: 0 });
  // Each entry that is not an object (a local symlink, a folder with an unsafe name) is logged once per run.
  const skipped = new Set<string>();
  const onSkipped = (key: string, why: string) => {
    if (skipped.has(key)) return;
    skipped.add(key);
    listingCost.skipped++;
    logger.warn('listing skipped an entry', { key: unsafeKeyReason(key) === undefined ? key : renderUnsafeKey(key), why });
  };
  return discoverRunObjects(options.store, options.config, options.hour, options.lateAccounting, { cost: listingCost, onSkipped });
}

/** Makes a listing the run's: its inputs and run id into the result; what it reads and routes. */
export function adoptListing(
  options: Pick<HourlyEtlOptions, 'hour' | 'config'>,
  result: Pick<HourlyEtlResult, 'inputs' | 'lateInputs' | 'runId'>,
  reference: Pick<ReferenceData, 'referenceHash' | 'rulesHash'>,
  found: { window: readonly DiscoveredObject[]; late: readonly LateObject[] },
): { discovered: DiscoveredObject[]; routing: ObjectRouting[] } {
  const inWindow = new Set(found.window.map((object) => object.key));
  result.inputs = found.window.map(inputOf);
  result.lateInputs = found.late.flatMap((object) => object.lateHours.map((late) => ({ hour: hourKeyOf(late), ...inputOf(object) })));
  result.runId = deterministicRunId(options.hour, result.inputs, reference, result.lateInputs);
  return {
    discovered: [...found.window, ...found.late.filter((object) => !inWindow.has(object.key))],
    routing: objectRouting(options.hour, found.window, found.late, options.config),
  };
}

/** Stages objects into the work folder, with the configured limits and threads. */
export function stageRunObjects(options: HourlyEtlOptions, objects: readonly DiscoveredObject[], workDir: string, logger: Logger): Promise<StagingResult> {
  const { config } = options;
  return stageObjects({
    store: options.store,
    sources: STAGING_SOURCES,
    objects: [...objects],
    workDir,
    limits: stageLimitsOf(config.staging),
    threads: config.staging.threads,
    logger,
    formatHints: { aws_vpc: config.sources.aws_vpc.format },
    onProgress: (done, total, bytes) => options.onProgress?.('stage', done, total, bytes),
  });
}

/** The run's DuckDB session, locked to its work folder, planning joins as written. */
export function openHourSession(config: Config, workDir: string): Promise<DuckDbSession> {
  return DuckDbSession.open({
    workDir,
    memoryLimit: config.duckdb.memory_limit,
    maxTempDirectorySize: config.duckdb.max_temp_directory_size,
    ...(config.duckdb.threads ? { threads: config.duckdb.threads } : {}),
    joinsAsWritten: true,
  });
}

/**
 * Lists and stages until no object changed between its listing and its download: the run id names
 * the listed versions, so one that changed since (a PT1H.json still being appended to) is never
 * read under it. Lists again on ObjectChangedError, up to MAX_LISTINGS listings, then fails with it.
 */
async function stageUntilListingHolds<T>(listAndStage: (listing: number) => Promise<T>, onChanged: (error: ObjectChangedError, listing: number) => void): Promise<T> {
  for (let listing = 1; ; listing++) {
    try {
      return await listAndStage(listing);
    } catch (error) {
      if (!(error instanceof ObjectChangedError) || listing >= MAX_LISTINGS) throw error;
      onChanged(error, listing);
    }
  }
}

/** The run id in each published table's manifest of the partition (undefined where unpublished). */
export async function publishedRunIds(store: ObjectStore, partition: ReturnType<typeof partitionOf>): Promise<(string | undefined)[]> {
  return Promise.all(PUBLISHED_TABLES.map(async (table) => (await readPublishedPartition(store, table, partition))?.run_id));
}

/** The objects of the hour's delivery window (what the rescan compares with the published run's inputs). */
export async function discoverObjects(store: ObjectStore, config: Config, hour: Date): Promise<DiscoveredObject[]> {
  return (await discoverInWindows(store, config, [deliveryWindow(hour, durationMs(config.lateness))])).map(({ object }) => object);
}

export function inputOf(object: DiscoveredObject): InputObject {
  return { source_type: object.sourceType, key: object.key, etag: object.etag, size: object.size };
}

/** Same inputs (objects with their ETags, late objects, reference data, rules, pipeline) give the same run id. */
export function deterministicRunId(hour: Date, inputs: readonly InputObject[], reference: Pick<ReferenceData, 'referenceHash' | 'rulesHash'>, lateInputs: readonly LateInput[] = []): string {
  const hash = createHash('sha256').update(`pipeline ${PIPELINE_VERSION}\nreference ${reference.referenceHash}\nrules ${reference.rulesHash}\n`);
  for (const input of inputs) hash.update(`${input.source_type}\t${input.key}\t${input.etag}\t${input.size}\n`);
  // Only runs that route late objects hash them, so every other run keeps the id it always had.
  for (const input of lateInputs) hash.update(`late ${input.hour}\t${input.source_type}\t${input.key}\t${input.etag}\t${input.size}\n`);
  return `${hour.toISOString().slice(0, 13).replace(/[-:]/g, '')}-${hash.digest('hex').slice(0, 16)}`;
}

export interface TransformInput {
  workDir: string;
  hour: Date;
  runId: string;
  reference: ReferenceData;
  /** Configuration the models quote (the late-data alert's text). */
  variables: { lateness: string; rescan_lookback: string };
  sqlDir: string;
  logger: Logger;
  onModelBuilt?: (done: number, total: number) => void;
  /** Creates the relations the models read besides the reference data (the staged objects, or a commit's shard outputs); returns their names. */
  installInputs: (session: DuckDbSession) => Promise<readonly string[]>;
  /** The part of the model DAG to run (a shard's or a commit's: lib/scale-out/model-cut.ts); every model when absent. */
  selectModels?: (models: ModelDefinition[]) => ModelDefinition[];
}

/** The transform settings every kind of run takes from its options (all but its inputs). */
export function transformSettings(options: HourlyEtlOptions, workDir: string, runId: string, reference: ReferenceData, logger: Logger): Omit<TransformInput, 'installInputs'> {
  return {
    workDir,
    hour: options.hour,
    runId,
    reference,
    variables: { lateness: options.config.lateness, rescan_lookback: options.config.scheduler.rescan_lookback },
    sqlDir: options.sqlDir ?? DEFAULT_SQL_DIR,
    logger,
    onModelBuilt: (done, total) => options.onProgress?.('models', done, total),
  };
}

/** Installs staged objects as the normalize models' inputs: the staged relations and stg_object_routing. */
export function stagedInputs(input: {
  workDir: string;
  staged: StagedObject[];
  rejects: StageReject[];
  /** Per staged object, what this run routes to late_records (stg_object_routing). */
  routing: readonly ObjectRouting[];
  config: Config;
}): (session: DuckDbSession) => Promise<string[]> {
  return async (session) => {
    await installStagedInputs(session, input.workDir, input.staged, input.rejects, { sources: STAGING_SOURCES.all, formatHints: { aws_vpc: input.config.sources.aws_vpc.format } });
    await session.run(`CREATE OR REPLACE TABLE stg_object_routing AS SELECT * FROM ${await ndjson(input.workDir, 'stg_object_routing', input.routing, OBJECT_ROUTING_COLUMNS)}`);
    return [...stagedRelations(STAGING_SOURCES.all), 'stg_object_routing'];
  };
}

/** Every model of a run: the SQL files, the generated source union and the flows mart compiled from the rules. */
async function allModels(sqlDir: string, reference: ReferenceData): Promise<ModelDefinition[]> {
  return [
    ...(await loadModelFiles(sqlDir)),
    ...generatedSourceModels(SOURCES),
    {
      name: 'flows',
      stage: 'marts',
      origin: 'generated:rules (lib/rules/compile-rules.ts)',
      grain: 'one row per flow record of the event hour, with its verdict (the curated flows table)',
      keys: ['flow_id'],
      upstream: ['flows_enriched'],
      // Written once, as the file the export publishes: its readers (rule_violations, the traffic
      // matrix) decode the columns they need instead of running the enrichment joins again.
      materialized: 'parquet',
      parquetCompression: PUBLISHED_PARQUET_COMPRESSION,
      tests: [],
      body: compileFlowsMart(reference.rules.rules, dataFileProjectionSql(flowsTable)),
    },
  ];
}

export async function transformHour(session: DuckDbSession, input: TransformInput): Promise<{ models: ModelResult[]; error?: string }> {
  for (const macro of await loadMacroFiles(path.join(input.sqlDir, 'macros'))) {
    try {
      await session.runScript(macro.sql);
    } catch (error) {
      return { models: [], error: `macro file ${macro.file} failed: ${(error as Error).message}` };
    }
  }
  const hourEnd = new Date(input.hour.getTime() + 3_600_000);
  await session.run(`SET VARIABLE hour_start = CAST($1 AS TIMESTAMP)`, [input.hour.toISOString().replace('Z', '')]);
  await session.run(`SET VARIABLE hour_end = CAST($1 AS TIMESTAMP)`, [hourEnd.toISOString().replace('Z', '')]);
  await session.run(`SET VARIABLE run_id = CAST($1 AS VARCHAR)`, [input.runId]);
  await session.run(`SET VARIABLE rules_version = CAST($1 AS VARCHAR)`, [`sha256:${input.reference.rulesHash}`]);
  for (const [name, value] of Object.entries(input.variables)) await session.run(`SET VARIABLE ${sqlIdentifier(name)} = CAST($1 AS VARCHAR)`, [value]);

  await installReferenceData(session, input.workDir, input.reference);
  const inputs = await input.installInputs(session);
  const models = await allModels(input.sqlDir, input.reference);
  const external = new Set<string>([...inputs, ...REFERENCE_RELATIONS]);
  const run = await new ModelRunner(session, input.logger, input.onModelBuilt).run(input.selectModels ? input.selectModels(models) : models, external);
  return { models: run.models, ...(run.error ? { error: run.error } : {}) };
}

export async function countRecords(
  session: DuckDbSession,
  discovered: readonly DiscoveredObject[],
  wholeObjectRejects: readonly string[],
): Promise<{ total: SourceCounts; bySource: Record<string, SourceCounts>; lastOffsets: Map<string, number> }> {
  const rows = await session.all<Record<string, string | number | bigint | boolean>>(`SELECT * FROM record_counts`);
  const bySource: Record<string, SourceCounts> = {};
  const total = { ...EMPTY_COUNTS };
  for (const object of discovered) {
    const counts = (bySource[object.sourceType] ??= { ...EMPTY_COUNTS });
    counts.objects++;
    total.objects++;
  }
  const wholeRejects = new Set(wholeObjectRejects);
  for (const key of wholeRejects) {
    const source = discovered.find((object) => object.key === key)!.sourceType;
    bySource[source]!.objects_quarantined++;
    total.objects_quarantined++;
  }
  const lastOffsets = new Map<string, number>();
  for (const row of rows) {
    const counts = bySource[String(row.source_type)]!;
    for (const field of ['records_read', 'flows_published', 'other_hour', 'late', 'nodata', 'skipdata', 'quarantined'] as const) {
      const value = Number(row[field]);
      counts[field] += value;
      total[field] += value;
    }
    if (row.last_offset !== null && row.last_offset !== undefined) lastOffsets.set(String(row.raw_object_key), Number(row.last_offset));
  }
  return { total, bySource, lastOffsets };
}

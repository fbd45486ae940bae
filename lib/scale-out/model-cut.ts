import { sqlString } from '../duckdb/duckdb-session.ts';
import type { ModelDefinition } from '../models/model-definition.ts';
import { PUBLISHED_PARQUET_COMPRESSION } from '../publish/export-tables.ts';

/**
 * Where an hour split across shard workers cuts the model DAG. Everything upstream of the cut is
 * a function of one raw object's records and the reference data, so a shard computes it for its
 * objects alone; everything downstream needs the whole hour (which observation of a connection
 * counts in totals, the marts' sums and groupings, the alerts), so the commit computes it once
 * over the union of the shards' rows. Identical output is then by construction: the commit runs
 * the very models a single run runs, over the very rows it would have built.
 */
export const SHARD_OUTPUTS = ['flows_in_hour', 'flows_enriched_records', 'late_records', 'quarantine', 'record_counts'] as const;

export type ShardOutput = (typeof SHARD_OUTPUTS)[number];

/**
 * The models a shard runs: those its outputs depend on. The hour's records are written once, as
 * the file the shard hands over: its readers (the enrichment, the counts) then read the file
 * instead of computing the records' Community IDs again in each scan of the view.
 */
export function shardModels(models: readonly ModelDefinition[]): ModelDefinition[] {
  const byName = new Map(models.map((model) => [model.name, model]));
  const needed = new Set<string>();
  const visit = (name: string) => {
    const model = byName.get(name);
    if (!model || needed.has(name)) return;
    needed.add(name);
    for (const upstream of model.upstream) visit(upstream);
  };
  for (const output of SHARD_OUTPUTS) {
    if (!byName.has(output)) throw new Error(`the shard cut names model ${output}, which does not exist`);
    visit(output);
  }
  return models
    .filter((model) => needed.has(model.name))
    .map((model) => (model.name === 'flows_in_hour' ? { ...model, materialized: 'parquet' as const, parquetCompression: PUBLISHED_PARQUET_COMPRESSION } : model));
}

/**
 * The models a commit runs: every model a shard does not, and what those read that no shard
 * writes (the inventory epochs of the hour, from the reference data). The shards' outputs are
 * relations the commit installs from their files.
 */
export function commitModels(models: readonly ModelDefinition[]): ModelDefinition[] {
  const byShard = new Set(shardModels(models).map((model) => model.name));
  const outputs = new Set<string>(SHARD_OUTPUTS);
  const roots = models.filter((model) => !byShard.has(model.name)).map((model) => model.name);
  const needed = upstreamClosure(models, roots, (name) => !outputs.has(name));
  return models.filter((model) => needed.has(model.name));
}

/**
 * A commit split into M parts (`netflow commit --part j/M`) cuts the DAG a second time. The
 * shards' records are split by connection (CONNECTION_HASH, the macro connection_partition: a
 * record and every record connection_observations may compare it with, its tuple's or its
 * answer's, share it), and each part runs, over one range of it, every model that relates only
 * records of one connection: the counted flags, the flows mart (the flows table's file) and the
 * violations. What needs the whole hour (the traffic matrix, the analytics, the alerts, the
 * record counts) stays with the final commit, which reads the parts' PART_OUTPUTS.
 */
export const PARTITIONED_OUTPUTS = ['flows_in_hour', 'flows_enriched_records'] as const satisfies readonly ShardOutput[];

export const CONNECTION_HASH = 'connection_hash';

/**
 * The shard's SQL for a relation's rows with their connection hash. Not sorted by it: sorting
 * (so that a part's range would prune row groups) made a shard's export 3× slower (docs/scale-out.md,
 * "Commit parts"); each part reads every row's hash and keeps its range.
 */
export function connectionHashedSql(relation: string): string {
  return `SELECT *, connection_partition(src_ip, src_port, dst_ip, dst_port, protocol) AS ${CONNECTION_HASH} FROM ${relation}`;
}

export const PART_OUTPUTS = ['flows', 'rule_violations', 'violations'] as const;

export type PartOutput = (typeof PART_OUTPUTS)[number];

/** The published tables whose data files the parts write, each part one file of the partition. */
export const PART_PUBLISHED_TABLES = ['flows', 'violations'] as const;

/**
 * The relation a part's done marker names a published table's file by: the flows mart's own file
 * is the flows table's (its columns are the table's, unordered); the violations table's is its
 * export (the published projection, in its order), beside the model's rows the final commit reads.
 */
export function publishedFileRelation(table: (typeof PART_PUBLISHED_TABLES)[number]): string {
  return table === 'flows' ? 'flows' : `${table}.published`;
}

/** Part j of M: its half-open range of the 64-bit connection hash (the last part's upper bound is open). */
export function partHashRange(part: { index: number; count: number }): { from: bigint; to: bigint | undefined } {
  const space = 1n << 64n;
  const at = (index: number) => (space * BigInt(index)) / BigInt(part.count);
  return { from: at(part.index), to: part.index + 1 === part.count ? undefined : at(part.index + 1) };
}

/** The models a part runs: those PART_OUTPUTS depend on that no shard runs. */
export function partModels(models: readonly ModelDefinition[]): ModelDefinition[] {
  const committed = new Set(commitModels(models).map((model) => model.name));
  const needed = upstreamClosure(models, PART_OUTPUTS, (name) => committed.has(name));
  return models.filter((model) => needed.has(model.name));
}

/** The models the final commit of parts runs: the commit's the parts do not run, and what they read that neither the shards nor the parts write. */
export function finalModels(models: readonly ModelDefinition[]): ModelDefinition[] {
  const committed = new Set(commitModels(models).map((model) => model.name));
  const byPart = new Set(partModels(models).map((model) => model.name));
  const handedOver = new Set<string>([...SHARD_OUTPUTS, ...PART_OUTPUTS]);
  const roots = [...committed].filter((name) => !byPart.has(name));
  const needed = upstreamClosure(models, roots, (name) => committed.has(name) && !handedOver.has(name));
  return models.filter((model) => needed.has(model.name));
}

/**
 * The SQL of a relation the commit reads from the shards' files: the records a part splits by
 * connection without their connection hash, and only those of the part's range when it is one.
 */
export function shardRelationSql(relation: string, files: readonly string[], range?: { from: bigint; to: bigint | undefined }): string {
  const read = `read_parquet([${files.map(sqlString).join(', ')}])`;
  if (!(PARTITIONED_OUTPUTS as readonly string[]).includes(relation)) return `SELECT * FROM ${read}`;
  const where = range ? ` WHERE ${CONNECTION_HASH} >= ${range.from}::UBIGINT${range.to === undefined ? '' : ` AND ${CONNECTION_HASH} < ${range.to}::UBIGINT`}` : '';
  return `SELECT * EXCLUDE (${CONNECTION_HASH}) FROM ${read}${where}`;
}

function upstreamClosure(models: readonly ModelDefinition[], roots: readonly string[], within: (name: string) => boolean): Set<string> {
  const byName = new Map(models.map((model) => [model.name, model]));
  const needed = new Set<string>();
  const visit = (name: string) => {
    const model = byName.get(name);
    if (!model || needed.has(name) || !within(name)) return;
    needed.add(name);
    for (const upstream of model.upstream) visit(upstream);
  };
  for (const root of roots) {
    if (!byName.has(root)) throw new Error(`the part cut names model ${root}, which does not exist`);
    visit(root);
  }
  return needed;
}

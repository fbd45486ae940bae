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
  const byName = new Map(models.map((model) => [model.name, model]));
  const needed = new Set<string>();
  const visit = (name: string) => {
    const model = byName.get(name);
    if (!model || needed.has(name) || outputs.has(name)) return;
    needed.add(name);
    for (const upstream of model.upstream) visit(upstream);
  };
  for (const model of models) if (!byShard.has(model.name)) visit(model.name);
  return models.filter((model) => needed.has(model.name));
}

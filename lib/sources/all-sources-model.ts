import { sqlIdentifier } from '../duckdb/duckdb-session.ts';
import type { ModelDefinition } from '../models/model-definition.ts';
import type { SourceDefinition } from './source-definition.ts';

/** The normalize models generated from the registry: each source's own (SourceDefinition.generatedModels) and their union. */
export function generatedSourceModels(sources: readonly SourceDefinition[]): ModelDefinition[] {
  return [...sources.flatMap((source) => source.generatedModels?.() ?? []), unionOfSources(sources)];
}

/** The one flow schema: every source's normalized records side by side (columns matched by name). */
export function unionOfSources(sources: readonly SourceDefinition[]): ModelDefinition {
  return {
    name: 'all_sources__records',
    stage: 'normalize',
    origin: 'generated:source registry (lib/sources/registry.ts)',
    grain: 'one row per staged record of every source',
    keys: ['raw_object_key', 'raw_offset'],
    upstream: sources.map((source) => `${source.sourceType}__records`),
    materialized: 'view',
    tests: [],
    body: { sql: sources.map((source) => `SELECT * FROM ${sqlIdentifier(`${source.sourceType}__records`)}`).join('\nUNION ALL BY NAME\n'), parameters: [] },
  };
}

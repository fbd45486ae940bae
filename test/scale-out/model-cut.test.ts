import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModelFiles, type ModelDefinition } from '../../lib/models/model-definition.ts';
import { commitModels, finalModels, PART_OUTPUTS, partHashRange, partModels, SHARD_OUTPUTS, shardRelationSql } from '../../lib/scale-out/model-cut.ts';
import { REPO_ROOT } from '../support/lake-fixture.ts';

/** The SQL models and the flows mart as a run has them (jobs/hourly-etl.ts compiles the mart from the rules). */
async function runModels(): Promise<ModelDefinition[]> {
  const files = await loadModelFiles(path.join(REPO_ROOT, 'sql'));
  return [...files, { ...files.find((model) => model.name === 'flows_enriched')!, name: 'flows', upstream: ['flows_enriched'], materialized: 'parquet' }];
}

describe('the commit parts cut', () => {
  it('part j of M is the j-th of M ranges of the 64-bit connection hash: contiguous, covering every hash, the last one open', () => {
    const ranges = [0, 1, 2].map((index) => partHashRange({ index, count: 3 }));
    expect(ranges[0]!.from).toBe(0n);
    expect(ranges[1]!.from).toBe(ranges[0]!.to);
    expect(ranges[2]!.from).toBe(ranges[1]!.to);
    expect(ranges[2]!.to).toBeUndefined();
    expect(partHashRange({ index: 0, count: 1 })).toEqual({ from: 0n, to: undefined });
  });

  it('a part runs what relates the records of one connection; the final commit what needs the whole hour, reading the parts’ outputs', async () => {
    const models = await runModels();
    const part = partModels(models).map((model) => model.name);
    const final = finalModels(models).map((model) => model.name);
    expect(part).toEqual(expect.arrayContaining(['connection_observations', 'flows_enriched', 'flows', 'rule_violations', 'violations']));
    expect(part).not.toContain('traffic_matrix');
    expect(final).toEqual(expect.arrayContaining(['traffic_matrix', 'rule_alerts', 'late_data_alerts', 'alerts']));
    for (const name of ['connection_observations', 'flows_enriched', ...PART_OUTPUTS]) expect(final).not.toContain(name);
    // Together they are the commit's models; the final commit reads no part model but the parts' outputs.
    expect(new Set([...part, ...final])).toEqual(new Set(commitModels(models).map((model) => model.name)));
    const handedOver = new Set<string>([...SHARD_OUTPUTS, ...PART_OUTPUTS]);
    const partOnly = new Set(part.filter((name) => !final.includes(name)));
    for (const model of finalModels(models)) for (const upstream of model.upstream) expect(partOnly.has(upstream) && !handedOver.has(upstream), `${model.name} reads ${upstream}`).toBe(false);
  });

  it('the records a part splits are read without their hash, in its range; the others whole', () => {
    expect(shardRelationSql('quarantine', ['a.parquet'])).toBe(`SELECT * FROM read_parquet(['a.parquet'])`);
    expect(shardRelationSql('flows_in_hour', ['a.parquet'])).toBe(`SELECT * EXCLUDE (connection_hash) FROM read_parquet(['a.parquet'])`);
    expect(shardRelationSql('flows_in_hour', ['a.parquet', 'b.parquet'], { from: 5n, to: 9n })).toBe(
      `SELECT * EXCLUDE (connection_hash) FROM read_parquet(['a.parquet', 'b.parquet']) WHERE connection_hash >= 5::UBIGINT AND connection_hash < 9::UBIGINT`,
    );
  });
});

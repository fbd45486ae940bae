import { loadSnapshot } from '../../lib/delta/delta-log.ts';
import { flowsTable, trafficMatrixTable } from '../../schemas/tables/index.ts';
import type { TableDefinition } from '../../schemas/tables/table-definition.ts';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverSamples } from '../../cli/commands/demo-command.ts';
import { RunLedger } from '../../orchestration/run-ledger.ts';
import { createLakeFixture, REPO_ROOT, type LakeFixture } from '../support/lake-fixture.ts';
import { queryLake } from '../support/read-lake.ts';

describe('a model that fails', () => {
  let lake: LakeFixture;
  /** The table's latest Delta version: a failed run must not have committed. */
  const versionOf = async (table: TableDefinition) => (await loadSnapshot(lake.store, table)).version;
  let brokenSqlDir: string;

  beforeAll(async () => {
    lake = await createLakeFixture();
    await deliverSamples({ store: lake.store });
    brokenSqlDir = path.join(lake.dir, 'sql');
    await cp(path.join(REPO_ROOT, 'sql'), brokenSqlDir, { recursive: true });
    const traffic = path.join(brokenSqlDir, 'marts', 'traffic_matrix.sql');
    await writeFile(traffic, (await readFile(traffic, 'utf8')).replace('sum(bytes) as bytes', 'sum(no_such_column) as bytes'));
  });
  afterAll(() => lake.cleanup());

  it("reports the model file and DuckDB's message, and leaves the published partition untouched", async () => {
    const good = await lake.runHour('2024-05-01T13');
    expect(good.status).toBe('published');
    const versionBefore = await versionOf(flowsTable);
    expect(versionBefore).toBeGreaterThanOrEqual(0);
    const keysBefore: string[] = [];
    for await (const object of lake.store.list('curated/')) keysBefore.push(object.key);

    const failed = await lake.runHour('2024-05-01T13', { sqlDir: brokenSqlDir });
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/^model traffic_matrix \(.*marts\/traffic_matrix\.sql\) failed: DuckDB: Binder Error: .*no_such_column/s);
    expect(failed.models.find((m) => m.name === 'traffic_matrix')?.status).toBe('failed');
    expect(failed.models.find((m) => m.name === 'flows')?.status).toBe('built');
    expect(failed.tables).toEqual([]);

    expect(await versionOf(flowsTable)).toBe(versionBefore);
    const keysAfter: string[] = [];
    for await (const object of lake.store.list('curated/')) keysAfter.push(object.key);
    expect(keysAfter).toEqual(keysBefore);
    const [{ n }] = (await queryLake(lake, 'SELECT count(*) AS n FROM flows')) as [{ n: bigint }];
    expect(n).toBe(436n);
    expect(await readdir(path.join(lake.dir, 'work', 'runs'))).toEqual([]);
    const entries = await new RunLedger(lake.config.ledger.path).entries();
    expect(entries.map((e) => e.status)).toEqual(['published', 'failed']);
    expect(entries[1]!.error).toContain('traffic_matrix');
  });

  it('fails a run when a data test fails, naming the test', async () => {
    const failingTestDir = path.join(lake.dir, 'sql-data-test');
    await cp(path.join(REPO_ROOT, 'sql'), failingTestDir, { recursive: true });
    const matrixModel = path.join(failingTestDir, 'marts', 'traffic_matrix.sql');
    await writeFile(matrixModel, (await readFile(matrixModel, 'utf8')).replace('accepted_values(dimension: segment, tag)', 'accepted_values(dimension: segment)'));
    const failed = await lake.runHour('2024-05-01T13', { sqlDir: failingTestDir });
    expect(failed.status).toBe('failed');
    // Every tag-dimension row of the hour's matrix fails the narrowed test.
    const tagRows = await queryLake<{ n: bigint }>(lake, `SELECT count(*) AS n FROM traffic_matrix WHERE dimension = 'tag'`);
    expect(failed.error).toMatch(new RegExp(`model traffic_matrix \\(.*\\) failed: data test accepted_values\\(dimension: segment\\) failed for ${tagRows[0]!.n} row\\(s\\)`));
  });

  it('fails a run whose enrichment loses flows, before anything is published', async () => {
    const lossyDir = path.join(lake.dir, 'sql-lossy-join');
    await cp(path.join(REPO_ROOT, 'sql'), lossyDir, { recursive: true });
    const enriched = path.join(lossyDir, 'enrich', 'flows_enriched_records.sql');
    const text = await readFile(enriched, 'utf8');
    expect(text).toContain('left join endpoint_profiles as s');
    // An inner join drops every flow whose source address has no profile (the internet ones).
    await writeFile(enriched, text.replace('left join endpoint_profiles as s', 'inner join endpoint_profiles as s'));
    const before = await versionOf(flowsTable);
    const failed = await lake.runHour('2024-05-01T13', { sqlDir: lossyDir });
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/flows export holds \d+ rows but the hour has 436 flows: the enrichment joins lost or repeated flows/);
    expect(await versionOf(flowsTable)).toBe(before);
  });

  it("fails a run whose written file breaks its table's contract (a NULL where the schema forbids one, a value outside the declared ones), before anything is published", async () => {
    const before = { flows: await versionOf(flowsTable), traffic_matrix: await versionOf(trafficMatrixTable) };
    const nullDir = path.join(lake.dir, 'sql-null-counter');
    await cp(path.join(REPO_ROOT, 'sql'), nullDir, { recursive: true });
    const matrix = path.join(nullDir, 'marts', 'traffic_matrix.sql');
    const matrixText = await readFile(matrix, 'utf8');
    // The agent does not log an action: `action = 'reject'` is NULL for its flows, and a group of
    // only those sums to NULL (the bug this check found).
    expect(matrixText).toContain("(action is not distinct from 'reject')::integer");
    await writeFile(matrix, matrixText.replace("(action is not distinct from 'reject')::integer", "(action = 'reject')::integer"));
    const nullRun = await lake.runHour('2024-05-01T13', { sqlDir: nullDir });
    expect(nullRun.status).toBe('failed');
    expect(nullRun.error).toMatch(/^export of traffic_matrix breaks its contract: rejected_flows is NULL in \d+ row\(s\)$/);

    const valueDir = path.join(lake.dir, 'sql-bad-action');
    await cp(path.join(REPO_ROOT, 'sql'), valueDir, { recursive: true });
    const enriched = path.join(valueDir, 'enrich', 'flows_enriched_records.sql');
    const enrichedText = await readFile(enriched, 'utf8');
    const carried = '    f.* exclude (observer_vm_id, direction, src_ip_is_public, dst_ip_is_public, counts_in_totals),';
    expect(enrichedText).toContain(carried);
    await writeFile(enriched, enrichedText.replace(carried, '    f.* exclude (observer_vm_id, direction, src_ip_is_public, dst_ip_is_public, counts_in_totals, action), upper(f.action) as action,'));
    const valueRun = await lake.runHour('2024-05-01T13', { sqlDir: valueDir });
    expect(valueRun.status).toBe('failed');
    expect(valueRun.error).toMatch(/^export of flows breaks its contract: action is not one of accept, reject in \d+ row\(s\)$/);
    expect({ flows: await versionOf(flowsTable), traffic_matrix: await versionOf(trafficMatrixTable) }).toEqual(before);
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbSession } from '../../lib/duckdb/duckdb-session.ts';
import { loadMacroFiles } from '../../lib/net/sql-macros.ts';

/**
 * An alert shows its three earliest flows (ties by flow id) and its five smallest flow ids,
 * whatever the order its flows arrive in: the macro keeps them with min_by, not by sorting each
 * group's list, so the order is the aggregate's and this holds it to the documented one.
 */
describe('alert samples (sql/macros/40_alert_samples.sql)', () => {
  let dir: string;
  let session: DuckDbSession;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netflow-alert-samples-'));
    session = await DuckDbSession.open({ workDir: dir, memoryLimit: '256MB', maxTempDirectorySize: '64MB', threads: 4 });
    for (const macro of await loadMacroFiles()) await session.runScript(macro.sql);
    // Up to 400 groups of up to 20 flows, shuffled, with start times from a small set (many ties).
    await session.run(`CREATE TABLE flows AS
      SELECT g, 'f-' || lpad(md5(i::varchar)[1:8], 8, '0') AS flow_id,
        TIMESTAMP '2024-05-01 13:00:00' + to_seconds((hash(i * 7) % 5)::BIGINT) AS start_at,
        TIMESTAMP '2024-05-01 13:00:09' AS end_at, 40000 + i AS src_port, 6 AS protocol, 'accept' AS action,
        1 AS packets, 60 AS bytes, 'agent' AS source_type, 'raw/k' || g AS raw_object_key
      FROM (SELECT i, i % 400 AS g FROM range(8000) r(i) WHERE hash(i) % 40 >= (i % 400) % 40) ORDER BY hash(i * 13)`);
  });
  afterAll(async () => {
    session.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the three earliest flows by (start_at, flow_id) and the five smallest flow ids of every group', async () => {
    const rows = await session.all<{ g: bigint; samples: string; ids: string[]; expected_samples: string[]; expected_ids: string[]; n: bigint }>(`
      SELECT g, count(*) AS n,
        alert_samples(flow_id, start_at, end_at, src_port, protocol, action, packets, bytes, source_type, raw_object_key) AS samples,
        min(flow_id, 5) AS ids,
        list(flow_id ORDER BY start_at, flow_id)[1:3] AS expected_samples,
        list(flow_id ORDER BY flow_id)[1:5] AS expected_ids
      FROM flows GROUP BY g ORDER BY g`);
    expect(rows.length).toBeGreaterThan(350);
    expect(rows.some((row) => row.n > 10n)).toBe(true);
    for (const row of rows) {
      const samples = JSON.parse(row.samples) as { flow_id: string; start_at: string }[];
      expect(
        samples.map((sample) => sample.flow_id),
        `group ${row.g}`,
      ).toEqual(row.expected_samples);
      expect(row.ids, `group ${row.g}`).toEqual(row.expected_ids);
    }
    const [one] = await session.all<{ samples: string }>(
      `SELECT alert_samples(flow_id, start_at, end_at, src_port, protocol, action, packets, bytes, source_type, raw_object_key) AS samples FROM flows WHERE flow_id = (SELECT min(flow_id) FROM flows)`,
    );
    expect(Object.keys(JSON.parse(one!.samples)[0])).toEqual(['flow_id', 'start_at', 'end_at', 'src_port', 'protocol', 'action', 'packets', 'bytes', 'source_type', 'raw_object_key']);
  });
});

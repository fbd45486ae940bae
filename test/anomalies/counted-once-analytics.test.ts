import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbSession } from '../../lib/duckdb/duckdb-session.ts';
import { parseModelFile } from '../../lib/models/model-definition.ts';
import { flowsTable } from '../../schemas/tables/flows.ts';
import { REPO_ROOT } from '../support/lake-fixture.ts';

/**
 * The anomaly detectors' hourly aggregates count each connection once (flows.counts_in_totals):
 * given curated records of connections that two observers report, each aggregate's flow count
 * and bytes are the connections', not the records'.
 */
interface Given {
  name: string;
  source_type: string;
  observer: string;
  counts: boolean;
  src: [ip: string, port: number];
  dst: [ip: string, port: number];
  bytes: number;
  reverse_bytes?: number;
}

const given: Given[] = [
  // app-1 uploads to the internet; its agent and its ENI flow log report it, the ENI's record counts.
  { name: 'egress/agent', source_type: 'agent', observer: 'app-1', counts: false, src: ['10.0.2.10', 40001], dst: ['198.51.100.7', 443], bytes: 7000 },
  { name: 'egress/eni', source_type: 'aws_vpc', observer: 'app-1', counts: true, src: ['10.0.2.10', 40001], dst: ['198.51.100.7', 443], bytes: 7000 },
  // app-1 → sql-1, both agents: the destination's request counts, the answer by the source's agent.
  { name: 'sql/app-request', source_type: 'agent', observer: 'app-1', counts: false, src: ['10.0.2.10', 40002], dst: ['10.0.3.10', 1433], bytes: 900 },
  { name: 'sql/sql-request', source_type: 'agent', observer: 'sql-1', counts: true, src: ['10.0.2.10', 40002], dst: ['10.0.3.10', 1433], bytes: 900 },
  { name: 'sql/sql-answer', source_type: 'agent', observer: 'sql-1', counts: false, src: ['10.0.3.10', 1433], dst: ['10.0.2.10', 40002], bytes: 5000 },
  { name: 'sql/app-answer', source_type: 'agent', observer: 'app-1', counts: true, src: ['10.0.3.10', 1433], dst: ['10.0.2.10', 40002], bytes: 5000 },
  // web-1 → app-1 logged by the server NIC's VNet flow log with the answer, and by web-1's agent (neither record counts).
  { name: 'vnet/tuple', source_type: 'azure_vnet', observer: 'app-1', counts: true, src: ['10.0.1.10', 40003], dst: ['10.0.2.10', 8080], bytes: 300, reverse_bytes: 2000 },
  { name: 'vnet/web-request', source_type: 'agent', observer: 'web-1', counts: false, src: ['10.0.1.10', 40003], dst: ['10.0.2.10', 8080], bytes: 300 },
  { name: 'vnet/web-answer', source_type: 'agent', observer: 'web-1', counts: false, src: ['10.0.2.10', 8080], dst: ['10.0.1.10', 40003], bytes: 2000 },
];

const SEGMENTS: Record<string, string> = { '10.0.1.10': 'web', '10.0.2.10': 'app', '10.0.3.10': 'data', '198.51.100.7': 'internet' };

describe('anomaly aggregates: each connection counted once', () => {
  let dir: string;
  let session: DuckDbSession;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netflow-counted-analytics-'));
    session = await DuckDbSession.open({ workDir: dir, memoryLimit: '256MB', maxTempDirectorySize: '1GB' });
    const columns = flowsTable.columns.map((column) => `CAST(NULL AS ${column.type}) AS ${column.name}`).join(', ');
    await session.run(`CREATE TABLE flows AS SELECT ${columns} LIMIT 0`);
    for (const flow of given) {
      const [srcIp, srcPort] = flow.src;
      const [dstIp, dstPort] = flow.dst;
      await session.run(
        `INSERT INTO flows (flow_id, start_at, end_at, source_type, observer_vm_id, src_ip, src_port, dst_ip, dst_port, protocol, packets, bytes, reverse_bytes, counts_in_totals,
           src_segment, dst_segment, src_vm_id, dst_vm_id, src_is_public, dst_is_public)
         VALUES ($1, TIMESTAMP '2024-05-01 13:10:00', TIMESTAMP '2024-05-01 13:10:30', $2, $3, $4, $5, $6, $7, 6, 10, $8, $9, $10, $11, $12,
           CASE WHEN $11 = 'internet' THEN NULL ELSE $11 || '-vm' END, CASE WHEN $12 = 'internet' THEN NULL ELSE $12 || '-vm' END, $11 = 'internet', $12 = 'internet')`,
        [flow.name, flow.source_type, flow.observer, srcIp, srcPort, dstIp, dstPort, flow.bytes, flow.reverse_bytes ?? null, flow.counts, SEGMENTS[srcIp]!, SEGMENTS[dstIp]!],
      );
    }
    for (const name of ['an_flows', 'an_volume_hourly', 'an_talker_pairs_hourly', 'an_egress_pairs_hourly', 'an_source_minute_destinations']) {
      const file = path.join('sql', 'analytics', `${name}.sql`);
      const model = parseModelFile(file, 'analytics', await readFile(path.join(REPO_ROOT, file), 'utf8'));
      await session.run(`CREATE TABLE ${name} AS ${model.body.sql}`);
    }
  });
  afterAll(async () => {
    session?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('volume: each segment pair and client holds its connections once, both directions on the opening side', async () => {
    const rows = await session.all<{ volume_key: string; flow_count: bigint; bytes: bigint }>(`SELECT volume_key, flow_count, bytes::BIGINT AS bytes FROM an_volume_hourly ORDER BY scope, volume_key`);
    expect(rows.map((row) => [row.volume_key, row.flow_count, row.bytes])).toEqual([
      ['app -> data', 2n, 5900n],
      ['app -> internet', 1n, 7000n],
      ['web -> app', 1n, 2300n],
      ['10.0.1.10', 1n, 2300n],
      ['10.0.2.10', 3n, 12_900n],
    ]);
  });

  it('talker pairs, egress pairs and the per-minute destinations of the scans: one flow a connection', async () => {
    const talkers = await session.all<{ src_key: string; dst_key: string; flow_count: bigint; bytes: bigint }>(
      `SELECT src_key, dst_key, flow_count, bytes::BIGINT AS bytes FROM an_talker_pairs_hourly ORDER BY ALL`,
    );
    expect(talkers.map((row) => [row.src_key, row.dst_key, row.flow_count, row.bytes])).toEqual([
      ['10.0.1.10', '10.0.2.10', 1n, 300n],
      ['10.0.2.10', '10.0.3.10', 1n, 900n],
      ['10.0.2.10', 'internet', 1n, 7000n],
    ]);
    const egress = await session.all<{ dst_ip: string; flow_count: bigint; bytes: bigint }>(`SELECT dst_ip, flow_count, bytes::BIGINT AS bytes FROM an_egress_pairs_hourly`);
    expect(egress.map((row) => [row.dst_ip, row.flow_count, row.bytes])).toEqual([['198.51.100.7', 1n, 7000n]]);
    const minutes = await session.all<{ dst_ip: string; flow_count: bigint; bytes: bigint }>(`SELECT dst_ip, flow_count, bytes::BIGINT AS bytes FROM an_source_minute_destinations ORDER BY dst_ip`);
    expect(minutes.map((row) => [row.dst_ip, row.flow_count, row.bytes])).toEqual([
      ['10.0.2.10', 1n, 300n],
      ['10.0.3.10', 1n, 900n],
      ['198.51.100.7', 1n, 7000n],
    ]);
  });
});

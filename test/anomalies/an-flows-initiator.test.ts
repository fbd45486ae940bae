import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbSession } from '../../lib/duckdb/duckdb-session.ts';
import { parseModelFile } from '../../lib/models/model-definition.ts';
import { flowsTable } from '../../schemas/tables/flows.ts';
import { REPO_ROOT } from '../support/lake-fixture.ts';

/**
 * Which records the anomaly detectors count as a connection's opening (an_flows.is_initiator),
 * and the answer a record carries (reverse_bytes): the model over a few hand-made flows.
 */
describe('an_flows: initiators and answers', () => {
  let dir: string;
  let session: DuckDbSession;
  let rows: { name: string; is_initiator: boolean; reverse_bytes: bigint }[];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netflow-an-flows-'));
    session = await DuckDbSession.open({ workDir: dir, memoryLimit: '256MB', maxTempDirectorySize: '1GB' });
    const flows: [name: string, source: string, protocol: number, srcPort: number | null, dstPort: number | null, reverseBytes: number | null][] = [
      ['tcp request', 'aws_vpc', 6, 50000, 443, null],
      ['tcp response', 'aws_vpc', 6, 443, 50000, null],
      ['agent echo request', 'agent', 1, 8, 0, null],
      ['agent echo reply', 'agent', 1, 0, 0, null],
      // AWS writes 0 0 for every ICMP record, GCP no ports: a ping sweep must still count.
      ['aws icmp', 'aws_vpc', 1, 0, 0, null],
      ['gcp icmp', 'gcp_vpc', 1, null, null, null],
      ['azure tuple with its answer', 'azure_vnet', 6, 50001, 443, 4096],
    ];
    const columns = flowsTable.columns.map((column) => `CAST(NULL AS ${column.type}) AS ${column.name}`).join(', ');
    await session.run(`CREATE TABLE flows AS SELECT ${columns} LIMIT 0`);
    for (const [_index, [name, source, protocol, srcPort, dstPort, reverseBytes]] of flows.entries()) {
      await session.run(
        `INSERT INTO flows (flow_id, start_at, end_at, source_type, src_ip, src_port, dst_ip, dst_port, protocol, packets, bytes, reverse_bytes, src_is_public, dst_is_public)
         VALUES ($1, TIMESTAMP '2024-05-01 13:00:00', TIMESTAMP '2024-05-01 13:00:10', $2, '10.0.0.1', $3, '10.0.0.2', $4, $5, 1, 100, $6, false, false)`,
        [name, source, srcPort, dstPort, protocol, reverseBytes],
      );
    }
    const model = parseModelFile('sql/analytics/an_flows.sql', 'analytics', await readFile(path.join(REPO_ROOT, 'sql', 'analytics', 'an_flows.sql'), 'utf8'));
    rows = await session.all(`SELECT flow_id AS name, is_initiator, reverse_bytes FROM (${model.body.sql}) ORDER BY flow_id`);
  });
  afterAll(async () => {
    session?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('takes a TCP answer and an agent ICMP reply as answers, and a cloud ICMP record (no type logged) as an initiator', () => {
    expect(Object.fromEntries(rows.map((row) => [row.name, row.is_initiator]))).toEqual({
      'tcp request': true,
      'tcp response': false,
      'agent echo request': true,
      'agent echo reply': false,
      'aws icmp': true,
      'gcp icmp': true,
      'azure tuple with its answer': true,
    });
  });

  it("carries a record's answer bytes, 0 where it has none", () => {
    expect(rows.find((row) => row.name === 'azure tuple with its answer')!.reverse_bytes).toBe(4096n);
    expect(rows.find((row) => row.name === 'tcp request')!.reverse_bytes).toBe(0n);
  });
});

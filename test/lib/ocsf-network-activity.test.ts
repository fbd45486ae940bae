import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverSamples } from '../../cli/commands/demo-command.ts';
import { engineDdl } from '../../lib/ddl/engine-ddl.ts';
import { ocsfAttributePaths, ocsfNetworkActivitySql } from '../../lib/ocsf/ocsf-network-activity.ts';
import { SQL_DIALECTS } from '../../lib/ddl/sql-dialect.ts';
import { openLakeSession, type LakeSession } from '../../lib/query/lake-session.ts';
import { flowsTable } from '../../schemas/tables/index.ts';
import { canonicalDuckDbRows, rowKey } from '../support/delta-readers.ts';
import { createLakeFixture, REPO_ROOT, type LakeFixture } from '../support/lake-fixture.ts';

describe('ocsf_network_activity', { timeout: 240_000 }, () => {
  let lake: LakeFixture;
  let session: LakeSession;
  beforeAll(async () => {
    lake = await createLakeFixture();
    await deliverSamples({ store: lake.store });
    for (const hour of ['2024-05-01T13', '2024-05-01T14']) expect((await lake.runHour(hour)).status).toBe('published');
    session = await openLakeSession({ store: lake.store, workDir: path.join(lake.dir, 'work'), memoryLimit: '1GB', maxTempDirectorySize: '1GB' });
  });
  afterAll(async () => {
    await session?.close();
    await lake?.cleanup();
  });

  it('is one OCSF Network Activity event per flow in a netflow query session', async () => {
    const [counts] = await session.session.all(`SELECT (SELECT count(*) FROM flows) AS flows, count(*) AS events, count(DISTINCT metadata.uid) AS ids FROM ocsf_network_activity`);
    expect(counts!.events).toBe(counts!.flows);
    expect(counts!.ids).toBe(counts!.flows);
    const classes = await session.session.all(`SELECT DISTINCT class_uid, category_uid, activity_id, type_uid, severity_id, metadata.version AS version FROM ocsf_network_activity`);
    expect(classes).toEqual([{ class_uid: 4001, category_uid: 4, activity_id: 6, type_uid: 400106n, severity_id: 1, version: '1.1.0' }]);
  });

  it('maps each flow column to its OCSF attribute', async () => {
    const mismatches = await session.session.all(`
      SELECT f.flow_id FROM flows f JOIN ocsf_network_activity o ON o.metadata.uid = f.flow_id
      WHERE o.src_endpoint.ip IS DISTINCT FROM f.src_ip OR o.dst_endpoint.port IS DISTINCT FROM f.dst_port
         OR o.src_endpoint.uid IS DISTINCT FROM f.src_vm_id OR o.dst_endpoint.name IS DISTINCT FROM f.dst_vm_name
         OR o.connection_info.protocol_num <> f.protocol OR o.connection_info.community_uid IS DISTINCT FROM f.community_id
         OR o.connection_info.tcp_flags IS DISTINCT FROM f.tcp_flags
         OR o.connection_info.direction_id <> CASE f.direction WHEN 'ingress' THEN 1 WHEN 'egress' THEN 2 ELSE 0 END
         OR o.action_id <> CASE f.action WHEN 'accept' THEN 1 WHEN 'reject' THEN 2 ELSE 0 END
         OR o.disposition <> CASE f.action WHEN 'accept' THEN 'Allowed' WHEN 'reject' THEN 'Blocked' ELSE 'Unknown' END
         OR o.traffic.bytes <> f.bytes + coalesce(f.reverse_bytes, 0) OR o.traffic.packets_out <> f.packets
         OR o.traffic.bytes_in IS DISTINCT FROM f.reverse_bytes
         OR o.time <> epoch_ms(f.start_at) OR o.end_time_dt <> f.end_at
         OR (f.source_type = 'agent') <> (o.cloud IS NULL)
         OR (o.cloud IS NOT NULL AND (o.cloud.account.uid IS DISTINCT FROM f.account_id OR o.cloud.region IS DISTINCT FROM f.region))
         OR o.observables <> [{'name': 'src_endpoint.ip', 'type_id': 2, 'type': 'IP Address', 'value': f.src_ip}, {'name': 'dst_endpoint.ip', 'type_id': 2, 'type': 'IP Address', 'value': f.dst_ip}]`);
    expect(mismatches).toEqual([]);
    const providers = await session.session.all(`SELECT DISTINCT metadata.log_name AS source_type, cloud.provider AS provider FROM ocsf_network_activity ORDER BY 1`);
    const expected: Record<string, string | null> = { agent: null, aws_vpc: 'AWS', azure_nsg: 'Azure', azure_vnet: 'Azure', gcp_vpc: 'GCP', oci_vcn: 'OCI' };
    expect(providers.length).toBeGreaterThan(1);
    for (const { source_type, provider } of providers) expect(provider, String(source_type)).toBe(expected[String(source_type)]);
  });

  it('sums both directions of a two-way record and maps unknown action and direction to 0 (a flow made two-way, Azure, unknown)', async () => {
    const azure = `(SELECT * REPLACE ('azure_vnet' AS source_type, 100::BIGINT AS reverse_bytes, 7::BIGINT AS reverse_packets, NULL::VARCHAR AS action, NULL::VARCHAR AS direction, 10::BIGINT AS bytes, 1::BIGINT AS packets) FROM flows LIMIT 1) AS flows`;
    const [event] = await session.session.all(
      `SELECT traffic, cloud.provider AS provider, action_id, action, disposition_id, connection_info.direction_id AS direction_id FROM (${ocsfNetworkActivitySql(SQL_DIALECTS.duckdb, azure)})`,
    );
    expect(event).toEqual({
      traffic: { bytes: 110n, packets: 8n, bytes_out: 10n, packets_out: 1n, bytes_in: 100n, packets_in: 7n },
      provider: 'Azure',
      action_id: 0,
      action: 'Unknown',
      disposition_id: 0,
      direction_id: 0,
    });
  });

  it('the DuckDB DDL of `netflow ddl` builds the same view (delta_scan stood in for by a macro over the Parquet files)', async () => {
    const ddl = ['flows', 'ocsf_network_activity']
      .map((name) =>
        engineDdl({ engine: 'duckdb', location: path.join(lake.dir, 'lake'), schema: 'netflow', catalog: 'delta', tables: name === 'flows' ? [flowsTable] : [], ocsfView: name !== 'flows' }),
      )
      .join('\n')
      .replace(/^(INSTALL|LOAD) delta;$/gm, '');
    const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
    const connection = await instance.connect();
    try {
      // Our own stand-in for the extension's table function: every Parquet file of the table (the lake
      // holds one run per hour here), with the dt/hour partition columns from the folder names.
      await connection.run(`CREATE MACRO delta_scan(location) AS TABLE SELECT * FROM read_parquet(location || '/dt=*/hour=*/*.parquet', hive_partitioning = true, hive_types_autocast = false)`);
      await connection.run(ddl);
      const all = async (sql: string) => (await connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
      const fromDdl = await canonicalDuckDbRows({ all }, 'netflow.ocsf_network_activity');
      const fromSession = await canonicalDuckDbRows(session.session, 'ocsf_network_activity');
      expect(fromDdl.columns).toEqual(fromSession.columns);
      expect(fromDdl.rows.map(rowKey).sort()).toEqual(fromSession.rows.map(rowKey).sort());
      const comments = await all(`SELECT comment FROM duckdb_columns() WHERE table_name = 'flows' AND column_name = 'flow_id'`);
      expect(comments).toEqual([{ comment: flowsTable.columns[0].doc }]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });

  it('docs/ocsf.md lists every attribute the view fills', async () => {
    const doc = await readFile(path.join(REPO_ROOT, 'docs', 'ocsf.md'), 'utf8');
    for (const { path: attribute } of ocsfAttributePaths()) expect(doc, attribute).toContain(`| \`${attribute}\` |`);
  });
});

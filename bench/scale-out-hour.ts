import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDbSession, sqlString } from '../lib/duckdb/duckdb-session.ts';

/**
 * A generated event hour (2024-05-01T13) of `flows` flow records from four sources in their
 * native layouts under `<lakeDir>/raw/`, for the scale-out bench and its reliability test:
 * - AWS VPC Flow Logs (version 2 text, gzip): 60 %, on 400 ENIs; 1 object in 8 also holds records
 *   of hour 11 delivered too late for hour 11's window (late_records, beyond the lateness), and
 *   every 5000th line is malformed (quarantined);
 * - agents (NDJSON, gzip) on two VMs that see each other's connections: 20 %, every connection
 *   observed twice (egress at one VM, ingress at the other: counted once);
 * - GCP VPC flow logs (a Logging sink's hourly batches): 15 %, each flow reported by SRC and
 *   DEST in different batch files;
 * - OCI VCN flow logs (Connector Hub batches): 5 %;
 * plus one AWS object whose gzip stream is cut short (quarantined whole). Objects are about 50 000
 * records each, so an hour spreads over many objects to shard.
 */
export async function generateScaleOutHour(lakeDir: string, flows: number): Promise<{ objects: number }> {
  const raw = path.join(lakeDir, 'raw');
  await mkdir(raw, { recursive: true });
  // DuckDB writes only under its work folder: the raw folder itself (it spills nothing for these copies).
  const session = await DuckDbSession.open({ workDir: raw, memoryLimit: '1GB', maxTempDirectorySize: '1GB' });
  let objects = 0;
  const perObject = 50_000;
  const hourS = Date.UTC(2024, 4, 1, 13) / 1000;
  const split = (total: number) => Array.from({ length: Math.max(1, Math.ceil(total / perObject)) }, (_, i) => [i * perObject, Math.min(total, (i + 1) * perObject)] as const);
  const copy = async (select: string, file: string, options: string) => {
    await mkdir(path.dirname(file), { recursive: true });
    await session.run(`COPY (${select}) TO ${sqlString(file)} (${options})`);
    objects++;
  };
  try {
    const awsDir = path.join(raw, 'aws_vpc', 'AWSLogs', '123456789012', 'vpcflowlogs', 'us-east-1', '2024', '05', '01');
    for (const [index, [from, to]] of split(Math.round(flows * 0.6)).entries()) {
      const late = index % 8 === 1;
      const stamp = `20240501T13${String(1 + (index % 59)).padStart(2, '0')}Z`;
      await copy(
        `SELECT CASE WHEN i % 5000 = 4999 THEN 'malformed' ELSE '2' END AS "version", '123456789012' AS "account-id",
           'eni-' || lpad(printf('%x', i % 400), 17, '0') AS "interface-id",
           CASE WHEN i % 10 < 6 THEN ((hash(i) % 200) + 20)::VARCHAR || '.' || (hash(i * 3) % 256)::VARCHAR || '.' || (hash(i * 5) % 256)::VARCHAR || '.' || (hash(i * 7) % 254 + 1)::VARCHAR
                ELSE '10.0.' || (i % 6)::VARCHAR || '.' || (hash(i * 11) % 250 + 1)::VARCHAR END AS srcaddr,
           -- The port and subnet mix of bench/pipeline-bench.ts: about 2 % of flows break a sample rule.
           '10.0.' || (CASE WHEN hash(i * 13) % 100 = 0 THEN 4 ELSE [0, 1, 2, 3, 5][(hash(i * 13) % 5 + 1)::BIGINT] END)::VARCHAR || '.' || (hash(i * 17) % 250 + 1)::VARCHAR AS dstaddr,
           (hash(i * 19) % 64000 + 1024)::INTEGER AS srcport,
           CASE WHEN i % 100 < 50 THEN 443 WHEN i % 100 < 65 THEN 80 WHEN i % 100 < 80 THEN 53 WHEN i % 100 < 90 THEN 8080
                WHEN i % 100 < 95 THEN 6379 WHEN i % 100 < 98 THEN 1433 WHEN i % 100 < 99 THEN 22 ELSE 3389 END AS dstport,
           CASE WHEN i % 100 BETWEEN 65 AND 79 THEN 17 ELSE 6 END AS protocol, (hash(i * 23) % 500 + 1)::BIGINT AS packets, (hash(i * 29) % 500000 + 40)::BIGINT AS bytes,
           ${hourS} + (i % 3540) - CASE WHEN ${late} AND i % 4 = 0 THEN 7200 ELSE 0 END AS "start",
           ${hourS} + (i % 3540) + 59 - CASE WHEN ${late} AND i % 4 = 0 THEN 7200 ELSE 0 END AS "end",
           CASE WHEN i % 17 = 0 THEN 'REJECT' ELSE 'ACCEPT' END AS "action", 'OK' AS "log-status"
         FROM range(${from}, ${to}) AS t(i)`,
        path.join(awsDir, `123456789012_vpcflowlogs_us-east-1_fl-0scale${String(index).padStart(5, '0')}_${stamp}_${index.toString(16).padStart(8, '0')}.log.gz`),
        `FORMAT csv, DELIMITER ' ', HEADER true, QUOTE '', COMPRESSION gzip`,
      );
    }
    // A gzip stream cut short: staging verifies gzip end to end and quarantines the object whole.
    await writeFile(path.join(awsDir, '123456789012_vpcflowlogs_us-east-1_fl-0scalebad_20240501T1330Z_deadbeef.log.gz'), gzipSync('version account-id\n2 123\n'.repeat(100)).subarray(0, 40));
    objects++;

    // Two VMs of the sample inventory (app-1 10.0.2.10, sql-1 10.0.3.10): each connection once at each end.
    const agents = [
      { vm: 'i-0app00000000001', direction: 'egress' },
      { vm: 'i-0sql00000000001', direction: 'ingress' },
    ];
    for (const [index, [from, to]] of split(Math.round(flows * 0.1)).entries()) {
      for (const agent of agents) {
        const minute = `interval '1 minute' * ((i % 3540) // 60)`;
        await copy(
          `SELECT 1 AS v, '${agent.vm}' AS vm_id, 'eth0' AS interface_id,
             strftime(TIMESTAMP '2024-05-01 13:00:00' + ${minute}, '%Y-%m-%dT%H:%M:%S.000Z') AS interval_start_at, 60 AS interval_s,
             strftime(TIMESTAMP '2024-05-01 13:00:00' + interval '1 second' * (i % 3540) + interval '1 millisecond' * ${agent.direction === 'egress' ? 0 : 3}, '%Y-%m-%dT%H:%M:%S.%gZ') AS start_at,
             strftime(TIMESTAMP '2024-05-01 13:00:00' + interval '1 second' * (i % 3540 + 20), '%Y-%m-%dT%H:%M:%S.%gZ') AS end_at,
             '10.0.2.10' AS src_ip, '10.0.3.10' AS dst_ip, (10000 + i % 50000)::INTEGER AS src_port, 1433 AS dst_port, 6 AS protocol,
             '${agent.direction}' AS direction, (hash(i) % 90 + 10)::BIGINT AS packets, (hash(i * 7) % 90000 + 1000)::BIGINT AS bytes, 27 AS tcp_flags
           FROM range(${from}, ${to}) AS t(i)`,
          path.join(raw, 'agent', 'dt=2024-05-01', 'hour=13', `vm=${agent.vm}`, `${agent.vm}-${String(index).padStart(12, '0')}.ndjson.gz`),
          `FORMAT json, COMPRESSION gzip`,
        );
      }
    }

    // GCP: the SRC report of a flow in batch S<2k>, its DEST report in S<2k+1>.
    const gcpDir = path.join(raw, 'gcp_vpc', 'compute.googleapis.com', 'vpc_flows', '2024', '05', '01');
    for (const [index, [from, to]] of split(Math.round(flows * 0.075)).entries()) {
      for (const [side, reporter] of ['SRC', 'DEST'].entries()) {
        await copy(
          `SELECT 'projects/p/logs/compute.googleapis.com%2Fvpc_flows' AS logName,
             {'labels': {'project_id': 'p', 'location': 'us-central1-a', 'subnetwork_name': 'default'}, 'type': 'gce_subnetwork'} AS resource,
             {'connection': {'src_ip': '10.128.' || (i % 200)::VARCHAR || '.4', 'dest_ip': '10.128.0.5', 'src_port': 30000 + i % 30000, 'dest_port': 5432, 'protocol': 6},
              'bytes_sent': (1000 + i % 5000)::VARCHAR, 'packets_sent': (1 + i % 50)::VARCHAR,
              'start_time': strftime(TIMESTAMP '2024-05-01 13:00:00' + interval '1 second' * (i % 3540), '%Y-%m-%dT%H:%M:%S.000000000Z'),
              'end_time': strftime(TIMESTAMP '2024-05-01 13:00:00' + interval '1 second' * (i % 3540 + 10), '%Y-%m-%dT%H:%M:%S.000000000Z'),
              'reporter': '${reporter}'} AS jsonPayload
           FROM range(${from}, ${to}) AS t(i)`,
          path.join(gcpDir, `13:00:00_13:59:59_S${2 * index + side}.json`),
          `FORMAT json`,
        );
      }
    }

    const ociDir = path.join(raw, 'oci_vcn', 'ocid1.serviceconnector.oc1.phx.scaleout');
    for (const [index, [from, to]] of split(Math.round(flows * 0.05)).entries()) {
      const minute = String(5 + (index % 50)).padStart(2, '0');
      await copy(
        `SELECT {'version': '2', 'status': 'OK', 'action': CASE WHEN i % 9 = 0 THEN 'REJECT' ELSE 'ACCEPT' END,
            'sourceAddress': '203.0.113.' || (i % 250 + 1)::VARCHAR, 'destinationAddress': '10.0.0.2', 'sourcePort': 40000 + i % 20000, 'destinationPort': 443,
            'protocol': 6, 'packets': 1 + i % 30, 'bytesOut': 100 + i % 20000, 'startTime': ${hourS} + i % 3540, 'endTime': ${hourS} + i % 3540 + 30} AS data,
           {'vnicocid': 'ocid1.vnic.oc1.phx.scaleout' || (i % 20)::VARCHAR, 'vnicsubnetocid': 'ocid1.subnet.oc1.phx.scaleout', 'tenantid': 'ocid1.tenancy.oc1..scaleout'} AS oracle,
           'com.oraclecloud.vcn.flowlogs.DataEvent' AS type
         FROM range(${from}, ${to}) AS t(i)`,
        path.join(ociDir, `20240501T13${minute}00Z_20240501T13${minute}59Z.${index}.log.gz`),
        `FORMAT json, COMPRESSION gzip`,
      );
    }
  } finally {
    session.close();
  }
  return { objects };
}

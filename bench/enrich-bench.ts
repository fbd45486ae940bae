/**
 * The enrichment benchmark: `npm run bench:enrich -- --ranges 1000000 [--flows 10000000] [--addresses 1000000] [--baseline 1000]`.
 *
 * Builds one hour of synthetic flows (`flows_in_hour`, already normalized) and reference tables in
 * a locked-down DuckDB session, then times the enrich stage (every model in sql/enrich after
 * flows_in_hour, with their data tests, exactly as the hourly job runs them) twice: with
 * `--baseline` ranges and with `--ranges` ranges, on the same flows, inventory and threat lists.
 * Ranges mix IPv4 /8–/32 (half inside 10/8, so private addresses hit several overlapping ranges)
 * and IPv6 /32–/64, like a provider file plus a corporate IPAM export. Each size is measured
 * `--repeat` times and the fastest run is reported (the machine is shared). The plan of
 * endpoint_ranges is checked for nested-loop and range joins. Last line of output: one JSON object.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { DuckDbSession } from '../lib/duckdb/duckdb-session.ts';
import { createLogger } from '../lib/log/logger.ts';
import { loadModelFiles } from '../lib/models/model-definition.ts';
import { ModelRunner } from '../lib/models/model-runner.ts';
import { loadMacroFiles } from '../lib/net/sql-macros.ts';
import { REFERENCE_RELATIONS } from '../lib/reference/reference-data.ts';

const { values } = parseArgs({
  options: {
    ranges: { type: 'string', default: '1000000' },
    baseline: { type: 'string', default: '1000' },
    flows: { type: 'string', default: '10000000' },
    addresses: { type: 'string' },
    repeat: { type: 'string', default: '2' },
    threads: { type: 'string' },
    'memory-limit': { type: 'string', default: '8GB' },
  },
});
const int = (name: string, text: string | undefined) => {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer, got ${text}`);
  return value;
};
const flows = int('flows', values.flows);
const ranges = int('ranges', values.ranges);
const baseline = int('baseline', values.baseline);
const addresses = int('addresses', values.addresses ?? String(Math.max(1000, Math.round(flows / 10))));
const repeat = int('repeat', values.repeat);
const log = (message: string) => process.stderr.write(`${message}\n`);

const SQL_DIR = path.resolve(import.meta.dirname, '..', 'sql');
const dir = await mkdtemp(path.join(tmpdir(), 'netflow-enrich-bench-'));
const session = await DuckDbSession.open({
  workDir: dir,
  memoryLimit: values['memory-limit'],
  maxTempDirectorySize: '50GB',
  ...(values.threads ? { threads: int('threads', values.threads) } : {}),
});

try {
  for (const macro of await loadMacroFiles()) await session.runScript(macro.sql);
  await session.run(`SET VARIABLE hour_start = TIMESTAMP '2024-05-01 13:00:00'`);
  await session.run(`SET VARIABLE hour_end = TIMESTAMP '2024-05-01 14:00:00'`);

  let started = performance.now();
  log(`generating ${addresses} addresses and ${flows} flows`);
  // Address pool: 60 % private IPv4 in 10/8, 35 % public IPv4, 5 % IPv6 under 2600:1f18::/32.
  await session.run(`CREATE TABLE pool AS
    SELECT i AS idx,
      CASE WHEN i % 20 = 0 THEN '2600:1f18:' || printf('%x', hash(i) % 65536) || ':' || printf('%x', hash(i * 3) % 65536) || '::' || printf('%x', hash(i * 5) % 65535 + 1)
           WHEN i % 20 < 13 THEN '10.' || (hash(i) % 256) || '.' || (hash(i * 3) % 256) || '.' || (hash(i * 5) % 254 + 1)
           ELSE (hash(i) % 200 + 11) || '.' || (hash(i * 3) % 256) || '.' || (hash(i * 5) % 256) || '.' || (hash(i * 7) % 254 + 1) END AS ip
    FROM range(${addresses}) t(i)`);
  await session.run(`CREATE TABLE flows_in_hour AS
    SELECT 'f' || i AS flow_id,
      TIMESTAMP '2024-05-01 13:00:00' + to_milliseconds(i % 3600000) AS start_at,
      TIMESTAMP '2024-05-01 13:00:00' + to_milliseconds(i % 3600000 + 5000) AS end_at,
      'aws_vpc' AS source_type,
      s.ip AS src_ip, (hash(i * 19) % 64000 + 1024)::INTEGER AS src_port,
      d.ip AS dst_ip, [443, 80, 22, 1433, 6379, 8080, 53, 3389][(i % 8) + 1]::INTEGER AS dst_port,
      6 AS protocol, NULL::VARCHAR AS direction, CASE WHEN i % 17 = 0 THEN 'reject' ELSE 'accept' END AS action,
      (i % 50 + 1)::BIGINT AS packets, ((i % 50 + 1) * 700)::BIGINT AS bytes, 27 AS tcp_flags, NULL::VARCHAR AS community_id,
      NULL::VARCHAR AS observer_vm_id, 'eni-' || (i % 400) AS interface_id, '123456789012' AS account_id, 'us-east-1' AS region,
      'raw/bench/' || (i // 50000) AS raw_object_key, (i % 50000 + 1)::BIGINT AS raw_offset
    FROM range(${flows}) t(i)
    JOIN pool s ON s.idx = hash(i) % ${addresses}
    JOIN pool d ON d.idx = hash(i * 7) % ${addresses}`);
  // One inventory snapshot: 5,000 VMs owning private pool addresses; 10,000 threat entries.
  await session.run(`CREATE TABLE ref_inventory_epochs AS SELECT 1 AS epoch, TIMESTAMP '0001-01-01' AS valid_from, TIMESTAMP '9999-12-31' AS valid_to, NULL::TIMESTAMP AS snapshot_at`);
  await session.run(`CREATE TABLE ref_vm_snapshots AS SELECT 1 AS epoch, 'i-' || i AS vm_id, 'vm-' || i AS vm_name, '123456789012' AS account_id, 'us-east-1' AS region,
      'm5.large' AS sku, 10000.0 AS capacity_mbps, 'team' AS owner_team, ['web', 'app', 'data'][(i % 3) + 1] AS segment, ['vm', 'tier-' || (i % 3)] AS tags FROM range(5000) t(i)`);
  await session.run(`CREATE TABLE ref_vm_address_snapshots AS SELECT 1 AS epoch, 'i-' || (row_number() OVER () - 1) AS vm_id, 'eni-' || (row_number() OVER () - 1) AS interface_id, NULL::VARCHAR AS mac, ip
      FROM (SELECT ip FROM pool WHERE ip LIKE '10.%' ORDER BY idx LIMIT 5000)`);
  await session.run(`CREATE TABLE ref_vms AS SELECT * EXCLUDE (epoch) FROM ref_vm_snapshots`);
  await session.run(`CREATE TABLE ref_vm_addresses AS SELECT * EXCLUDE (epoch) FROM ref_vm_address_snapshots`);
  await session.run(`CREATE TABLE ref_threat_entries AS
    SELECT DISTINCT 'list-' || (i % 5) AS list_name, cidr, cidr_family(cidr) AS family, cidr_prefix_len(cidr) AS prefix_len,
      network_key(cidr_start(cidr), cidr_family(cidr), cidr_prefix_len(cidr)) AS network
    FROM (SELECT i, CASE WHEN i % 4 = 0 THEN (hash(i) % 200 + 11) || '.' || (hash(i * 3) % 256) || '.' || (hash(i * 5) % 256) || '.0/24'
                         ELSE (SELECT ip FROM pool WHERE idx = (hash(i) % ${addresses}) AND ip NOT LIKE '%:%') END AS cidr
          FROM range(10000) t(i)) WHERE cidr IS NOT NULL`);
  await session.run(`CREATE TABLE ref_rules (rule_id VARCHAR, kind VARCHAR, severity VARCHAR, description VARCHAR, owner VARCHAR)`);
  const setupMs = performance.now() - started;
  log(`generated in ${(setupMs / 1000).toFixed(1)} s`);

  const models = (await loadModelFiles(SQL_DIR)).filter((model) => model.stage === 'enrich' && model.name !== 'flows_in_hour');
  const runner = new ModelRunner(session, createLogger({ level: 'error', write: (line) => process.stderr.write(line) }));
  const external = new Set<string>(['flows_in_hour', ...REFERENCE_RELATIONS]);

  const installRanges = async (count: number) => {
    // IPv4: prefix lengths /8–/32 weighted towards /24–/32; half inside 10/8. IPv6: /32–/64 under 2600:1f18::/32.
    await session.run(`CREATE OR REPLACE TABLE ref_ip_ranges AS
      WITH gen AS (
        SELECT i,
          CASE WHEN i % 20 = 0 THEN 6 ELSE 4 END AS family,
          CASE WHEN i % 20 = 0 THEN 32 + (hash(i * 3) % 33)::INTEGER
               ELSE [8, 12, 14, 16, 16, 18, 20, 20, 22, 22, 23, 24, 24, 24, 24, 25, 26, 27, 28, 28, 29, 30, 31, 32, 32][(hash(i * 5) % 25)::INTEGER + 1] END AS prefix_len,
          CASE WHEN i % 2 = 0 THEN (167772160 + hash(i * 7) % 16777216) ELSE (hash(i * 7) % 4294967296) END AS v4,
          hash(i * 11) % 4294967296 AS v6_low
        FROM range(${count}) t(i)
      ),
      valued AS (
        SELECT *, CASE WHEN family = 4 THEN v4::UHUGEINT ELSE ((637541144::UHUGEINT << 96) | (v6_low::UHUGEINT << 64)) END AS ip_value FROM gen
      )
      SELECT
        CASE WHEN family = 4 THEN ((v4 >> 24) % 256) || '.' || ((v4 >> 16) % 256) || '.' || ((v4 >> 8) % 256) || '.' || (v4 % 256)
             ELSE '2600:1f18:' || printf('%x', v6_low >> 16) || ':' || printf('%x', v6_low % 65536) || '::' END || '/' || prefix_len AS cidr,
        'range-' || i AS range_name, ['r' || (i % 100)] AS tags, CASE WHEN i % 3 = 0 THEN 'seg-' || (i % 50) END AS segment,
        family, prefix_len, network_key(ip_value, family, prefix_len) AS network
      FROM valued`);
    await session.run(`CREATE OR REPLACE TABLE ref_ip_networks AS
      SELECT DISTINCT ON (family, prefix_len, network) family, prefix_len, network, cidr, range_name, tags, segment
      FROM ref_ip_ranges ORDER BY family, prefix_len, network, range_name, cidr`);
    const [stats] = await session.all<{ n: bigint; lengths: bigint }>(`SELECT count(*) AS n, count(DISTINCT (family, prefix_len)) AS lengths FROM ref_ip_ranges`);
    return { ranges: Number(stats!.n), prefixLengths: Number(stats!.lengths) };
  };

  const measure = async (count: number) => {
    const shape = await installRanges(count);
    const runs: { totalMs: number; models: Record<string, number>; rows: Record<string, number> }[] = [];
    for (let attempt = 0; attempt < repeat; attempt++) {
      started = performance.now();
      const result = await runner.run(models, external);
      const totalMs = performance.now() - started;
      if (result.error) throw new Error(result.error);
      runs.push({
        totalMs,
        models: Object.fromEntries(result.models.map((m) => [m.name, m.durationMs])),
        rows: Object.fromEntries(result.models.map((m) => [m.name, m.rows ?? -1])),
      });
      log(
        `  ${count} ranges, run ${attempt + 1}: enrich ${(totalMs / 1000).toFixed(2)} s (${Object.entries(runs.at(-1)!.models)
          .map(([n, ms]) => `${n} ${(ms / 1000).toFixed(2)}`)
          .join(', ')}) load ${loadavg()[0]!.toFixed(1)}`,
      );
    }
    const plan = (await session.all<{ explain_value: string }>(`EXPLAIN ${models.find((m) => m.name === 'endpoint_ranges')!.body.sql}`)).map((row) => row.explain_value).join('\n');
    const nestedLoop = /NESTED_LOOP_JOIN|BLOCKWISE_NL_JOIN|PIECEWISE_MERGE_JOIN|IE_JOIN|CROSS_PRODUCT/.test(plan);
    const best = runs.reduce((a, b) => (a.totalMs <= b.totalMs ? a : b));
    const [matched] = await session.all<{ n: bigint }>(`SELECT count(*) AS n FROM endpoint_ranges`);
    return { ...shape, nestedLoop, enrichMs: Math.round(best.totalMs), models: best.models, rows: best.rows, addressesInARange: Number(matched!.n), loadAfter: loadavg()[0] };
  };

  const small = await measure(baseline);
  const large = await measure(ranges);
  const summary = {
    flows,
    addresses,
    cores: cpus().length,
    baseline: small,
    large,
    ratio: Number((large.enrichMs / small.enrichMs).toFixed(3)),
    setupMs: Math.round(setupMs),
  };
  log(
    `enrich with ${small.ranges} ranges: ${(small.enrichMs / 1000).toFixed(2)} s; with ${large.ranges} ranges: ${(large.enrichMs / 1000).toFixed(2)} s; ratio ${summary.ratio}; nested loop: ${small.nestedLoop || large.nestedLoop}`,
  );
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} finally {
  session.close();
  await rm(dir, { recursive: true, force: true });
}

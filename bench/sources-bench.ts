/**
 * The sources benchmark: `npm run bench -- --source <name> [--flows N] [--objects K] [--keep]`
 * (or `npm run bench:sources -- --source <name>`), name one of aws-vpc, azure-nsg, azure-vnet,
 * gcp-vpc, oci-vcn, agent, or `all`.
 *
 * Generates N records of the source's raw format in K files (with DuckDB, deterministic), then
 * times, in the same process and the same run:
 *  - normalize: what the hourly job does for these files up to the source's normalize model —
 *    staging (download from a local folder, gunzip verified, line split and limits, or the JSON
 *    document split into records), loading the staged lines, and the normalize model with its
 *    data tests (a model that is a view, read once, every column);
 *  - the floor: DuckDB reading the same raw files with its own reader into one Parquet file, with
 *    no transform (text: read_csv into typed columns; JSON lines: read_json; Azure documents:
 *    read_json and unnest to one row per tuple string).
 * Prints one JSON object per source on stdout, with the load average, since the machine is shared.
 */
import { copyFile, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { DuckDbSession, sqlIdentifier, sqlString } from '../lib/duckdb/duckdb-session.ts';
import { cpuMsSince } from '../lib/log/cpu-time.ts';
import { createLogger } from '../lib/log/logger.ts';
import { loadModelFiles } from '../lib/models/model-definition.ts';
import { ModelRunner } from '../lib/models/model-runner.ts';
import { loadMacroFiles } from '../lib/net/sql-macros.ts';
import { DEFAULT_SQL_DIR } from '../lib/sources/normalize-file.ts';
import { generatedSourceModels } from '../lib/sources/all-sources-model.ts';
import { SOURCES, sourceByCliName } from '../lib/sources/registry.ts';
import type { SourceDefinition } from '../lib/sources/source-definition.ts';
import { installStagedInputs, stagedRelations } from '../lib/staging/install-staged-inputs.ts';
import { DEFAULT_STAGE_LIMITS } from '../lib/staging/stage-lines.ts';
import { stageObjects, type DiscoveredObject } from '../lib/staging/stage-objects.ts';
import { STAGING_SOURCES } from '../lib/sources/staging-sources.ts';

const T = 1714568400; // 2024-05-01T13:00:00Z

/** One generator per source: SQL that writes records [from, to) to `file`, and the file's extension. */
const GENERATORS: Record<string, { ext: string; write: (from: number, to: number, file: string) => string; floor: (files: string[], out: string) => string }> = {
  aws_vpc: {
    ext: '.log.gz',
    write: (from, to, file) => `COPY (
      SELECT 5 AS "version", '123456789012' AS "account-id", 'eni-' || lpad(printf('%x', i % 400), 17, '0') AS "interface-id",
        ${ip('i')} AS srcaddr, '10.0.' || (hash(i * 13) % 6)::VARCHAR || '.' || (hash(i * 17) % 250 + 1)::VARCHAR AS dstaddr,
        (hash(i * 19) % 64000 + 1024)::INTEGER AS srcport, [443, 80, 22, 1433, 6379, 8080, 53, 3389][(i % 8) + 1] AS dstport,
        CASE WHEN i % 8 = 6 THEN 17 ELSE 6 END AS protocol, (hash(i * 23) % 500 + 1)::BIGINT AS packets, (hash(i * 29) % 500000 + 40)::BIGINT AS bytes,
        ${T} + (i % 3540) AS "start", ${T} + (i % 3540) + 59 AS "end", CASE WHEN i % 17 = 0 THEN 'REJECT' ELSE 'ACCEPT' END AS "action", 'OK' AS "log-status",
        'vpc-0a1b2c3d4e5f6a7b8' AS "vpc-id", 'subnet-0a1b2c3d4e5f6a7b' || (i % 6)::VARCHAR AS "subnet-id", (i % 32)::INTEGER AS "tcp-flags",
        CASE WHEN i % 2 = 0 THEN 'ingress' ELSE 'egress' END AS "flow-direction", CASE WHEN i % 2 = 0 THEN '-' ELSE '1' END AS "traffic-path"
      FROM range(${from}, ${to}) AS t(i)
    ) TO ${sqlString(file)} (FORMAT csv, DELIMITER ' ', HEADER true, QUOTE '', COMPRESSION gzip)`,
    floor: (files, out) => `COPY (SELECT * FROM read_csv([${files.map(sqlString).join(', ')}], delim = ' ', header = true)) TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd)`,
  },
  gcp_vpc: {
    ext: '.json',
    write: (from, to, file) => `COPY (
      SELECT 'projects/p/logs/compute.googleapis.com%2Fvpc_flows' AS logName, strftime(to_timestamp(${T} + (i % 3540) + 70), '%Y-%m-%dT%H:%M:%S.%fZ') AS "timestamp",
        {'type': 'gce_subnetwork', 'labels': {'project_id': 'p', 'location': 'us-central1-a', 'subnetwork_name': 'default'}} AS resource,
        {'connection': {'src_ip': ${ip('i')}, 'src_port': (hash(i * 19) % 64000 + 1024)::INTEGER, 'dest_ip': '10.128.0.' || (hash(i * 17) % 250 + 1)::VARCHAR, 'dest_port': [443, 80, 22, 5432][(i % 4) + 1], 'protocol': 6},
         'bytes_sent': (hash(i * 29) % 500000 + 40)::VARCHAR, 'packets_sent': (hash(i * 23) % 500 + 1)::VARCHAR,
         'start_time': strftime(to_timestamp(${T} + (i % 3540)), '%Y-%m-%dT%H:%M:%S.%fZ'), 'end_time': strftime(to_timestamp(${T} + (i % 3540) + 5), '%Y-%m-%dT%H:%M:%S.%fZ'),
         'reporter': CASE WHEN i % 3 = 0 THEN 'DEST' ELSE 'SRC' END,
         'src_instance': {'project_id': 'p', 'region': 'us-central1', 'vm_name': 'vm-' || (i % 50)::VARCHAR, 'zone': 'us-central1-a'},
         'src_vpc': {'project_id': 'p', 'vpc_name': 'default', 'subnetwork_name': 'default'}} AS jsonPayload
      FROM range(${from}, ${to}) AS t(i)
    ) TO ${sqlString(file)} (FORMAT json)`,
    floor: (files, out) => `COPY (SELECT * FROM read_json([${files.map(sqlString).join(', ')}], format = 'newline_delimited')) TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd)`,
  },
  oci_vcn: {
    ext: '.log.gz',
    write: (from, to, file) => `COPY (
      SELECT 'com.oraclecloud.vcn.flowlogs.DataEvent' AS "type", i::VARCHAR AS id, '1.0' AS specversion,
        {'vnicocid': 'ocid1.vnic.oc1.phx.' || (i % 40)::VARCHAR, 'tenantid': 'ocid1.tenancy.oc1..x', 'vnicsubnetocid': 'ocid1.subnet.oc1.phx.x'} AS oracle,
        {'action': CASE WHEN i % 17 = 0 THEN 'REJECT' ELSE 'ACCEPT' END, 'bytesOut': (hash(i * 29) % 500000 + 40)::BIGINT, 'destinationAddress': '10.0.0.' || (hash(i * 17) % 250 + 1)::VARCHAR,
         'destinationPort': [443, 80, 22, 1521][(i % 4) + 1], 'startTime': ${T} + (i % 3540), 'endTime': ${T} + (i % 3540) + 59, 'packets': (hash(i * 23) % 500 + 1)::BIGINT,
         'protocol': 6, 'protocolName': 'TCP', 'sourceAddress': ${ip('i')}, 'sourcePort': (hash(i * 19) % 64000 + 1024)::INTEGER, 'status': 'OK', 'version': '2'} AS data
      FROM range(${from}, ${to}) AS t(i)
    ) TO ${sqlString(file)} (FORMAT json, COMPRESSION gzip)`,
    floor: (files, out) => `COPY (SELECT * FROM read_json([${files.map(sqlString).join(', ')}], format = 'newline_delimited')) TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd)`,
  },
  agent: {
    ext: '.ndjson.gz',
    write: (from, to, file) => `COPY (
      SELECT 1 AS v, 'i-0vm' || (i % 50)::VARCHAR AS vm_id, 'eth0' AS interface_id, strftime(to_timestamp(${T} + (i % 59) * 60), '%Y-%m-%dT%H:%M:%S.000Z') AS interval_start_at, 60 AS interval_s,
        strftime(to_timestamp(${T} + (i % 3540)), '%Y-%m-%dT%H:%M:%S.000Z') AS start_at, strftime(to_timestamp(${T} + (i % 3540) + 1), '%Y-%m-%dT%H:%M:%S.000Z') AS end_at,
        ${ip('i')} AS src_ip, '10.0.3.' || (hash(i * 17) % 250 + 1)::VARCHAR AS dst_ip, (hash(i * 19) % 64000 + 1024)::INTEGER AS src_port, 443 AS dst_port, 6 AS protocol,
        CASE WHEN i % 2 = 0 THEN 'ingress' ELSE 'egress' END AS direction, (hash(i * 23) % 500 + 1)::BIGINT AS packets, (hash(i * 29) % 500000 + 40)::BIGINT AS bytes, 24 AS tcp_flags
      FROM range(${from}, ${to}) AS t(i)
    ) TO ${sqlString(file)} (FORMAT json, COMPRESSION gzip)`,
    floor: (files, out) => `COPY (SELECT * FROM read_json([${files.map(sqlString).join(', ')}], format = 'newline_delimited')) TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd)`,
  },
  azure_nsg: {
    ext: '.json',
    write: (from, to, file) => `COPY (
      SELECT list({'time': '2024-05-01T13:00:00Z', 'systemId': 's', 'category': 'NetworkSecurityGroupFlowEvent', 'operationName': 'NetworkSecurityGroupFlowEvents',
        'resourceId': '/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG',
        'properties': {'Version': 2, 'flows': [{'rule': 'UserRule_allow', 'flows': [{'mac': '000D3AF87856', 'flowTuples': tuples}]}]}} ORDER BY r) AS records
      FROM (
        SELECT i // 500 AS r, list(concat_ws(',', ${T} + (i % 3540), ${ip('i')}, '10.5.16.' || (hash(i * 17) % 250 + 1)::VARCHAR, hash(i * 19) % 64000 + 1024, 443,
          CASE WHEN i % 8 = 6 THEN 'U' ELSE 'T' END, CASE WHEN i % 2 = 0 THEN 'I' ELSE 'O' END, 'A', ['B', 'C', 'E'][(i % 3) + 1],
          hash(i * 23) % 500, hash(i * 29) % 500000, hash(i * 31) % 500, hash(i * 37) % 500000) ORDER BY i) AS tuples
        FROM range(${from}, ${to}) AS t(i) GROUP BY ALL
      )
    ) TO ${sqlString(file)} (FORMAT json)`,
    floor: (files, out) => `COPY (
      SELECT unnest(m.flowTuples) AS tuple FROM (
        SELECT unnest(f.flows) AS m FROM (SELECT unnest(r.properties.flows) AS f FROM (SELECT unnest(records) AS r FROM read_json([${files.map(sqlString).join(', ')}], maximum_object_size = ${maxObject(files)}))))
    ) TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd)`,
  },
  azure_vnet: {
    ext: '.json',
    write: (from, to, file) => `COPY (
      SELECT list({'time': '2024-05-01T13:00:00Z', 'flowLogVersion': 4, 'flowLogGUID': 'g', 'macAddress': '00224871C205', 'category': 'FlowLogFlowEvent', 'operationName': 'FlowLogFlowEvent',
        'flowLogResourceID': '/SUBSCRIPTIONS/S/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_EASTUS/FLOWLOGS/FL',
        'targetResourceID': '/subscriptions/S/resourceGroups/RG/providers/Microsoft.Network/virtualNetworks/vnet',
        'flowRecords': {'flows': [{'aclID': 'acl', 'flowGroups': [{'rule': 'allow', 'flowTuples': tuples}]}]}} ORDER BY r) AS records
      FROM (
        SELECT i // 500 AS r, list(concat_ws(',', (${T} + (i % 3540)) * 1000 + i % 1000, ${ip('i')}, '10.0.0.' || (hash(i * 17) % 250 + 1)::VARCHAR, hash(i * 19) % 64000 + 1024, 443,
          CASE WHEN i % 8 = 6 THEN 17 ELSE 6 END, CASE WHEN i % 2 = 0 THEN 'I' ELSE 'O' END, ['B', 'C', 'E', 'D'][(i % 4) + 1], 'NX',
          hash(i * 23) % 500, hash(i * 29) % 500000, hash(i * 31) % 500, hash(i * 37) % 500000) ORDER BY i) AS tuples
        FROM range(${from}, ${to}) AS t(i) GROUP BY ALL
      )
    ) TO ${sqlString(file)} (FORMAT json)`,
    floor: (files, out) => `COPY (
      SELECT unnest(g.flowTuples) AS tuple FROM (
        SELECT unnest(f.flowGroups) AS g FROM (SELECT unnest(r.flowRecords.flows) AS f FROM (SELECT unnest(records) AS r FROM read_json([${files.map(sqlString).join(', ')}], maximum_object_size = ${maxObject(files)}))))
    ) TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd)`,
  },
};

/** DuckDB's JSON reader buffers a whole document: size the buffer to the largest file. */
const fileSizes = new Map<string, number>();
function maxObject(files: string[]): number {
  return Math.max(...files.map((file) => fileSizes.get(file) ?? 16 << 20)) + (1 << 20);
}

/** 60% public sources, the rest private, as in the pipeline benchmark. */
function ip(i: string): string {
  return `CASE WHEN ${i} % 10 < 6 THEN (((hash(${i}) % 200) + 20)::VARCHAR || '.' || (hash(${i} * 3) % 256)::VARCHAR || '.' || (hash(${i} * 5) % 256)::VARCHAR || '.' || (hash(${i} * 7) % 254 + 1)::VARCHAR)
    ELSE '10.0.' || (${i} % 6)::VARCHAR || '.' || (hash(${i} * 11) % 250 + 1)::VARCHAR END`;
}

export async function runSourcesBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      source: { type: 'string' },
      flows: { type: 'string', default: '1000000' },
      objects: { type: 'string' },
      'memory-limit': { type: 'string', default: '1GB' },
      threads: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  const names = values.source === 'all' ? SOURCES.map((s) => s.cliName) : [values.source ?? ''];
  const sources = names.map((name) => {
    const source = sourceByCliName(name);
    if (!source) throw new Error(`--source must be all or one of ${SOURCES.map((s) => s.cliName).join(', ')}, got "${name}"`);
    return source;
  });
  const records = Number(values.flows);
  if (!Number.isInteger(records) || records <= 0) throw new Error(`--flows must be a positive integer, got ${values.flows}`);
  const objects = Number(values.objects ?? Math.max(1, Math.ceil(records / 50_000)));
  for (const source of sources) console.log(JSON.stringify(await benchSource(source, records, objects, values)));
}

async function benchSource(
  source: SourceDefinition,
  records: number,
  objects: number,
  values: { 'memory-limit': string; threads?: string | undefined; keep: boolean },
): Promise<Record<string, unknown>> {
  const log = (message: string) => process.stderr.write(`[${source.cliName}] ${message}\n`);
  const generator = GENERATORS[source.sourceType]!;
  const dir = await mkdtemp(path.join(tmpdir(), `netflow-bench-${source.cliName}-`));
  const threads = values.threads ? Number(values.threads) : undefined;
  const sessionOptions = (workDir: string) => ({ workDir, memoryLimit: values['memory-limit'], maxTempDirectorySize: '20GB', ...(threads ? { threads } : {}) });
  try {
    log(`generating ${records} records in ${objects} files under ${dir}`);
    const rawDir = path.join(dir, 'raw');
    await mkdir(rawDir, { recursive: true });
    const files: string[] = [];
    const generating = await DuckDbSession.open(sessionOptions(dir));
    const perObject = Math.ceil(records / objects);
    for (let index = 0; index < objects; index++) {
      const file = path.join(rawDir, `${String(index).padStart(5, '0')}${generator.ext}`);
      await generating.run(generator.write(index * perObject, Math.min(records, (index + 1) * perObject), file));
      files.push(file);
    }
    generating.close();
    let rawBytes = 0;
    for (const file of files) {
      const { size } = await stat(file);
      fileSizes.set(file, size);
      rawBytes += size;
    }

    log('timing normalize: staging, loading and the normalize model with its data tests');
    const workDir = path.join(dir, 'work');
    await mkdir(workDir, { recursive: true });
    const discovered: DiscoveredObject[] = files.map((file) => ({
      key: path.basename(file),
      etag: '',
      size: fileSizes.get(file)!,
      lastModified: new Date(0),
      sourceType: source.sourceType,
      regionHint: null,
    }));
    const started = performance.now();
    const stageCpuStarted = process.cpuUsage();
    const staging = await stageObjects({
      sources: STAGING_SOURCES,
      store: {
        getToFile: async (key, localPath) => {
          await mkdir(path.dirname(localPath), { recursive: true });
          await copyFile(path.join(rawDir, key), localPath);
          return discovered[0]!;
        },
      },
      objects: discovered,
      workDir,
      limits: DEFAULT_STAGE_LIMITS,
    });
    const stageMs = performance.now() - started;
    const stageCpu = cpuMsSince(stageCpuStarted) / 1000;
    // Opening the session and loading the macros is a fixed cost of every run, not timed (the floor's session is not either).
    const session = await DuckDbSession.open(sessionOptions(workDir));
    let flows = 0;
    let modelsMs = 0;
    let loadMs = 0;
    let breakdown: Record<string, unknown> = {};
    let duckCpu = 0;
    try {
      for (const macro of await loadMacroFiles(path.join(DEFAULT_SQL_DIR, 'macros'))) await session.runScript(macro.sql);
      const loading = performance.now();
      const duckCpuStarted = process.cpuUsage();
      await installStagedInputs(session, workDir, staging.objects, staging.rejects, { sources: STAGING_SOURCES.all });
      const loaded = performance.now();
      loadMs = loaded - loading;
      const normalize = [...(await loadModelFiles(DEFAULT_SQL_DIR)).filter((model) => model.stage === 'normalize'), ...generatedSourceModels(SOURCES)];
      const needed = new Set([`${source.sourceType}__records`]);
      for (const model of normalize) if (needed.has(model.name)) for (const upstream of model.upstream) needed.add(upstream);
      const run = await new ModelRunner(session, createLogger({ level: 'error', write: () => {} })).run(
        normalize.filter((model) => needed.has(model.name)),
        new Set(stagedRelations(STAGING_SOURCES.all)),
      );
      if (run.error) throw new Error(run.error);
      // A model that is a view (AWS: the typed files and the parsed records) is read by the
      // models after it; read every column of it once here, as the flows mart does, so that the
      // figure holds the whole of normalizing.
      const target = `${source.sourceType}__records`;
      if (normalize.find((model) => model.name === target)?.materialized === 'view') {
        const columns = await session.all<{ column_name: string }>(`SELECT column_name FROM (DESCRIBE ${target})`);
        await session.all(`SELECT ${columns.map((c) => `count(${sqlIdentifier(c.column_name)})`).join(', ')} FROM ${target}`);
      }
      modelsMs = performance.now() - loaded;
      duckCpu = cpuMsSince(duckCpuStarted) / 1000;
      breakdown = Object.fromEntries(run.models.map((model) => [model.name, { build_ms: model.durationMs, tests_ms: model.testsMs ?? 0 }]));
      flows = Number((await session.all<{ n: bigint }>(`SELECT count(*) AS n FROM ${source.sourceType}__records WHERE record_status = 'flow'`))[0]!.n);
    } finally {
      session.close();
    }
    const seconds = (stageMs + loadMs + modelsMs) / 1000;
    if (flows !== records) throw new Error(`normalized ${flows} flows, expected ${records}`);

    log('timing the floor: DuckDB reads the same raw files into one Parquet file');
    const floorDir = path.join(dir, 'floor');
    const floor = await DuckDbSession.open({ ...sessionOptions(floorDir), readableDirs: [rawDir] });
    const floorStarted = performance.now();
    const floorCpuStarted = process.cpuUsage();
    try {
      await floor.run(generator.floor(files, path.join(floorDir, 'floor.parquet')));
    } finally {
      floor.close();
    }
    const floorSeconds = (performance.now() - floorStarted) / 1000;
    const floorCpu = cpuMsSince(floorCpuStarted) / 1000;
    return {
      source: source.cliName,
      records,
      objects,
      raw_mb: round(rawBytes / 1048576),
      seconds: round(seconds),
      stage_seconds: round(stageMs / 1000),
      load_seconds: round(loadMs / 1000),
      models_seconds: round(modelsMs / 1000),
      records_per_s: Math.round(records / seconds),
      floor_seconds: round(floorSeconds),
      ratio: round(seconds / floorSeconds),
      // CPU seconds of every thread of the process (staging threads, DuckDB's): less moved by
      // the other work on a shared machine than elapsed time is.
      stage_cpu_seconds: round(stageCpu),
      load_models_cpu_seconds: round(duckCpu),
      floor_cpu_seconds: round(floorCpu),
      cpu_ratio: round((stageCpu + duckCpu) / floorCpu),
      models: breakdown,
      load_avg_1m: round(loadavg()[0]!),
      threads: threads ?? 'default',
    };
  } finally {
    if (!values.keep) await rm(dir, { recursive: true, force: true });
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

if (import.meta.url === `file://${process.argv[1]}`) await runSourcesBench(process.argv.slice(2));

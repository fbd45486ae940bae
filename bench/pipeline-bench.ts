/**
 * The pipeline benchmark: `npm run bench -- --flows N [--objects K] [--shape-floor] [--keep]`
 * (`npm run bench -- --source <name>`: the per-source normalize benchmark, bench/sources-bench.ts;
 * `npm run bench -- --flows N --shards S`: the scale-out benchmark, bench/scale-out-bench.ts).
 *
 * Generates N synthetic AWS VPC Flow Logs (version 2, gzip, with header) for one event hour,
 * spread over K objects in AWS's key layout, runs that hour through the whole hourly job
 * (discover, stage, normalize, enrich, conformance, marts, export, publish) on a local-folder
 * store, and, in the same process, times DuckDB's floor for the same raw files: reading them
 * all into one Parquet file with no transform. With `--shape-floor`, also DuckDB reading the
 * same files into one file of the published flows table's shape (bench/shape-floor.ts), the
 * least the job must do with DuckDB alone. The last line of output is one JSON object.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { configSchema } from '../schemas/config.ts';
import { runHourlyEtl } from '../jobs/hourly-etl.ts';
import { DuckDbSession, sqlString } from '../lib/duckdb/duckdb-session.ts';
import { cpuMsSince } from '../lib/log/cpu-time.ts';
import { createLogger } from '../lib/log/logger.ts';
import { LocalFolderStore } from '../lib/storage/local-folder-store.ts';
import { flowsTable } from '../schemas/tables/index.ts';
import { shapeFloorSql } from './shape-floor.ts';

// `--shards S`: the scale-out benchmark (bench/scale-out-bench.ts) instead.
if (process.argv.includes('--shards')) {
  const { values: scaleOut } = parseArgs({
    options: {
      flows: { type: 'string', default: '1000000' },
      shards: { type: 'string' },
      parts: { type: 'string', default: '1' },
      parallel: { type: 'string', default: '2' },
      'memory-limit': { type: 'string', default: '1GB' },
      keep: { type: 'boolean', default: false },
    },
  });
  const { runScaleOutBench } = await import('./scale-out-bench.ts');
  await runScaleOutBench({
    flows: Number(scaleOut.flows),
    shards: Number(scaleOut.shards),
    parts: Number(scaleOut.parts),
    parallel: Number(scaleOut.parallel),
    memoryLimit: scaleOut['memory-limit'],
    keep: scaleOut.keep,
  });
  process.exit(0);
}

// `--source <name>`: the per-source normalize benchmark (bench/sources-bench.ts) instead.
if (process.argv.includes('--source')) {
  const { runSourcesBench } = await import('./sources-bench.ts');
  await runSourcesBench(process.argv.slice(2));
  process.exit(0);
}

const { values } = parseArgs({
  options: {
    flows: { type: 'string', default: '1000000' },
    objects: { type: 'string' },
    'memory-limit': { type: 'string', default: '1GB' },
    keep: { type: 'boolean', default: false },
    'shape-floor': { type: 'boolean', default: false },
  },
});
const flows = Number(values.flows);
const objects = Number(values.objects ?? Math.max(1, Math.ceil(flows / 50_000)));
if (!Number.isInteger(flows) || flows <= 0) throw new Error(`--flows must be a positive integer, got ${values.flows}`);

const HOUR = new Date('2024-05-01T13:00:00Z');
const HOUR_S = HOUR.getTime() / 1000;
const dir = await mkdtemp(path.join(tmpdir(), 'netflow-bench-'));
const lakeDir = path.join(dir, 'lake');
const rawDir = path.join(lakeDir, 'raw', 'aws_vpc', 'AWSLogs', '123456789012', 'vpcflowlogs', 'us-east-1', '2024', '05', '01');
const log = (message: string) => process.stderr.write(`${message}\n`);

try {
  log(`generating ${flows} flows in ${objects} objects under ${dir}`);
  await mkdir(rawDir, { recursive: true });
  const generator = await DuckDbSession.open({ workDir: dir, memoryLimit: '2GB', maxTempDirectorySize: '10GB' });
  const files: string[] = [];
  const perObject = Math.ceil(flows / objects);
  for (let index = 0; index < objects; index++) {
    const from = index * perObject;
    const to = Math.min(flows, from + perObject);
    // Delivery every minute from 13:01, so every object falls in the hour's window.
    const stamp = `20240501T13${String(1 + (index % 59)).padStart(2, '0')}Z`;
    const file = path.join(rawDir, `123456789012_vpcflowlogs_us-east-1_fl-0bench${String(index).padStart(6, '0')}_${stamp}_${index.toString(16).padStart(8, '0')}.log.gz`);
    files.push(file);
    await generator.run(`COPY (
      SELECT 2 AS "version", '123456789012' AS "account-id",
        'eni-' || lpad(printf('%x', i % 400), 17, '0') AS "interface-id",
        CASE WHEN i % 10 < 6 THEN (((hash(i) % 200) + 20)::VARCHAR || '.' || (hash(i * 3) % 256)::VARCHAR || '.' || (hash(i * 5) % 256)::VARCHAR || '.' || (hash(i * 7) % 254 + 1)::VARCHAR)
             ELSE '10.0.' || (i % 6)::VARCHAR || '.' || (hash(i * 11) % 250 + 1)::VARCHAR END AS srcaddr,
        -- The datastore subnet (10.0.4.0/24, where only VMs tagged vm may connect) gets 1 % of flows.
        '10.0.' || (CASE WHEN hash(i * 13) % 100 = 0 THEN 4 ELSE [0, 1, 2, 3, 5][(hash(i * 13) % 5 + 1)::BIGINT] END)::VARCHAR || '.' || (hash(i * 17) % 250 + 1)::VARCHAR AS dstaddr,
        (hash(i * 19) % 64000 + 1024)::INTEGER AS srcport,
        -- A realistic port mix: mostly web and DNS, a little database traffic, admin ports rare
        -- (about 2 % of flows violate a sample rule, rather than a quarter).
        CASE WHEN i % 100 < 50 THEN 443 WHEN i % 100 < 65 THEN 80 WHEN i % 100 < 80 THEN 53 WHEN i % 100 < 90 THEN 8080
             WHEN i % 100 < 95 THEN 6379 WHEN i % 100 < 98 THEN 1433 WHEN i % 100 < 99 THEN 22 ELSE 3389 END AS dstport,
        CASE WHEN i % 100 BETWEEN 65 AND 79 THEN 17 ELSE 6 END AS protocol,
        (hash(i * 23) % 500 + 1)::BIGINT AS packets,
        (hash(i * 29) % 500000 + 40)::BIGINT AS bytes,
        ${HOUR_S} + (i % 3540) AS "start",
        ${HOUR_S} + (i % 3540) + 59 AS "end",
        CASE WHEN i % 17 = 0 THEN 'REJECT' ELSE 'ACCEPT' END AS "action",
        'OK' AS "log-status"
      FROM range(${from}, ${to}) AS t(i)
    ) TO ${sqlString(file)} (FORMAT csv, DELIMITER ' ', HEADER true, QUOTE '', COMPRESSION gzip)`);
  }
  generator.close();

  const config = configSchema.parse({
    store: { type: 'local', path: lakeDir },
    ledger: { path: path.join(dir, 'ledger.ndjson') },
    work_dir: path.join(dir, 'work'),
    duckdb: { memory_limit: values['memory-limit'], max_temp_directory_size: '20GB' },
  });
  log('running the hourly job');
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const result = await runHourlyEtl({
    config,
    baseDir: dir,
    store: new LocalFolderStore(lakeDir),
    logger: createLogger({ level: 'warn' }),
    hour: HOUR,
  });
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = cpuMsSince(cpuStarted) / 1000;
  if (result.status !== 'published') throw new Error(`the run failed after phases ${JSON.stringify(result.durationsMs)}: ${result.error}`);
  if (result.counts.flows_published !== flows) throw new Error(`published ${result.counts.flows_published} flows, expected ${flows}`);
  log(`job: ${seconds.toFixed(2)} s; phases ${JSON.stringify(result.durationsMs)}`);
  log(`cpu ms per phase (all threads): ${JSON.stringify(result.cpuMs)}`);
  // Publishing as a Delta commit: the stats (computed at export), the uploads, the commits and the checkpoint/housekeeping.
  const publishing = ['publish:stats', 'publish:files', 'publish:commits', 'publish:housekeeping'].map((name) => [name, result.durationsMs[name] ?? 0] as const);
  const publishMs = publishing.reduce((sum, [, ms]) => sum + ms, 0);
  log(`publishing: ${publishMs} ms = ${((100 * publishMs) / result.durationsMs.total!).toFixed(1)} % of the job (${publishing.map(([name, ms]) => `${name.slice(8)} ${ms} ms`).join(', ')})`);
  log(`models: ${result.models.map((m) => `${m.name} ${m.durationMs}ms (tests ${m.testsMs ?? 0}ms, cpu ${m.cpuMs ?? 0}ms)`).join(', ')}`);

  log('timing the floor: DuckDB reads the same raw files into one Parquet file');
  const floorFigures = await timeDuckDb(
    path.join(dir, 'floor'),
    (floorDir) =>
      `COPY (SELECT * FROM read_csv([${files.map(sqlString).join(', ')}], delim = ' ', header = true)) TO ${sqlString(path.join(floorDir, 'floor.parquet'))} (FORMAT parquet, COMPRESSION zstd)`,
  );
  const floorSeconds = floorFigures.seconds;
  const floorCpuSeconds = floorFigures.cpuSeconds;
  let shapeFloor: { seconds: number; cpuSeconds: number } | undefined;
  if (values['shape-floor']) {
    log("timing the shape floor: DuckDB reads the same raw files into one file of the flows table's shape");
    shapeFloor = await timeDuckDb(path.join(dir, 'shape-floor'), (shapeDir) => shapeFloorSql(files, flowsTable, path.join(shapeDir, 'flows.parquet')));
  }

  const summary = {
    flows,
    objects,
    seconds: round(seconds),
    flows_per_s: Math.round(flows / seconds),
    floor_seconds: round(floorSeconds),
    ratio: round(seconds / floorSeconds),
    // CPU seconds of every thread: on a machine shared with other work, where wall time is not
    // the job's own, the ratio of the work done.
    cpu_seconds: round(cpuSeconds),
    floor_cpu_seconds: round(floorCpuSeconds),
    cpu_ratio: round(cpuSeconds / floorCpuSeconds),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    ...(shapeFloor
      ? {
          shape_floor_seconds: round(shapeFloor.seconds),
          shape_floor_cpu_seconds: round(shapeFloor.cpuSeconds),
          shape_floor_ratio: round(shapeFloor.seconds / floorSeconds),
          ratio_to_shape_floor: round(seconds / shapeFloor.seconds),
        }
      : {}),
  };
  console.log(JSON.stringify(summary));
} finally {
  if (!values.keep) await rm(dir, { recursive: true, force: true });
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Wall and CPU seconds of one statement in a fresh session of the bench's memory limit. */
async function timeDuckDb(workDir: string, statement: (workDir: string) => string): Promise<{ seconds: number; cpuSeconds: number }> {
  const session = await DuckDbSession.open({ workDir, readableDirs: [lakeDir], memoryLimit: values['memory-limit'], maxTempDirectorySize: '20GB' });
  try {
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    await session.run(statement(workDir));
    return { seconds: (performance.now() - started) / 1000, cpuSeconds: cpuMsSince(cpuStarted) / 1000 };
  } finally {
    session.close();
  }
}

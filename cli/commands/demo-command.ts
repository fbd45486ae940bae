import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { RunHourResult } from '../../orchestration/run-hour.ts';
import { openLakeSession } from '../../lib/query/lake-session.ts';
import type { CliContext } from '../cli-context.ts';
import { booleanOption, type CommandDefinition } from '../command-definition.ts';
import { exitCodeOfRuns } from '../exit-codes.ts';
import { formatRunSummary } from '../run-summary.ts';
import { formatSourceFindings, sourceFindingsOf } from '../source-findings.ts';
import { runHourWithProgress } from './run-command.ts';
import { packagePath } from '../../lib/process/package-root.ts';

export const SAMPLES_DIR = packagePath('data', 'samples');
export const SAMPLE_HOURS = ['2024-05-01T13', '2024-05-01T14', '2024-05-02T13'];

const DEMO_HELP = `netflow demo [--json] [--config FILE]

Delivers the bundled sample raw files (data/samples/raw) into the object store, as the clouds and
agents would: AWS VPC Flow Logs and agent segments for 2024-05-01T13 and T14; Azure NSG and VNet,
GCP VPC and OCI VCN flow logs for 2024-05-02T13. Then runs the hourly job for each of those hours,
prints what each found, and ends with one row per source: objects and records read, flows
published, records of other hours, NODATA/SKIPDATA, quarantined, violations and alerts
(data/samples/README.md lists the expected figures). With --json, one JSON document of the hours
and the sources instead. With no configuration file the store is ./lake and the ledger
.netflow/ledger.ndjson. Then try: netflow query "SELECT * FROM alerts"`;

/** Copies the sample raw objects into the store under their native keys; returns how many were new. */
export async function deliverSamples(context: Pick<CliContext, 'store'>): Promise<number> {
  let delivered = 0;
  for (const file of await listFiles(path.join(SAMPLES_DIR, 'raw'))) {
    const key = path.relative(SAMPLES_DIR, file).split(path.sep).join('/');
    const existing = await context.store.head(key);
    if (existing && existing.size === (await stat(file)).size) continue;
    await context.store.putFile(key, file);
    delivered++;
  }
  return delivered;
}

export async function demoCommand(context: CliContext, options: { json?: boolean } = {}): Promise<number> {
  const delivered = await deliverSamples(context);
  if (!options.json) context.stdout(`delivered ${delivered} sample object(s) to ${context.store.description}\n\n`);
  const results: RunHourResult[] = [];
  for (const hour of SAMPLE_HOURS) {
    const result = await runHourWithProgress(context, new Date(`${hour}:00:00Z`));
    if (!options.json) context.stdout(`${formatRunSummary(result)}\n`);
    results.push(result);
  }
  const findings = sourceFindingsOf(results, await violationsBySource(context, results));
  if (options.json) {
    const hours = results.map((r) => ({
      hour: r.hour,
      status: r.status,
      run_id: r.runId,
      counts: r.counts,
      tables: r.tables.map((t) => ({ table: t.table, rows: t.rows })),
      alerts: r.alerts.length,
      error: r.error,
    }));
    context.stdout(`${JSON.stringify({ delivered, hours, sources: findings }, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v), 2)}\n`);
    return exitCodeOfRuns(results);
  }
  context.stdout(`read and found, per source (${SAMPLE_HOURS.join(', ')}):\n${formatSourceFindings(findings)}\n`);
  context.stdout(
    [
      'next:',
      '  npx netflow query "SELECT rule_id, src_ip, dst_ip, dst_port, flow_count, observed_by FROM alerts ORDER BY hour_at, rule_id"',
      '  npx netflow query "SELECT source_type, src_vm_name, dst_vm_name, dst_port, count(*) AS flows FROM flows WHERE verdict = \'non_conformant\' GROUP BY ALL ORDER BY ALL"',
      '  npx netflow query "SELECT dimension, src_group, dst_group, flows, bytes FROM traffic_matrix WHERE dimension = \'segment\'"',
      '  npx netflow runs',
      '  npx netflow analytics --from 2024-05-01T13 --to 2024-05-01T14',
      '  npx netflow report compliance --from 2024-05-01 --to 2024-05-02 --out ./reports',
      '',
    ].join('\n'),
  );
  return exitCodeOfRuns(results);
}

/** Violations per source in the published partitions of the runs (the violations table's rows). */
async function violationsBySource(context: CliContext, results: readonly RunHourResult[]): Promise<Record<string, number>> {
  const published = new Set(results.filter((r) => r.status !== 'failed').map((r) => r.hour));
  if (published.size === 0) return {};
  const lake = await openLakeSession({
    store: context.store,
    workDir: path.resolve(context.baseDir, context.config.work_dir),
    memoryLimit: context.config.duckdb.memory_limit,
    maxTempDirectorySize: context.config.duckdb.max_temp_directory_size,
    dates: [...new Set([...published].map((hour) => hour.slice(0, 10)))],
    includePartition: (table, partition) => table === 'violations' && published.has(`${partition.dt}T${partition.hour}`),
  });
  try {
    const { rows } = await lake.session.queryReadOnly('SELECT source_type, count(*) AS violations FROM violations GROUP BY source_type');
    return Object.fromEntries(rows.map((row) => [String(row.source_type), Number(row.violations)]));
  } finally {
    await lake.close();
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(full)));
    else if (entry.isFile()) files.push(full);
  }
  return files.sort();
}

export const demoCommandDefinition: CommandDefinition = {
  name: 'demo',
  help: DEMO_HELP,
  maxPositionals: 0,
  options: { json: { type: 'boolean' } },
  run: (context, args) => demoCommand(context, { json: booleanOption(args, 'json') }),
};

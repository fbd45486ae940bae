/**
 * The cost the orchestration adds to every run, printed as JSON lines: taking and releasing a
 * partition lock (and the commit check made before each of a run's five manifest commits) on a
 * local folder and on the test S3 server, and appending one ledger entry of a typical size
 * (48 inputs, fsync'ed) / reading back a ledger of 2,000 entries.
 *
 *   npx tsx test/orchestration/measure-orchestration-overhead.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PartitionLock } from '../../lib/publish/partition-lock.ts';
import { LocalFolderStore } from '../../lib/storage/local-folder-store.ts';
import type { ObjectStore } from '../../lib/storage/object-store.ts';
import { S3ObjectStore } from '../../lib/storage/s3-object-store.ts';
import { RunLedger } from '../../orchestration/run-ledger.ts';
import { s3StoreSchema } from '../../schemas/config.ts';
import type { LedgerEntry } from '../../schemas/ledger.ts';
import { startS3Server } from '../support/s3-server.ts';

const ROUNDS = 40;
const scratch = await mkdtemp(path.join(tmpdir(), 'netflow-overhead-'));
const server = await startS3Server();
const s3 = new S3ObjectStore(s3StoreSchema.parse({ type: 's3', bucket: server.bucket, prefix: 'overhead/', region: server.region, endpoint: server.endpoint, force_path_style: true }));

async function lockCost(name: string, store: ObjectStore): Promise<void> {
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    const lock = new PartitionLock({ store, partition: { dt: '2024-05-01', hour: String(round % 24).padStart(2, '0') }, leaseMs: 120_000, waitMs: 0 });
    const result = await lock.acquire();
    if (!result.acquired) throw new Error('lock not acquired');
    for (let commit = 0; commit < 5; commit++) await lock.assertHeld();
    await lock.release();
    times.push(performance.now() - started);
  }
  report(`lock per run (acquire + 5 commit checks + release), ${name}`, median(times), 'ms');
}

try {
  await lockCost('local folder', new LocalFolderStore(path.join(scratch, 'lake')));
  await lockCost('s3rver', s3);

  const ledger = new RunLedger(path.join(scratch, 'ledger.ndjson'));
  const entry: LedgerEntry = {
    ledger_version: 1,
    run_id: '20240501T13-0123456789abcdef',
    attempt_id: '20261128T043000Z-01234567',
    hour: '2024-05-01T13',
    status: 'published',
    started_at: new Date().toISOString(),
    finished_at: new Date().toISOString(),
    duration_ms: 2500,
    inputs: Array.from({ length: 48 }, (_, i) => ({
      source_type: 'agent',
      key: `raw/agent/dt=2024-05-01/hour=13/vm=i-0app0000000000${i % 3}/segment-${String(i).padStart(12, '0')}.ndjson.gz`,
      etag: '"0123456789abcdef0123456789abcdef"',
      size: 4096 + i,
    })),
    reference_hash: 'a'.repeat(64),
    rules_hash: 'b'.repeat(64),
    outputs: ['flows', 'violations', 'traffic_matrix', 'alerts', 'quarantine'].map((table) => ({
      table,
      manifest_key: `curated/${table}/dt=2024-05-01/hour=13/_manifest.json`,
      rows: 436,
      files: [`curated/${table}/dt=2024-05-01/hour=13/version=x/part-00000.parquet`],
    })),
    counts: { objects: 48, objects_quarantined: 0, records_read: 708, flows_published: 436, other_hour: 270, nodata: 1, skipdata: 1, quarantined: 0 },
    counts_by_source: {},
    models: Array.from({ length: 20 }, (_, i) => ({ name: `model_${i}`, status: 'ok', rows: 100, duration_ms: 12 })),
    durations_ms: { reference: 20, discover: 5, stage: 300, transform: 1500, export: 300, publish: 200, total: 2500 },
    error: null,
  };
  const appends: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const started = performance.now();
    await ledger.append(entry);
    appends.push(performance.now() - started);
  }
  report('ledger append (one entry, fsync)', median(appends), 'ms', { entry_bytes: JSON.stringify(entry).length });
  const started = performance.now();
  const entries = await ledger.entries();
  report(`ledger read of ${entries.length} entries`, performance.now() - started, 'ms');
} finally {
  s3.destroy();
  await server.stop();
  await rm(scratch, { recursive: true, force: true });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function report(figure: string, value: number, unit: string, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ figure, value: Math.round(value * 100) / 100, unit, ...extra })}\n`);
}

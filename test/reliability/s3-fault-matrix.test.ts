import { createHash } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverSamples } from '../../cli/commands/demo-command.ts';
import { DuckDbSession, sqlString } from '../../lib/duckdb/duckdb-session.ts';
import { readPublishedPartition } from '../../lib/delta/published-partitions.ts';
import { S3ObjectStore } from '../../lib/storage/s3-object-store.ts';
import { runHourAndRecord } from '../../orchestration/run-hour.ts';
import { s3StoreSchema } from '../../schemas/config.ts';
import { PUBLISHED_TABLES } from '../../schemas/tables/index.ts';
import { startFaultProxy, type Fault, type FaultProxy } from '../support/fault-proxy.ts';
import { createLakeFixture, type LakeFixture } from '../support/lake-fixture.ts';
import { startS3Server, type S3TestServer } from '../support/s3-server.ts';
import { FULL, reportFigures, seededRandom, suiteSeed } from './support/reliability-run.ts';

/**
 * Suite 4 of issue 8: the hourly job against the real S3-protocol server behind the fault proxy,
 * per cell of a matrix of fault kinds and rates (5 %, 15 %, 30 %): 500 InternalError, 503
 * SlowDown, connection resets before and after the request reached the server, truncated bodies,
 * slow responses. Each run either publishes or fails cleanly; every published manifest names
 * files that exist with exactly the recorded bytes and that DuckDB reads as Parquet with the
 * recorded row count (corrupt Parquet promoted: 0). Retries per request come from the SDK's own
 * `amz-sdk-request: attempt=N` header, grouped by its invocation id.
 */
const seed = suiteSeed();
type Kind = 'errors' | 'resets' | 'truncated' | 'slow' | 'everything';
const KINDS: Record<Kind, readonly Fault[]> = {
  errors: ['internal-error', 'slow-down'],
  resets: ['reset', 'reset-after-forward'],
  truncated: ['truncate-body'],
  slow: [],
  everything: ['internal-error', 'slow-down', 'reset', 'reset-after-forward', 'truncate-body'],
};
const CELLS: { kind: Kind; rate: number }[] = FULL
  ? (['errors', 'resets', 'truncated', 'slow', 'everything'] as const).flatMap((kind) => [0.05, 0.15, 0.3].map((rate) => ({ kind, rate })))
  : [{ kind: 'everything', rate: 0.15 }];

let server: S3TestServer;
let proxy: FaultProxy;
beforeAll(async () => {
  server = await startS3Server();
  proxy = await startFaultProxy(server.endpoint);
});
afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
});

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe('S3 fault matrix at job level', () => {
  it.each(CELLS.map((cell, index) => ({ ...cell, index })))(
    '$kind at $rate: published or failed cleanly, corrupt Parquet promoted 0',
    async ({ kind, rate, index }) => {
      const prefix = `cell-${index}-${kind}-${rate}/`;
      const direct = new S3ObjectStore(s3StoreSchema.parse({ type: 's3', bucket: server.bucket, prefix, region: server.region, endpoint: server.endpoint, force_path_style: true }));
      const faulty = new S3ObjectStore(s3StoreSchema.parse({ type: 's3', bucket: server.bucket, prefix, region: server.region, endpoint: proxy.endpoint, force_path_style: true, max_attempts: 8 }));
      const lake: LakeFixture = await createLakeFixture({ store: faulty, config: { locks: { lease: '10m', wait: '1m' } } });
      try {
        await deliverSamples({ store: direct });
        proxy.reset();
        const random = seededRandom(seed ^ index);
        if (kind === 'slow') proxy.onRequest(async () => (random() < rate * 2 ? new Promise((resolve) => setTimeout(resolve, 100 + random() * 900)) : undefined));
        else proxy.setRate({ rate, faults: KINDS[kind], seed: seed ^ index });
        const started = Date.now();
        const result = await runHourAndRecord({ config: lake.config, baseDir: lake.dir, store: faulty, logger: lake.logger, hour: new Date('2024-05-01T13:00:00Z'), trigger: 'test' });
        const elapsedMs = Date.now() - started;
        proxy.setRate(undefined);
        proxy.onRequest(undefined);
        // Attempts per SDK invocation: retries = highest attempt number - 1.
        const attempts = new Map<string, number>();
        for (const request of proxy.requests) {
          const id = String(request.headers['amz-sdk-invocation-id'] ?? '');
          const attempt = Number(/attempt=(\d+)/.exec(String(request.headers['amz-sdk-request'] ?? ''))?.[1] ?? 1);
          if (id) attempts.set(id, Math.max(attempts.get(id) ?? 0, attempt));
        }
        const retries = [...attempts.values()].map((a) => a - 1);
        // Everything published is whole: checked through the store without faults.
        let promotedCorrupt = 0;
        let manifests = 0;
        const session = await DuckDbSession.open({ workDir: path.join(lake.dir, 'verify'), memoryLimit: '256MB', maxTempDirectorySize: '256MB' });
        try {
          for (const table of PUBLISHED_TABLES) {
            const manifest = await readPublishedPartition(direct, table, { dt: '2024-05-01', hour: '13' });
            if (!manifest) continue;
            manifests++;
            for (const [fileIndex, file] of manifest.files.entries()) {
              const local = path.join(lake.dir, 'verify', `${table.name}-${fileIndex}`);
              const info = await direct.getToFile(file.key, local).catch(() => undefined);
              const bytes = info ? await import('node:fs/promises').then((fs) => fs.readFile(local)) : undefined;
              if (!bytes || bytes.length !== file.bytes || createHash('sha256').update(bytes).digest('hex') !== file.sha256) {
                promotedCorrupt++;
                continue;
              }
              const [row] = await session.all<{ n: bigint }>(`SELECT coalesce(sum(num_rows), 0) AS n FROM parquet_file_metadata(${sqlString(local)})`).catch(() => [{ n: -1n }]);
              if (Number(row!.n) !== file.rows) promotedCorrupt++;
            }
          }
        } finally {
          session.close();
        }
        reportFigures('s3-fault-matrix', {
          seed,
          kind,
          rate,
          status: result.status,
          error: result.error ?? null,
          requests: proxy.counters.requests,
          faults_injected: proxy.counters.injected,
          sdk_invocations: attempts.size,
          retries_total: retries.reduce((a, b) => a + b, 0),
          retries_p50: percentile(retries, 50),
          retries_p99: percentile(retries, 99),
          retries_max: Math.max(0, ...retries),
          manifests,
          corrupt_parquet_promoted: promotedCorrupt,
          flows_published: result.counts.flows_published,
          objects_quarantined: result.counts.objects_quarantined,
          elapsed_ms: elapsedMs,
        });
        expect(['published', 'failed']).toContain(result.status);
        expect(promotedCorrupt).toBe(0);
        if (result.status === 'published') {
          expect(manifests).toBe(PUBLISHED_TABLES.length);
          // A fault in transport never becomes a fault in the data: nothing quarantined, every flow of the samples' hour.
          expect(result.counts.objects_quarantined).toBe(0);
          expect(result.counts.flows_published).toBe(436);
        } else expect(manifests).toBe(0);
        if (rate <= 0.15) expect(result.error ?? result.status).toBe('published');
      } finally {
        direct.destroy();
        faulty.destroy();
        await lake.cleanup();
      }
    },
    1800_000,
  );
});

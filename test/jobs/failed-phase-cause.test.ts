import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverSamples } from '../../cli/commands/demo-command.ts';
import { errorCauses } from '../../lib/log/logger.ts';
import { S3ObjectStore } from '../../lib/storage/s3-object-store.ts';
import { runHourAndRecord } from '../../orchestration/run-hour.ts';
import { ledgerEntryOf, RunLedger } from '../../orchestration/run-ledger.ts';
import { s3StoreSchema } from '../../schemas/config.ts';
import { startFaultProxy, ofKind, type FaultProxy } from '../support/fault-proxy.ts';
import { createLakeFixture, type LakeFixture } from '../support/lake-fixture.ts';
import { startS3Server, type S3TestServer } from '../support/s3-server.ts';

let server: S3TestServer;
let proxy: FaultProxy;
let lake: LakeFixture | undefined;
beforeAll(async () => {
  server = await startS3Server();
  proxy = await startFaultProxy(server.endpoint);
});
afterAll(async () => {
  await lake?.cleanup();
  await proxy?.stop();
  await server?.stop();
});

describe('a failed phase of the hourly job keeps its error cause', () => {
  it('in the log (the phase and the cause chain) and in the ledger entry (error_causes)', async () => {
    const store = (endpoint: string) =>
      new S3ObjectStore(s3StoreSchema.parse({ type: 's3', bucket: server.bucket, prefix: 'cause/', region: server.region, endpoint, force_path_style: true, max_attempts: 1 }));
    await deliverSamples({ store: store(server.endpoint) });
    const faulty = store(proxy.endpoint);
    lake = await createLakeFixture({ store: faulty });
    try {
      // Every download fails once, with no retry left: the stage phase fails on an S3 error whose cause is the SDK's.
      proxy.schedule(
        Array.from({ length: 50 }, () => 'internal-error' as const),
        (request) => ofKind('get')(request) && !decodeURIComponent(request.path).includes('/locks/'),
      );
      const result = await runHourAndRecord({ config: lake.config, baseDir: lake.dir, store: faulty, logger: lake.logger, hour: new Date('2024-05-01T13:00:00Z'), trigger: 'test' });
      expect(result.status).toBe('failed');
      expect(result.error).toMatch(/^s3 get failed for s3:\/\//);

      const entry = (await new RunLedger(path.join(lake.dir, 'ledger.ndjson')).entries()).at(-1)!;
      expect(entry.error).toBe(result.error);
      expect(entry.error_causes).toEqual([expect.stringMatching(/^InternalError: /)]);

      const failed = lake.logs.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.msg === 'run failed');
      expect(failed).toMatchObject({ phase: 'stage', error: { name: 'S3RequestError', message: result.error, cause: { name: 'InternalError' } } });
    } finally {
      faulty.destroy();
    }
  }, 120_000);

  it('a run that fails on its partition lock keeps the cause too', async () => {
    const faulty = new S3ObjectStore(
      s3StoreSchema.parse({ type: 's3', bucket: server.bucket, prefix: 'lock-cause/', region: server.region, endpoint: proxy.endpoint, force_path_style: true, max_attempts: 1 }),
    );
    const lockLake = await createLakeFixture({ store: faulty });
    try {
      proxy.reset();
      proxy.setRate({ rate: 1, faults: ['internal-error'], seed: 1 });
      const result = await runHourAndRecord({ config: lockLake.config, baseDir: lockLake.dir, store: faulty, logger: lockLake.logger, hour: new Date('2024-05-01T13:00:00Z'), trigger: 'test' });
      proxy.setRate(undefined);
      expect(result.error).toMatch(/^partition lock: /);
      const entry = (await new RunLedger(path.join(lockLake.dir, 'ledger.ndjson')).entries()).at(-1)!;
      expect(entry.error_causes).toEqual([expect.stringMatching(/^InternalError: /)]);
    } finally {
      faulty.destroy();
      await lockLake.cleanup();
    }
  }, 60_000);

  it('redacted: a cause quoting a signed URL or a bearer token reaches the ledger without them', () => {
    const error = new Error('publish failed', {
      cause: new Error('PUT https://bucket.example/key?X-Amz-Signature=abcdef0123456789 refused', { cause: new Error('Authorization: Bearer sekrit-token-value') }),
    });
    const result = {
      runId: 'r',
      attemptId: 'a',
      hour: '2024-05-01T13',
      status: 'failed',
      inputs: [],
      referenceHash: null,
      rulesHash: null,
      tables: [],
      counts: {},
      countsBySource: {},
      models: [],
      durationsMs: {},
      alerts: [],
      error: error.message,
      errorCauses: errorCauses(error),
    };
    const entry = ledgerEntryOf(result as unknown as Parameters<typeof ledgerEntryOf>[0], new Date(0), new Date(1));
    expect(entry.error_causes).toHaveLength(2);
    expect(JSON.stringify(entry)).not.toMatch(/abcdef0123456789|sekrit-token-value/);
    expect(entry.error_causes![0]).toContain('https://bucket.example/key');
  });
});

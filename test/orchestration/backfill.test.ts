import { createHash } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverSamples } from '../../cli/commands/demo-command.ts';
import { backfill, type BackfillOptions } from '../../orchestration/backfill.ts';
import { RunLedger } from '../../orchestration/run-ledger.ts';
import { PUBLISHED_TABLES } from '../../schemas/tables/index.ts';
import { createLakeFixture, type LakeFixture } from '../support/lake-fixture.ts';
import { openLakeSession } from '../../lib/query/lake-session.ts';

describe('backfill over the sample hours', () => {
  let lake: LakeFixture;
  let options: BackfillOptions;

  beforeAll(async () => {
    lake = await createLakeFixture();
    await deliverSamples({ store: lake.store });
    options = {
      config: lake.config,
      baseDir: lake.dir,
      store: lake.store,
      logger: lake.logger,
      from: new Date('2024-05-01T13:00:00Z'),
      to: new Date('2024-05-01T14:00:00Z'),
      parallel: 2,
      force: false,
    };
  });
  afterAll(() => lake?.cleanup());

  /** Every published row of every table, in one canonical order, as bytes (one lake session, as `netflow query` opens). */
  async function dump(): Promise<Buffer> {
    const lakeSession = await openLakeSession({ store: lake.store, workDir: path.join(lake.dir, 'work'), memoryLimit: '1GB', maxTempDirectorySize: '1GB' });
    try {
      const parts: string[] = [];
      for (const table of PUBLISHED_TABLES) {
        const rows = await lakeSession.session.all(`SELECT * FROM ${table.name} ORDER BY ALL`);
        parts.push(`${table.name} ${rows.length}\n${rows.map((row) => JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).join('\n')}`);
      }
      return Buffer.from(parts.join('\n'));
    } finally {
      await lakeSession.close();
    }
  }

  it('publishes, skips unchanged hours when resumed, and reruns with --force to byte-for-byte the same rows', { timeout: 240_000 }, async () => {
    const first = await backfill(options);
    expect(first).toMatchObject({ total: 2, published: ['2024-05-01T13', '2024-05-01T14'], skipped: [], failed: [], notStarted: [] });
    const before = await dump();
    expect(before.toString()).toContain('flows 857');

    const resumed = await backfill(options);
    expect(resumed).toMatchObject({ published: [], skipped: ['2024-05-01T13', '2024-05-01T14'], failed: [] });

    const forced = await backfill({ ...options, force: true });
    expect(forced).toMatchObject({ published: ['2024-05-01T13', '2024-05-01T14'], skipped: [], failed: [] });
    const after = await dump();
    expect(createHash('sha256').update(after).digest('hex')).toBe(createHash('sha256').update(before).digest('hex'));
    expect(after.equals(before)).toBe(true);

    const entries = await new RunLedger(lake.config.ledger.path).entries();
    expect(entries.map((entry) => `${entry.hour} ${entry.status} ${entry.trigger}`).sort()).toEqual([
      '2024-05-01T13 published backfill',
      '2024-05-01T13 published backfill',
      '2024-05-01T13 skipped backfill',
      '2024-05-01T14 published backfill',
      '2024-05-01T14 published backfill',
      '2024-05-01T14 skipped backfill',
    ]);
    // Same inputs, same run id: the ledger can tell that the forced rerun reproduced the first.
    const runIds = (hour: string) => new Set(entries.filter((entry) => entry.hour === hour).map((entry) => entry.run_id));
    expect(runIds('2024-05-01T13').size).toBe(1);
  });

  it('lists failures and goes on with the other hours; a stop leaves the rest not started', async () => {
    const failing = await backfill({
      ...options,
      from: new Date('2024-05-01T12:00:00Z'),
      to: new Date('2024-05-01T15:00:00Z'),
      parallel: 1,
      runHour: async (run) => {
        const hour = run.hour.toISOString().slice(0, 13);
        if (hour === '2024-05-01T12') throw new Error('ledger disk full');
        const result = {
          status: 'failed' as const,
          hour,
          runId: '',
          attemptId: '',
          inputs: [],
          referenceHash: null,
          rulesHash: null,
          counts: {} as never,
          countsBySource: {},
          models: [],
          tables: [],
          alerts: [],
          durationsMs: {},
        };
        return hour === '2024-05-01T14' ? { ...result, error: 'model flows_enriched failed' } : { ...result, status: 'skipped' as const };
      },
    });
    expect(failing.failed).toEqual([
      { hour: '2024-05-01T12', error: 'ledger disk full' },
      { hour: '2024-05-01T14', error: 'model flows_enriched failed' },
    ]);
    expect(failing.skipped).toEqual(['2024-05-01T13', '2024-05-01T15']);

    const controller = new AbortController();
    const stopped = await backfill({
      ...options,
      from: new Date('2024-05-01T12:00:00Z'),
      to: new Date('2024-05-01T15:00:00Z'),
      parallel: 1,
      signal: controller.signal,
      runHour: async (run) => {
        controller.abort();
        return {
          status: 'skipped',
          hour: run.hour.toISOString().slice(0, 13),
          runId: '',
          attemptId: '',
          inputs: [],
          referenceHash: null,
          rulesHash: null,
          counts: {} as never,
          countsBySource: {},
          models: [],
          tables: [],
          alerts: [],
          durationsMs: {},
        };
      },
    });
    expect(stopped).toMatchObject({ skipped: ['2024-05-01T12'], notStarted: ['2024-05-01T13', '2024-05-01T14', '2024-05-01T15'] });
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitPartition } from '../../lib/delta/commit-partition.ts';
import { LocalFolderStore } from '../../lib/storage/local-folder-store.ts';
import { diffInputs, partitionStatus } from '../../orchestration/partition-status.ts';
import { configSchema } from '../../schemas/config.ts';
import type { LedgerEntry } from '../../schemas/ledger.ts';
import { PUBLISHED_TABLES } from '../../schemas/tables/index.ts';

const input = (key: string, etag = '"1"', size = 10) => ({ source_type: 'agent', key, etag, size });

describe('diffInputs: what changed since the published run read its objects', () => {
  it.each([
    ['nothing', [input('a'), input('b')], [input('a'), input('b')], { added: [], changed: [], removed: [] }],
    ['a new object', [input('a')], [input('a'), input('b')], { added: ['b'], changed: [], removed: [] }],
    ['a rewritten object (ETag)', [input('a')], [input('a', '"2"')], { added: [], changed: ['a'], removed: [] }],
    ['a rewritten object (size only)', [input('a')], [input('a', '"1"', 11)], { added: [], changed: ['a'], removed: [] }],
    ['a deleted object', [input('a'), input('b')], [input('b')], { added: [], changed: [], removed: ['a'] }],
  ])('%s', (_name, published, current, expected) => {
    expect(diffInputs(published, current)).toEqual(expected);
  });
});

describe('partitionStatus from manifests and ledger entries', () => {
  let dir: string;
  let store: LocalFolderStore;
  const config = configSchema.parse({});
  const hour = new Date('2024-05-01T13:00:00Z');
  const partition = { dt: '2024-05-01', hour: '13' };

  const publish = async (runId: string, tables = PUBLISHED_TABLES) => {
    const at = new Date('2024-05-01T14:20:00.000Z');
    for (const table of tables) {
      const add = {
        path: `dt=2024-05-01/hour=13/part-00000-a-${runId}.parquet`,
        partitionValues: partition,
        size: 1,
        modificationTime: at.getTime(),
        dataChange: true,
        tags: { run_id: runId, attempt_id: `a-${runId}`, rows: '3' },
      };
      await commitPartition(store, { table, partition, adds: [add], runId, attemptId: `a-${runId}`, operation: 'WRITE', now: () => at, gracePeriodMs: 0, logRetentionMs: 0, checkpointInterval: 10 });
    }
  };
  const entry = (status: LedgerEntry['status'], runId: string, overrides: Partial<LedgerEntry> = {}): LedgerEntry => ({
    ledger_version: 1,
    run_id: runId,
    attempt_id: `a-${runId}`,
    hour: '2024-05-01T13',
    status,
    started_at: '',
    finished_at: '2024-05-01T14:21:00.000Z',
    duration_ms: 1,
    inputs: [],
    reference_hash: 'ref',
    rules_hash: 'rules',
    outputs: [],
    counts: { objects: 0, objects_quarantined: 0, records_read: 0, flows_published: 0, other_hour: 0, nodata: 0, skipdata: 0, quarantined: 0 },
    counts_by_source: {},
    models: [],
    durations_ms: {},
    error: status === 'failed' ? 'boom' : null,
    ...overrides,
  });
  const stateOf = async (entries: LedgerEntry[], currentReference?: { referenceHash: string; rulesHash: string }) =>
    (await partitionStatus({ store, config, hour, entries, compareInputs: true, ...(currentReference ? { currentReference } : {}) })).state;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netflow-status-'));
    store = new LocalFolderStore(dir);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('missing, then failed, when nothing was ever published', async () => {
    expect(await stateOf([])).toBe('missing');
    expect(await stateOf([entry('failed', '')])).toBe('failed');
  });

  it('published when the manifests agree and the ledger has the run, with the same (here: no) objects', async () => {
    await publish('r1');
    expect(await stateOf([entry('published', 'r1'), entry('skipped', 'r1')])).toBe('published');
  });

  it('late when an object appeared since', async () => {
    await publish('r1');
    await store.putBytes('raw/agent/dt=2024-05-01/hour=13/vm=i-1/i-1-000000000001.ndjson.gz', 'x');
    const status = await partitionStatus({ store, config, hour, entries: [entry('published', 'r1')], compareInputs: true });
    expect(status.state).toBe('late');
    expect(status.changes?.added).toEqual(['raw/agent/dt=2024-05-01/hour=13/vm=i-1/i-1-000000000001.ndjson.gz']);
  });

  it('outdated when the reference data or the rules changed since', async () => {
    await publish('r1');
    expect(await stateOf([entry('published', 'r1')], { referenceHash: 'ref', rulesHash: 'rules' })).toBe('published');
    expect(await stateOf([entry('published', 'r1')], { referenceHash: 'ref', rulesHash: 'rules-2' })).toBe('outdated');
  });

  it('incomplete when a run died between two manifest commits, or the ledger lost the run', async () => {
    await publish('r1');
    await publish('r2', PUBLISHED_TABLES.slice(0, 2));
    expect(await stateOf([entry('published', 'r1')])).toBe('incomplete');
    await publish('r2');
    expect(await stateOf([entry('published', 'r1')])).toBe('incomplete');
  });

  it('failed when the latest attempt failed, even with an older version published', async () => {
    await publish('r1');
    expect(await stateOf([entry('published', 'r1'), entry('failed', 'r2')])).toBe('failed');
  });
});

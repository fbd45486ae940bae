import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/log/logger.ts';
import { readPublishedPartition } from '../../lib/delta/published-partitions.ts';
import { publishPartition, sha256File } from '../../lib/publish/publish-partition.ts';
import { LocalFolderStore } from '../../lib/storage/local-folder-store.ts';
import type { PutOptions } from '../../lib/storage/object-store.ts';
import { flowsTable, violationsTable } from '../../schemas/tables/index.ts';

/**
 * publishPartition uploads every file at once: each published file still carries its file's
 * size and SHA-256, and an upload that fails is reported only once every other upload has
 * settled, so that no upload still reads a file the caller removes when the run fails.
 */
const PARTITION = { dt: '2024-07-01', hour: '05' };
const NO_STATS = { numRecords: 0, minValues: {}, maxValues: {}, nullCount: {} };
const logger = createLogger({ level: 'error', write: () => {} });

/** A real local-folder store whose uploads of one table fail, and whose others finish late. */
class FlakyStore extends LocalFolderStore {
  readonly settled: string[] = [];
  constructor(
    root: string,
    private readonly failing: string,
  ) {
    super(root);
  }
  override async putFile(key: string, localPath: string, options?: PutOptions) {
    if (key.includes(`/${this.failing}/`)) {
      this.settled.push(`failed ${key}`);
      throw new Error(`injected upload failure for ${key}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    const info = await super.putFile(key, localPath, options);
    this.settled.push(`uploaded ${key}`);
    return info;
  }
}

describe('publishPartition: every file at once', () => {
  let dir: string;
  let files: { flows: string; violations: string };
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netflow-publish-'));
    files = { flows: path.join(dir, 'flows.parquet'), violations: path.join(dir, 'violations.parquet') };
    await writeFile(files.flows, 'flows bytes, not Parquet: the store does not read them');
    await writeFile(files.violations, 'violations bytes');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const tables = () => [
    // Stats given, as the export gives them: the bytes are not Parquet.
    { table: flowsTable, files: [{ localPath: files.flows, rows: 3, stats: NO_STATS }] },
    { table: violationsTable, files: [{ localPath: files.violations, rows: 1, stats: NO_STATS }] },
  ];

  it('commits each table with its files, their sizes and SHA-256', async () => {
    const store = new LocalFolderStore(path.join(dir, 'lake-ok'));
    await publishPartition({ store, partition: PARTITION, runId: 'run-ok', attemptId: 'a-ok', tables: tables(), logger });
    for (const [table, file] of [
      [flowsTable, files.flows],
      [violationsTable, files.violations],
    ] as const) {
      const manifest = (await readPublishedPartition(store, table, PARTITION))!;
      expect(manifest.files).toEqual([{ key: expect.stringContaining(`/${table.name}/`), rows: table === flowsTable ? 3 : 1, bytes: (await stat(file)).size, sha256: await sha256File(file) }]);
      expect(await store.getBytes(manifest.files[0]!.key)).toEqual(await readFile(file));
    }
  });

  it('reports a failed upload only after the other uploads have settled, and commits nothing', async () => {
    const store = new FlakyStore(path.join(dir, 'lake-flaky'), 'violations');
    await expect(publishPartition({ store, partition: PARTITION, runId: 'run-flaky', attemptId: 'a-flaky', tables: tables(), logger })).rejects.toThrow(/injected upload failure/);
    // The failure came first; the flows upload, 200 ms later, had finished by the time it was reported.
    expect(store.settled.map((entry) => entry.split(' ')[0])).toEqual(['failed', 'uploaded']);
    // Nothing committed, and the uploaded file was deleted again.
    expect(await store.head(`curated/flows/dt=2024-07-01/hour=05/part-00000-a-flaky.parquet`)).toBeUndefined();
    expect(await readPublishedPartition(store, flowsTable, PARTITION)).toBeUndefined();
    expect(await readPublishedPartition(store, violationsTable, PARTITION)).toBeUndefined();
  });
});

import path from 'node:path';
import { openLakeSession } from '../../lib/query/lake-session.ts';
import type { LakeFixture } from './lake-fixture.ts';

/** Runs SQL over the published lake exactly as `netflow query` does. */
export async function queryLake<T extends Record<string, unknown> = Record<string, unknown>>(lake: LakeFixture, sql: string): Promise<T[]> {
  const session = await openLakeSession({
    store: lake.store,
    workDir: path.join(lake.dir, 'work'),
    memoryLimit: '1GB',
    maxTempDirectorySize: '1GB',
  });
  try {
    return await session.session.all<T>(sql);
  } finally {
    await session.close();
  }
}

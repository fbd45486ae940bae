import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { configSchema, type Config } from '../../schemas/config.ts';
import { runHourAndRecord } from '../../orchestration/run-hour.ts';
import { createLogger, type Logger } from '../../lib/log/logger.ts';
import { LocalFolderStore } from '../../lib/storage/local-folder-store.ts';
import type { ObjectStore } from '../../lib/storage/object-store.ts';
import type { HourlyEtlResult } from '../../jobs/hourly-etl.ts';

export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
export const SAMPLE_REFERENCE = path.join(REPO_ROOT, 'data', 'samples', 'reference');

export interface LakeFixture {
  dir: string;
  config: Config;
  store: ObjectStore;
  logger: Logger;
  logs: string[];
  runHour(hour: string, overrides?: { sqlDir?: string }): Promise<HourlyEtlResult>;
  cleanup(): Promise<void>;
}

/** A throwaway lake: a local-folder store, ledger and work dir in a temp folder, sample reference data. */
export async function createLakeFixture(options: { store?: ObjectStore; config?: Record<string, unknown> } = {}): Promise<LakeFixture> {
  const dir = await mkdtemp(path.join(tmpdir(), 'netflow-test-'));
  const config = configSchema.parse({
    store: { type: 'local', path: path.join(dir, 'lake') },
    ledger: { path: path.join(dir, 'ledger.ndjson') },
    work_dir: path.join(dir, 'work'),
    duckdb: { memory_limit: '1GB', max_temp_directory_size: '2GB', threads: 2 },
    reference: { inventory: path.join(SAMPLE_REFERENCE, 'inventory.yaml'), ip_ranges: path.join(SAMPLE_REFERENCE, 'ip-ranges.yaml') },
    rules: path.join(SAMPLE_REFERENCE, 'rules.yaml'),
    // Collect superseded versions at the next publish, so tests see the end state at once.
    publish: { grace_period: '0s' },
    ...options.config,
  });
  const store = options.store ?? new LocalFolderStore(path.join(dir, 'lake'));
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', write: (line) => logs.push(line) });
  return {
    dir,
    config,
    store,
    logger,
    logs,
    runHour: (hour, overrides = {}) => runHourAndRecord({ config, baseDir: dir, store, logger, hour: new Date(`${hour}:00:00Z`), ...(overrides.sqlDir ? { sqlDir: overrides.sqlDir } : {}) }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

import path from 'node:path';
import type { StagingSources } from '../staging/staging-source.ts';
import { SOURCES, sourceByType } from './registry.ts';

/** Every source of the registry as staging receives them (lib/staging never imports the registry). */
export const STAGING_SOURCES: StagingSources = {
  all: SOURCES,
  byType: sourceByType,
  workerModule: path.join(import.meta.dirname, 'staging-worker.ts'),
};

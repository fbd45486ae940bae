import type { StagingSources } from '../staging/staging-source.ts';
import { SOURCES, sourceByType } from './registry.ts';
import { packagePath } from '../process/package-root.ts';

/** Every source of the registry as staging receives them (lib/staging never imports the registry). */
export const STAGING_SOURCES: StagingSources = {
  all: SOURCES,
  byType: sourceByType,
  workerModule: packagePath('lib', 'sources', 'staging-worker.ts'),
};

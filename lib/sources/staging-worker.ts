import { serveStagingTasks } from '../staging/staging-worker.ts';
import { sourceByType } from './registry.ts';

// The entry of a staging worker thread (STAGING_SOURCES.workerModule): staging code serving the
// registry's sources, bundled into one script (lib/staging/staging-worker-script.ts).
serveStagingTasks(sourceByType);

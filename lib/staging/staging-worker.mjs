// The entry of a staging worker thread when its bundled script (staging-worker-script.ts) could
// not be made: a Worker cannot load TypeScript by itself, whether the process runs under
// `node --import tsx`, bin/netflow.mjs or vitest, so it registers tsx first. Slow to start
// (~0.3-0.4 s of a core: tsx's hooks compile every module of the graph on a thread of their own).
import { pathToFileURL } from 'node:url';
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

// zod (imported by the AWS format's schema, which the AWS line typer reads its default format
// from) is ~100 files: ~70 ms loaded natively, ~250 ms through tsx's hooks, which run on a thread
// of their own and see every file. Loaded first, the module map serves it afterwards.
await import('zod');
register();
// The sources' worker module (StagingSources.workerModule), which the pool passes along.
await import(pathToFileURL(workerData.workerModule).href);

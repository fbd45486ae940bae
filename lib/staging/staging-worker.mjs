// The entry of a staging worker thread (lib/staging/staging-pool.ts). A Worker cannot load
// TypeScript by itself, whether the process runs under `node --import tsx`, bin/netflow.mjs or
// vitest, so it registers tsx first.
import { register } from 'tsx/esm/api';

// zod (imported by the AWS format's schema, which the AWS line typer reads its default format
// from) is ~100 files: ~70 ms loaded natively, ~250 ms through tsx's hooks, which run on a thread
// of their own and see every file. Loaded first, the module map serves it afterwards.
await import('zod');
register();
await import('./staging-worker.ts');

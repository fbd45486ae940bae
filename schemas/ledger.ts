import { z } from 'zod';

/** One line of the run ledger: everything needed to say what a published partition is made of. */
const counts = z.object({
  objects: z.number(),
  objects_quarantined: z.number(),
  records_read: z.number(),
  flows_published: z.number(),
  other_hour: z.number(),
  /** Records routed to late_records (absent in older entries). */
  late: z.number().optional(),
  nodata: z.number(),
  skipdata: z.number(),
  quarantined: z.number(),
});

/** An object a run read; `last_offset` (absent in older entries) is the highest record offset read from it. */
const input = z.object({ source_type: z.string(), key: z.string(), etag: z.string(), size: z.number(), last_offset: z.number().nullable().optional() });

export const ledgerEntrySchema = z.object({
  ledger_version: z.literal(1),
  run_id: z.string(),
  attempt_id: z.string(),
  /** Event hour, `YYYY-MM-DDTHH` (UTC). */
  hour: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}$/),
  /** `skipped`: another runner had just published the same inputs while this one waited for the lock. */
  status: z.enum(['published', 'failed', 'skipped']),
  /** What started the run: `run`, `scheduler`, `rescan`, `catch-up`, `backfill`, … (absent in older entries). */
  trigger: z.string().optional(),
  /** Time spent waiting for and holding the partition lock's bookkeeping (absent in older entries). */
  lock_ms: z.number().optional(),
  started_at: z.string(),
  finished_at: z.string(),
  duration_ms: z.number(),
  inputs: z.array(input),
  /** Object versions whose records of a late hour (`hour`, past the look-back) this run routed to late_records. */
  late_inputs: z.array(input.extend({ hour: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}$/) })).optional(),
  reference_hash: z.string().nullable(),
  rules_hash: z.string().nullable(),
  /** The rules file's `version` label, beside its hash (violations carry `sha256:<rules_hash>`). */
  rules_version: z.string().nullable().optional(),
  /** Per alert sink: alert ids this run delivered, alerts still pending, and the sink's last error. */
  alert_delivery: z.record(z.string(), z.object({ delivered: z.array(z.string()), pending: z.number(), already_delivered: z.number(), error: z.string().nullable() })).optional(),
  outputs: z.array(z.object({ table: z.string(), manifest_key: z.string(), rows: z.number(), files: z.array(z.string()) })),
  counts,
  counts_by_source: z.record(z.string(), counts),
  models: z.array(z.object({ name: z.string(), status: z.string(), rows: z.number().nullable(), duration_ms: z.number() })),
  durations_ms: z.record(z.string(), z.number()),
  /** What discovery's listings cost: requests to the store, keys and folders returned, entries skipped (absent in older entries). */
  listing: z.object({ requests: z.number(), keys: z.number(), skipped: z.number() }).optional(),
  error: z.string().nullable(),
  /** What caused `error`, outermost first, redacted (absent when it had no cause, and in older entries). */
  error_causes: z.array(z.string()).optional(),
});

export type LedgerEntry = z.infer<typeof ledgerEntrySchema>;

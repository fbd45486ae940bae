import { z } from 'zod';

/**
 * A published partition: its run, attempt, rows and files (key, rows, bytes, SHA-256). Lakes of
 * the old layout stored it as `<root>/<table>/dt=YYYY-MM-DD/hour=HH/_manifest.json` (read by
 * `netflow migrate`); today each table's Delta log is the truth and this is how its partitions
 * are reported to the ledger, reports and status (lib/delta/published-partitions.ts).
 */
export const manifestFileSchema = z.strictObject({
  key: z.string(),
  rows: z.number().int().min(0),
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export const manifestSchema = z.strictObject({
  manifest_version: z.literal(1),
  table: z.string(),
  schema_version: z.number().int().positive(),
  format: z.enum(['parquet', 'ndjson']),
  dt: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  hour: z.string().regex(/^\d{2}$/),
  /** Deterministic id of the inputs (same inputs, same id). */
  run_id: z.string(),
  /** Unique per publish attempt; names the version folder. */
  attempt_id: z.string(),
  committed_at: z.string(),
  rows: z.number().int().min(0),
  files: z.array(manifestFileSchema),
  /** The version this one replaced, kept for readers in flight until garbage collection. */
  previous_attempt_id: z.string().nullable(),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestFile = z.infer<typeof manifestFileSchema>;

import { z } from 'zod';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * A report's manifest, `reports/<kind>/<date>/<generation>/_report-manifest.json`, written after
 * the report's files: what was written (SHA-256 and size of each file), what it was made from
 * (the lake files it read), and the manifest before it in its kind's chain. A manifest is never
 * rewritten once its chain link exists; regenerating a report writes a new generation and link.
 */
export const reportManifestSchema = z.strictObject({
  manifest_version: z.literal(1),
  kind: z.enum(['compliance', 'capacity']),
  /** Position in the kind's chain, from 1; equals the number of its link, `reports/<kind>/_chain/<seq>.json`. */
  seq: z.number().int().positive(),
  period: z.strictObject({ from: z.string(), to: z.string(), label: z.string() }),
  generated_at: z.string(),
  /** The package that wrote it (name and version from package.json). */
  tool: z.strictObject({ name: z.string(), version: z.string() }),
  outputs: z.array(z.strictObject({ name: z.string(), key: z.string(), sha256, bytes: z.number().int().min(0) })),
  inputs: z.array(z.strictObject({ table: z.string(), key: z.string(), sha256, rows: z.number().int().min(0), bytes: z.number().int().min(0) })),
  /** The manifest of link seq - 1, as its bytes hashed when this one was written; null for seq 1. */
  previous: z.strictObject({ seq: z.number().int().positive(), key: z.string(), sha256 }).nullable(),
});

/** One link of a chain, `reports/<kind>/_chain/<seq>.json`, created only if absent: two writers cannot both take a number. */
export const reportChainLinkSchema = z.strictObject({
  kind: z.enum(['compliance', 'capacity']),
  seq: z.number().int().positive(),
  manifest_key: z.string(),
  manifest_sha256: sha256,
});

export type ReportManifest = z.infer<typeof reportManifestSchema>;
export type ReportChainLink = z.infer<typeof reportChainLinkSchema>;

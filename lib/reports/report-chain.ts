import { createHash, randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { reportChainLinkSchema, type ReportChainLink, type ReportManifest } from '../../schemas/report-manifest.ts';
import type { ObjectStore } from '../storage/object-store.ts';

/**
 * The hash chain of one report kind. Each report generation is a folder of its own,
 * `reports/<kind>/<date>/<generation>/`, holding its files and `_report-manifest.json`; the chain
 * is the numbered links `reports/<kind>/_chain/<seq>.json`, each naming one manifest and its
 * SHA-256, created only if absent. The number is what orders the chain (not times, not dates):
 * a writer takes the highest link it sees plus one, and of two writers that saw the same head
 * exactly one creates the link; the other re-reads the head and tries the next number.
 */
export type ReportKind = ReportManifest['kind'];

export const REPORT_MANIFEST_NAME = '_report-manifest.json';

export function chainPrefix(kind: ReportKind): string {
  return `reports/${kind}/_chain/`;
}

export function linkKey(kind: ReportKind, seq: number): string {
  return `${chainPrefix(kind)}${String(seq).padStart(6, '0')}.json`;
}

/** The sequence number a listed chain key names, or undefined when it is not a link key in canonical form. */
export function seqOfLinkKey(kind: ReportKind, key: string): number | undefined {
  const digits = /^(\d{6,})\.json$/.exec(key.slice(chainPrefix(kind).length))?.[1];
  if (digits === undefined || !key.startsWith(chainPrefix(kind))) return undefined;
  const seq = Number(digits);
  return seq > 0 && linkKey(kind, seq) === key ? seq : undefined;
}

/** A folder no other generation shares, so a regenerated report never overwrites an earlier one's files. */
export function generationPrefix(kind: ReportKind, date: string, generatedAt: string): string {
  const stamp = generatedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `reports/${kind}/${date}/${stamp}-${randomBytes(3).toString('hex')}/`;
}

export function sha256Hex(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Manifests and links as their bytes are hashed: two-space JSON and a final newline. */
export function jsonBytes(value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(value, null, 2)}\n`, 'utf8');
}

export interface ChainHead {
  seq: number;
  link_key: string;
  manifest_key: string;
  manifest_sha256: string;
}

export class ChainConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChainConflictError';
  }
}

/** The latest link of a kind's chain, or undefined for an empty chain; an unreadable head is an error (run `netflow report verify`). */
export async function readChainHead(store: ObjectStore, kind: ReportKind): Promise<ChainHead | undefined> {
  let latest = 0;
  for await (const object of store.list(chainPrefix(kind))) latest = Math.max(latest, seqOfLinkKey(kind, object.key) ?? 0);
  if (latest === 0) return undefined;
  const key = linkKey(kind, latest);
  const link = parseLink(key, await store.getBytes(key));
  return { seq: latest, link_key: key, manifest_key: link.manifest_key, manifest_sha256: link.manifest_sha256 };
}

export function parseLink(key: string, bytes: Buffer | undefined): ReportChainLink {
  return parseChainObject(key, bytes, reportChainLinkSchema, 'report chain link');
}

/** A link or manifest read back: missing, not JSON and not of the schema are errors that name the key. */
export function parseChainObject<T>(key: string, bytes: Buffer | undefined, schema: z.ZodType<T>, what: string): T {
  if (!bytes) throw new Error(`${what} ${key} is missing`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new Error(`${what} ${key} is not JSON: ${(error as Error).message}`, { cause: error });
  }
  const result = schema.safeParse(parsed);
  if (!result.success) throw new Error(`${what} ${key} does not match its schema: ${result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')}`);
  return result.data;
}

const MAX_APPEND_ATTEMPTS = 10;

/**
 * Writes a generation's manifest (chained to the current head) and then creates its link. When
 * another writer takes the number first, the manifest is rewritten against the new head (the
 * folder is this generation's alone) and the next number is tried. A link whose create failed
 * for another reason is read back: if it holds exactly these bytes the write landed and this
 * writer won. Returns the new head and the manifest's bytes.
 */
export async function appendToChain(store: ObjectStore, manifestKey: string, draft: Omit<ReportManifest, 'seq' | 'previous'>): Promise<{ head: ChainHead; manifestBytes: Buffer }> {
  for (let attempt = 1; attempt <= MAX_APPEND_ATTEMPTS; attempt++) {
    const head = await readChainHead(store, draft.kind);
    const seq = (head?.seq ?? 0) + 1;
    const manifest: ReportManifest = { ...draft, seq, previous: head ? { seq: head.seq, key: head.manifest_key, sha256: head.manifest_sha256 } : null };
    const manifestBytes = jsonBytes(manifest);
    await store.putBytes(manifestKey, manifestBytes, { contentType: 'application/json' });
    const link: ReportChainLink = { kind: draft.kind, seq, manifest_key: manifestKey, manifest_sha256: sha256Hex(manifestBytes) };
    const key = linkKey(draft.kind, seq);
    const linkBytes = jsonBytes(link);
    try {
      await store.putBytes(key, linkBytes, { createOnly: true, contentType: 'application/json' });
    } catch (error) {
      const existing = await store.getBytes(key).catch(() => undefined);
      if (existing === undefined) throw error;
      if (!existing.equals(linkBytes)) continue;
    }
    return { head: { seq, link_key: key, manifest_key: manifestKey, manifest_sha256: link.manifest_sha256 }, manifestBytes };
  }
  throw new ChainConflictError(`report chain of ${draft.kind}: another writer took the next link ${MAX_APPEND_ATTEMPTS} times in a row; ${manifestKey} is not in the chain`);
}

import { createHash } from 'node:crypto';
import { open, rename } from 'node:fs/promises';
import path from 'node:path';

/** Writes a small file so that after a crash it holds either the old or the new content. */
export async function writeFileDurably(file: string, content: string | Buffer): Promise<void> {
  const temp = `${file}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
  await syncDirectory(path.dirname(file));
}

/** Makes a rename or unlink in `dir` survive a power loss. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Name of a closed segment: sequence, close time and record count, so no side file is needed. */
export function readySegmentName(seq: number, closedAtMs: number, records: number): string {
  return `${String(seq).padStart(12, '0')}-${closedAtMs}-${records}.ndjson.gz`;
}

export function parseReadySegmentName(name: string): { seq: number; closedAtMs: number; records: number } | undefined {
  const match = /^(\d{12})-(\d+)-(\d+)\.ndjson\.gz$/.exec(name);
  if (!match) return undefined;
  return { seq: Number(match[1]), closedAtMs: Number(match[2]), records: Number(match[3]) };
}

/**
 * A small record as JSON with a checksum over it. state.json and the commit lines decide which key
 * a segment is shipped under and where a replay resumes: a flipped bit that leaves valid JSON (a
 * renamed key, another digit) must read as damaged, not as other numbers. Found by the damaged
 * spool suite: a flip in the key `nextSeq` gave NaN sequence numbers, so every later segment was
 * shipped under one key, `…-000000000NaN.ndjson.gz`, each overwriting the one before.
 */
export function withChecksum(value: Record<string, unknown>): string {
  return JSON.stringify({ ...value, sum: checksumOf(value) });
}

/**
 * The record in `text` without its checksum; undefined when the text is not such a record, its keys
 * are not exactly `keys`, or the checksum does not match. A record written before checksums existed
 * (no `sum`) is taken on its keys alone, so a spool left by an older agent still opens.
 */
export function checkedRecord(text: string, keys: readonly string[]): Record<string, unknown> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const { sum, ...value } = parsed as Record<string, unknown>;
  const names = Object.keys(value);
  if (names.length !== keys.length || !keys.every((key) => names.includes(key))) return undefined;
  if (sum !== undefined && sum !== checksumOf(value)) return undefined;
  return value;
}

/** A sequence number, length or count as the spool writes them. */
export function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function checksumOf(value: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

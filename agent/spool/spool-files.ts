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

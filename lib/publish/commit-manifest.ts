import type { Manifest } from '../../schemas/manifest.ts';
import type { TableDefinition } from '../../schemas/tables/table-definition.ts';
import { ObjectExistsError, type ObjectStore } from '../storage/object-store.ts';
import { manifestKey, partitionPrefix, type PartitionRef } from './partition-keys.ts';

/** Another writer committed this partition's next version first; this writer's manifest was not written. */
export class CommitConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommitConflictError';
  }
}

export function commitsPrefix(table: Pick<TableDefinition, 'root' | 'name'>, partition: PartitionRef): string {
  return `${partitionPrefix(table, partition)}_commits/`;
}

/**
 * Commits a manifest with a conditional write. The writer first claims the next commit number:
 * `_commits/<n>.json`, created only if absent (S3 `If-None-Match: *`, `link()` locally), where n
 * follows the highest number it sees. Of writers that saw the same latest commit exactly one
 * creates it; the others throw CommitConflictError and leave `_manifest.json` alone, so no
 * publish is silently overwritten by one that started from the same state. A commit whose
 * response was lost (the PUT landed, the retry found the key) is resolved by reading the claim
 * back: it names this attempt, so this writer won. Then `_manifest.json`, which readers resolve,
 * is written. Orchestration's partition lock keeps writers apart in the first place; this is
 * the store-level guard when two writers meet anyway (an expired lease, a run outside the lock).
 * Returns the commit number.
 */
export async function commitManifest(store: ObjectStore, table: Pick<TableDefinition, 'root' | 'name'>, partition: PartitionRef, manifest: Manifest): Promise<number> {
  const prefix = commitsPrefix(table, partition);
  let latest = -1;
  for await (const object of store.list(prefix)) {
    const number = /^(\d{12})\.json$/.exec(object.key.slice(prefix.length))?.[1];
    if (number !== undefined) latest = Math.max(latest, Number(number));
  }
  const seq = latest + 1;
  const claimKey = `${prefix}${String(seq).padStart(12, '0')}.json`;
  const claim = { attempt_id: manifest.attempt_id, run_id: manifest.run_id, committed_at: manifest.committed_at };
  try {
    await store.putBytes(claimKey, `${JSON.stringify(claim)}\n`, { createOnly: true, contentType: 'application/json' });
  } catch (error) {
    const existing = await store.getBytes(claimKey).catch(() => undefined);
    const holder = existing ? (JSON.parse(existing.toString('utf8')) as { attempt_id?: string }).attempt_id : undefined;
    if (holder !== manifest.attempt_id) {
      if (holder !== undefined || error instanceof ObjectExistsError) {
        throw new CommitConflictError(`commit ${seq} of ${manifestKey(table, partition)} was taken by attempt ${holder ?? 'unknown'}; attempt ${manifest.attempt_id} did not publish`);
      }
      throw error;
    }
  }
  await store.putBytes(manifestKey(table, partition), `${JSON.stringify(manifest, null, 2)}\n`, { contentType: 'application/json' });
  return seq;
}

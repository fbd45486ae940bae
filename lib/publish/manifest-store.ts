import { manifestSchema, type Manifest } from '../../schemas/manifest.ts';
import type { TableDefinition } from '../../schemas/tables/table-definition.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { manifestKey, parseManifestKey, tablePrefix, type PartitionRef } from './partition-keys.ts';

/** Reads the current manifest of a partition; undefined when the partition was never published. */
export async function readManifest(store: ObjectStore, table: TableDefinition, partition: PartitionRef): Promise<Manifest | undefined> {
  const key = manifestKey(table, partition);
  const body = await store.getBytes(key);
  if (!body) return undefined;
  const parsed = manifestSchema.safeParse(JSON.parse(body.toString('utf8')));
  if (!parsed.success) throw new Error(`manifest ${key} is not valid: ${parsed.error.message}`);
  return parsed.data;
}

/** Every published partition of a table, with its manifest, in partition order. */
export async function listManifests(store: ObjectStore, table: TableDefinition): Promise<Manifest[]> {
  const manifests: Manifest[] = [];
  for await (const object of store.list(tablePrefix(table))) {
    const partition = parseManifestKey(object.key);
    if (!partition || object.key !== `${tablePrefix(table)}dt=${partition.dt}/hour=${partition.hour}/_manifest.json`) continue;
    const manifest = await readManifest(store, table, partition);
    if (manifest) manifests.push(manifest);
  }
  return manifests;
}

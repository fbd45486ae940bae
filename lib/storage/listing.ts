import { assertSafeKey, type FolderInfo, type ListOptions, type ObjectInfo } from './object-store.ts';

/**
 * The folder part of a listing prefix ('' or ending in '/'), checked like any key first: a prefix
 * that could escape a folder (`../`, `a/%2e%2e/`, a leading '/') fails with InvalidKeyError before
 * any request, in every adapter alike. The rest of the prefix only filters names, so it may be anything.
 */
export function listingFolder(prefix: string): string {
  const slash = prefix.lastIndexOf('/');
  const folder = slash >= 0 ? prefix.slice(0, slash + 1) : '';
  if (folder) assertSafeKey(folder.slice(0, -1));
  return folder;
}

/** Adds one listing request (a page, a directory read) and the keys and folders it returned to the caller's cost. */
export function countListingRequest(options: ListOptions, returned: number): void {
  if (!options.cost) return;
  options.cost.requests++;
  options.cost.keys += returned;
}

/** The objects of a listing that also gives folders (a `listChildren` listing read as `list`). */
export async function* objectsOnly(entries: AsyncIterable<ObjectInfo | FolderInfo>): AsyncIterable<ObjectInfo> {
  for await (const entry of entries) if (!('folder' in entry)) yield entry;
}

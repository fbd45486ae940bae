import { randomUUID } from 'node:crypto';
import { constants as fsConstants, type Dirent, type Stats } from 'node:fs';
import { copyFile, link, lstat, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  assertSafeKey,
  byListingKey,
  listedObject,
  ObjectChangedError,
  ObjectExistsError,
  ObjectNotFoundError,
  type FolderInfo,
  type GetOptions,
  type ListOptions,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
} from './object-store.ts';
import { countListingRequest, listingFolder } from './listing.ts';

const TEMP_DIR = '.netflow-tmp';

/**
 * The embedded default: objects are files below one root folder. Writes go to a temporary file
 * and are renamed into place, so a reader never sees a half-written object.
 */
export class LocalFolderStore implements ObjectStore {
  readonly description: string;
  private rootIsFolder = false;

  constructor(private readonly root: string) {
    this.root = path.resolve(root);
    this.description = `file://${this.root}`;
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectInfo> {
    // Walk only the folder the prefix names, then filter by the rest of the prefix.
    const dirKey = listingFolder(prefix);
    const keys: string[] = [];
    await this.collect(path.join(this.root, dirKey), dirKey, prefix, keys, options);
    keys.sort();
    for (const key of keys) {
      const info = await this.statObject(key);
      if (info) yield info;
    }
  }

  async *listChildren(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectInfo | FolderInfo> {
    const dirKey = listingFolder(prefix);
    const entries = await this.readFolder(path.join(this.root, dirKey), options);
    const children: (ObjectInfo | FolderInfo)[] = [];
    for (const entry of entries) {
      const key = dirKey + entry.name;
      if (!key.startsWith(prefix) || (dirKey === '' && entry.name === TEMP_DIR)) continue;
      if (entry.isSymbolicLink()) options.onSkipped?.(key, 'symbolic link, not followed');
      else if (entry.isDirectory()) children.push({ folder: `${key}/` });
      else if (entry.isFile()) {
        const info = await this.statObject(key);
        if (info) children.push(info);
      }
    }
    yield* children.sort(byListingKey);
  }

  /** One directory read, counted as one request and its entries as keys; a missing folder is empty. */
  private async readFolder(dir: string, options: ListOptions): Promise<Dirent[]> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      countListingRequest(options, 0);
      if (isNotFound(error)) {
        await this.assertRootIsFolder();
        return [];
      }
      throw error;
    }
    countListingRequest(options, entries.length);
    return entries;
  }

  /** A missing folder under the store is an empty listing; the store's own folder being a file is a misconfiguration, not an empty lake. */
  private async assertRootIsFolder(): Promise<void> {
    // Discovery lists many date prefixes that do not exist: one stat once the folder is known to be one.
    if (this.rootIsFolder) return;
    const stats = await stat(this.root).catch(() => undefined);
    if (stats && !stats.isDirectory()) throw new Error(`the local store's folder ${this.root} is not a folder (check store.path)`);
    this.rootIsFolder = stats !== undefined;
  }

  private async collect(dir: string, dirKey: string, prefix: string, into: string[], options: ListOptions): Promise<void> {
    for (const entry of await this.readFolder(dir, options)) {
      if (dirKey === '' && entry.name === TEMP_DIR) continue;
      const key = dirKey + entry.name;
      if (entry.isSymbolicLink()) {
        // A link could name anything on this machine: it is not an object of the store.
        if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) options.onSkipped?.(key, 'symbolic link, not followed');
      } else if (entry.isDirectory()) {
        const childKey = `${key}/`;
        if (childKey.startsWith(prefix) || prefix.startsWith(childKey)) {
          await this.collect(path.join(dir, entry.name), childKey, prefix, into, options);
        }
      } else if (entry.isFile() && key.startsWith(prefix)) {
        into.push(key);
      }
    }
  }

  /** A listed file as an object; a name that fails assertSafeKey (a backslash, a newline, over 1024 bytes) is rendered and marked, never thrown. */
  private async statObject(key: string): Promise<ObjectInfo | undefined> {
    try {
      const stats = await lstat(path.join(this.root, key));
      if (!stats.isFile()) return undefined;
      return listedObject(key, stats.size, weakEtag(stats), stats.mtime);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const stats = await stat(this.pathOf(key));
      if (!stats.isFile()) return undefined;
      return { key, size: stats.size, etag: weakEtag(stats), lastModified: stats.mtime };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async getToFile(key: string, localPath: string, options: GetOptions = {}): Promise<ObjectInfo> {
    const info = await this.head(key);
    if (!info) throw new ObjectNotFoundError(key);
    if (options.ifMatch !== undefined && info.etag !== options.ifMatch) throw new ObjectChangedError(key, options.ifMatch, info.etag);
    await mkdir(path.dirname(localPath), { recursive: true });
    const temp = `${localPath}.${randomUUID()}.part`;
    try {
      await copyFile(this.pathOf(key), temp);
      // A file has no conditional read: one rewritten or appended to while it was copied shows
      // a new size or modification time afterwards, and the copy may hold either version.
      const after = await this.head(key);
      if (after?.etag !== info.etag) throw new ObjectChangedError(key, options.ifMatch ?? info.etag, after?.etag);
      await rename(temp, localPath);
    } catch (error) {
      await rm(temp, { force: true });
      if (isNotFound(error)) throw new ObjectNotFoundError(key, { cause: error });
      throw error;
    }
    return info;
  }

  async getBytes(key: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.pathOf(key));
    } catch (error) {
      if (isNotFound(error) || isDirectory(error)) return undefined;
      throw error;
    }
  }

  async putFile(key: string, localPath: string, options: PutOptions = {}): Promise<ObjectInfo> {
    return this.commit(key, options, (temp) => copyFile(localPath, temp));
  }

  async putBytes(key: string, body: Buffer | string, options: PutOptions = {}): Promise<ObjectInfo> {
    return this.commit(key, options, (temp) => writeFile(temp, body));
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.pathOf(key));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  localPathOf(key: string): string {
    return this.pathOf(key);
  }

  private async commit(key: string, options: PutOptions, write: (temp: string) => Promise<void>): Promise<ObjectInfo> {
    const target = this.pathOf(key);
    const tempDir = path.join(this.root, TEMP_DIR);
    await mkdir(tempDir, { recursive: true });
    await mkdir(path.dirname(target), { recursive: true });
    const temp = path.join(tempDir, `${randomUUID()}.part`);
    try {
      await write(temp);
      await fsyncFile(temp);
      if (options.createOnly) {
        // link() fails when the target exists: the same exactly-one-winner guarantee as If-None-Match.
        try {
          await link(temp, target);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new ObjectExistsError(key, { cause: error });
          throw error;
        }
      } else {
        await rename(temp, target);
      }
    } finally {
      await rm(temp, { force: true });
    }
    const info = await this.head(key);
    if (!info) throw new ObjectNotFoundError(key);
    return info;
  }

  private pathOf(key: string): string {
    assertSafeKey(key);
    const resolved = path.join(this.root, key);
    if (!resolved.startsWith(this.root + path.sep)) throw new ObjectNotFoundError(key);
    return resolved;
  }
}

async function fsyncFile(file: string): Promise<void> {
  const handle = await open(file, fsConstants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A weak ETag: size and modification time change whenever the content is rewritten. */
function weakEtag(stats: Stats): string {
  return `"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs * 1000).toString(16)}"`;
}

function isNotFound(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function isDirectory(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'EISDIR';
}

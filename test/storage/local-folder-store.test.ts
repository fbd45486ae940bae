import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LocalFolderStore } from '../../lib/storage/local-folder-store.ts';

async function keysOf(store: LocalFolderStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of store.list(prefix)) keys.push(info.key);
  return keys;
}

describe('local folder store: its own folder', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netflow-local-root-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  test('a folder that does not exist yet is an empty lake', async () => {
    expect(await keysOf(new LocalFolderStore(path.join(dir, 'not-yet')), 'curated/')).toEqual([]);
  });

  test('a missing folder under the store lists as empty', async () => {
    const store = new LocalFolderStore(dir);
    await store.putBytes('raw/a.json', '{}');
    expect(await keysOf(store, 'raw/a.json/deeper/')).toEqual([]);
    expect(await keysOf(store, 'raw/')).toEqual(['raw/a.json']);
  });

  test('a store path that is a file fails, naming it, instead of reading as an empty lake', async () => {
    const file = path.join(dir, 'lake-is-a-file');
    await writeFile(file, 'not a folder');
    await expect(keysOf(new LocalFolderStore(file), 'curated/')).rejects.toThrow(`the local store's folder ${file} is not a folder (check store.path)`);
    const children = async () => {
      for await (const child of new LocalFolderStore(file).listChildren('raw/')) void child;
    };
    await expect(children()).rejects.toThrow('is not a folder');
  });
});

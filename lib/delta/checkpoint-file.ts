import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDbSession, sqlString } from '../duckdb/duckdb-session.ts';
import { commitText, type DeltaAction } from './delta-actions.ts';
import type { Snapshot } from './snapshot.ts';

/**
 * Checkpoint files: the snapshot's actions as Parquet, one row per action and one struct column
 * per action type, in the schema of PROTOCOL.md ("Checkpoint Schema"). Written and read with
 * DuckDB on local files; the caller moves them to and from the store.
 */
const MAP = 'MAP(VARCHAR, VARCHAR)';
export const CHECKPOINT_COLUMNS: Readonly<Record<string, string>> = {
  txn: 'STRUCT(appId VARCHAR, version BIGINT, lastUpdated BIGINT)',
  add: `STRUCT(path VARCHAR, partitionValues ${MAP}, size BIGINT, modificationTime BIGINT, dataChange BOOLEAN, stats VARCHAR, tags ${MAP})`,
  remove: `STRUCT(path VARCHAR, deletionTimestamp BIGINT, dataChange BOOLEAN, extendedFileMetadata BOOLEAN, partitionValues ${MAP}, size BIGINT)`,
  metaData: `STRUCT(id VARCHAR, name VARCHAR, description VARCHAR, format STRUCT(provider VARCHAR, options ${MAP}), schemaString VARCHAR, partitionColumns VARCHAR[], configuration ${MAP}, createdTime BIGINT)`,
  protocol: 'STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER)',
};

/** The actions a checkpoint of the snapshot holds: protocol, metaData, transactions, live files, and tombstones not yet expired. */
export function checkpointActions(snapshot: Snapshot, tombstonesAfter: number): DeltaAction[] {
  const actions: DeltaAction[] = [];
  if (snapshot.protocol) actions.push({ protocol: snapshot.protocol });
  if (snapshot.metaData) actions.push({ metaData: snapshot.metaData });
  for (const txn of snapshot.txns.values()) actions.push({ txn });
  for (const add of snapshot.files.values()) actions.push({ add: { ...add, dataChange: false } });
  for (const remove of snapshot.tombstones.values()) {
    if (remove.deletionTimestamp > tombstonesAfter) actions.push({ remove: { ...remove, dataChange: false } });
  }
  return actions;
}

async function withScratch<T>(work: (dir: string, session: DuckDbSession) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'netflow-delta-'));
  let session: DuckDbSession | undefined;
  try {
    session = await DuckDbSession.open({ workDir: dir, memoryLimit: '512MB', maxTempDirectorySize: '1GB', threads: 1 });
    return await work(dir, session);
  } finally {
    session?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes the actions as a checkpoint Parquet file and hands its path to `upload` before the scratch folder goes. */
export async function writeCheckpointFile(actions: readonly DeltaAction[], upload: (file: string, bytes: number) => Promise<void>): Promise<void> {
  await withScratch(async (dir, session) => {
    const lines = path.join(dir, 'actions.ndjson');
    const file = path.join(dir, 'checkpoint.parquet');
    await writeFile(lines, commitText(actions));
    const columns = Object.entries(CHECKPOINT_COLUMNS)
      .map(([name, type]) => `${sqlString(name)}: ${sqlString(type)}`)
      .join(', ');
    await session.run(
      `COPY (SELECT ${Object.keys(CHECKPOINT_COLUMNS)
        .map((name) => `"${name}"`)
        .join(', ')} FROM read_json(${sqlString(lines)}, format = 'newline_delimited', columns = {${columns}})) TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    await upload(file, (await stat(file)).size);
  });
}

/** Reads a checkpoint (ours or another writer's) back into actions: every struct column as JSON. */
export async function readCheckpointFile(download: (file: string) => Promise<void>): Promise<DeltaAction[]> {
  return withScratch(async (dir, session) => {
    const file = path.join(dir, 'checkpoint.parquet');
    await download(file);
    const present = new Set((await session.all<{ name: string }>(`SELECT name FROM parquet_schema(${sqlString(file)})`)).map((row) => row.name));
    const wanted = Object.keys(CHECKPOINT_COLUMNS).filter((name) => present.has(name));
    const rows = await session.all<Record<string, string | null>>(`SELECT ${wanted.map((name) => `to_json("${name}") AS "${name}"`).join(', ')} FROM read_parquet(${sqlString(file)})`);
    const actions: DeltaAction[] = [];
    for (const row of rows) {
      for (const name of wanted) {
        const json = row[name];
        if (json !== null && json !== undefined) actions.push({ [name]: withoutNulls(JSON.parse(json)) } as DeltaAction);
      }
    }
    return actions;
  });
}

/** Parquet gives absent optional fields as NULL; the log's JSON leaves them out. */
function withoutNulls(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== null));
}

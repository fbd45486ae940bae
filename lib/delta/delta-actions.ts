/**
 * The Delta Lake log's actions, as PROTOCOL.md of delta-io/delta defines them and as this project
 * writes them: one JSON object per line of a commit file, one row per action in a checkpoint.
 */
export interface ProtocolAction {
  minReaderVersion: number;
  minWriterVersion: number;
}

export interface MetaDataAction {
  id: string;
  name?: string;
  description?: string;
  format: { provider: 'parquet'; options: Record<string, string> };
  schemaString: string;
  partitionColumns: string[];
  configuration: Record<string, string>;
  createdTime: number;
}

/** Tags this project writes on every add: what `netflow query` checks before it reads a file, and the run that wrote it. */
export interface AddTags {
  sha256?: string;
  run_id?: string;
  attempt_id?: string;
  rows?: string;
  [name: string]: string | undefined;
}

export interface AddAction {
  /** Relative to the table root, URL-encoded. */
  path: string;
  partitionValues: Record<string, string>;
  size: number;
  modificationTime: number;
  dataChange: boolean;
  /** A JSON string: numRecords, minValues, maxValues, nullCount. */
  stats?: string;
  tags?: AddTags;
}

export interface RemoveAction {
  path: string;
  deletionTimestamp: number;
  dataChange: boolean;
  extendedFileMetadata?: boolean;
  partitionValues?: Record<string, string>;
  size?: number;
}

export interface CommitInfoAction {
  timestamp: number;
  operation: string;
  operationParameters: Record<string, string>;
  run_id?: string;
  attempt_id?: string;
  hour?: string;
  /** The version the writer read before it committed. */
  readVersion?: number;
  isBlindAppend?: boolean;
  engineInfo?: string;
  [field: string]: unknown;
}

export interface TxnAction {
  appId: string;
  version: number;
  lastUpdated?: number;
}

export type DeltaAction = { protocol: ProtocolAction } | { metaData: MetaDataAction } | { add: AddAction } | { remove: RemoveAction } | { commitInfo: CommitInfoAction } | { txn: TxnAction };

/** Reader 1 / writer 2: partitions, stats and appends need nothing newer (no table features). */
export const PROTOCOL: ProtocolAction = { minReaderVersion: 1, minWriterVersion: 2 };

/** Serialises a commit: newline-delimited JSON, one action per line. */
/** Rows of a data file: the row count we tag, else the stats' numRecords (another writer's file), else 0 (no stats, or stats that do not parse). */
export function rowsOfAdd(add: AddAction): number {
  if (add.tags?.rows !== undefined) return Number(add.tags.rows);
  try {
    return Number((JSON.parse(add.stats ?? '{}') as { numRecords?: number }).numRecords ?? 0);
  } catch {
    return 0;
  }
}

export function commitText(actions: readonly DeltaAction[]): string {
  return actions.map((action) => JSON.stringify(action)).join('\n') + '\n';
}

/** Parses a commit file; a line that is not an action object is an error naming the commit. */
export function parseCommit(text: string, source: string): DeltaAction[] {
  const actions: DeltaAction[] = [];
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new Error(`${source}:${index + 1} is not JSON: ${(error as Error).message}`, { cause: error });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${source}:${index + 1} is not an action object`);
    actions.push(value as DeltaAction);
  }
  return actions;
}

export function isPartition(values: Readonly<Record<string, string>> | undefined, partition: { dt: string; hour: string }): boolean {
  return values?.dt === partition.dt && values?.hour === partition.hour;
}

import { rowsOfAdd, type DeltaAction } from './delta-actions.ts';

export interface HistoryRow {
  version: number;
  /** ISO time of the commit (its commitInfo timestamp). */
  committed_at: string;
  operation: string;
  run_id: string;
  hour: string;
  files_added: number;
  files_removed: number;
  rows_added: number;
  /** Null when a removed file was added before the oldest commit still in the log. */
  rows_removed: number | null;
}

/**
 * One row per commit, oldest first: who committed what. Rows of a removed file come from the
 * add that brought it in (its `rows` tag, else its stats), seen earlier in the same commits.
 */
export function commitHistory(commits: readonly { version: number; actions: readonly DeltaAction[] }[]): HistoryRow[] {
  const rowsOfPath = new Map<string, number>();
  return commits.map(({ version, actions }) => {
    const info = actions.flatMap((action) => ('commitInfo' in action ? [action.commitInfo] : []))[0];
    const adds = actions.flatMap((action) => ('add' in action ? [action.add] : []));
    const removes = actions.flatMap((action) => ('remove' in action ? [action.remove] : []));
    let rowsRemoved: number | null = 0;
    for (const remove of removes) {
      const rows = rowsOfPath.get(remove.path);
      rowsRemoved = rows === undefined || rowsRemoved === null ? null : rowsRemoved + rows;
    }
    let rowsAdded = 0;
    for (const add of adds) {
      const rows = rowsOfAdd(add);
      rowsOfPath.set(add.path, rows);
      rowsAdded += rows;
    }
    return {
      version,
      committed_at: info ? new Date(info.timestamp).toISOString() : '',
      operation: info?.operation ?? '',
      run_id: info?.run_id ?? '',
      hour: info?.hour ?? '',
      files_added: adds.length,
      files_removed: removes.length,
      rows_added: rowsAdded,
      rows_removed: rowsRemoved,
    };
  });
}

import { ObjectExistsError, type ObjectStore } from '../storage/object-store.ts';
import { schemaStringOf } from './delta-schema.ts';
import { commitKey } from './log-keys.ts';
import { loadSnapshot, readCommit, readCommitsAfter, writeCommit } from './delta-log.ts';
import { conflictOf, planPartitionReplace, type ReplacePartition } from './plan-commit.ts';
import { applyActions, type Snapshot } from './snapshot.ts';
import type { DeltaAction, RemoveAction } from './delta-actions.ts';

/** Another run's commit replaced this partition after this writer read the log: nothing of this run was published. */
export class CommitConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommitConflictError';
  }
}

export interface CommittedPartition {
  version: number;
  key: string;
  /** The table after this commit. */
  snapshot: Snapshot;
  removed: RemoveAction[];
  /** Commits by other writers this one retried after. */
  retries: number;
}

/**
 * Publishes a partition in one commit, with Delta's optimistic concurrency: plan against the
 * latest snapshot, create the next commit only if absent; when another writer created it first,
 * read the commits missed and try again on top of them, unless one of them touched this
 * partition (CommitConflictError naming both runs). `beforeCommit` runs before every attempt
 * and throws when this writer may no longer publish (its partition lock was lost).
 */
export async function commitPartition(
  store: ObjectStore,
  plan: Omit<ReplacePartition, 'now'> & { now: () => Date; beforeCommit?: () => Promise<void>; maxAttempts?: number; snapshot?: Snapshot },
): Promise<CommittedPartition> {
  const snapshot = plan.snapshot ?? (await loadSnapshot(store, plan.table));
  const schemaString = schemaStringOf(plan.table);
  const maxAttempts = plan.maxAttempts ?? 200;
  for (let attempt = 0; ; attempt++) {
    const actions = planPartitionReplace(snapshot, { ...plan, now: plan.now() });
    const version = snapshot.version + 1;
    await plan.beforeCommit?.();
    try {
      await writeCommit(store, plan.table, version, actions);
      return committed(snapshot, version, actions, attempt, plan.table);
    } catch (error) {
      if (!(error instanceof ObjectExistsError)) {
        // The response was lost but the commit may have landed: it is ours when it names this attempt.
        if (await isOwnCommit(store, plan, version)) return committed(snapshot, version, actions, attempt, plan.table);
        throw error;
      }
    }
    const missed = await readCommitsAfter(store, plan.table, snapshot.version);
    if (missed[0] && ownAttempt(missed[0].actions, plan.attemptId)) return committed(snapshot, version, actions, attempt, plan.table);
    const conflict = conflictOf(missed, plan.partition, schemaString);
    if (conflict) {
      throw new CommitConflictError(
        `${plan.table.name} dt=${plan.partition.dt}/hour=${plan.partition.hour}: commit ${conflict.version} by run ${conflict.runId} (attempt ${conflict.attemptId}) ${conflict.reason} after run ${plan.runId} (attempt ${plan.attemptId}) read version ${snapshot.version}; run ${plan.runId} published nothing`,
      );
    }
    for (const commit of missed) applyActions(snapshot, commit.version, commit.actions);
    if (attempt + 1 >= maxAttempts) throw new Error(`${plan.table.name}: commit of run ${plan.runId} lost ${maxAttempts} races in a row; published nothing`);
    await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 5 * (attempt + 1))));
  }
}

function committed(snapshot: Snapshot, version: number, actions: DeltaAction[], retries: number, table: ReplacePartition['table']): CommittedPartition {
  applyActions(snapshot, version, actions);
  const removed = actions.flatMap((action) => ('remove' in action ? [action.remove] : []));
  return { version, key: commitKey(table, version), snapshot, removed, retries };
}

function ownAttempt(actions: readonly DeltaAction[], attemptId: string): boolean {
  return actions.some((action) => 'commitInfo' in action && action.commitInfo.attempt_id === attemptId);
}

async function isOwnCommit(store: ObjectStore, plan: { table: ReplacePartition['table']; attemptId: string }, version: number): Promise<boolean> {
  const actions = await readCommit(store, plan.table, version).catch(() => undefined);
  return actions !== undefined && ownAttempt(actions, plan.attemptId);
}

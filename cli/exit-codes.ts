/**
 * The exit codes of every `netflow` command, so that cron, systemd and CI can tell harmless
 * contention from a failure. Documented in `netflow --help` and README.md.
 */
export const EXIT = {
  /** The work is done, or there was nothing to do (an hour another runner already published from the same inputs). */
  ok: 0,
  /** The work failed (a run, a query, a report's verification). */
  failed: 1,
  /** Bad usage or configuration: nothing was done. */
  usage: 2,
  /** A partition lock is held by a live runner and the wait (locks.wait) ran out. */
  locked: 3,
  /** A report was written over a period whose hours are not all published. */
  incomplete: 4,
  /** A commit refused because a shard or part of the hour is missing, stale or of another listing: nothing published; run it again once they finish. */
  notReady: 5,
} as const;

export const EXIT_CODES_HELP = `Exit codes: 0 done or nothing to do (an hour already published from the same inputs is skipped,
  said on stderr), 1 the work failed, 2 bad usage or configuration, 3 a partition lock is held by a
  live runner (locks.wait ran out), 4 a report over a period whose hours are not all published,
  5 a commit whose shards or parts are not all finished (missing, stale or of another listing).`;

/** The exit code of hourly runs: any plain failure wins over a held lock, which wins over shards not ready, which win over success. */
export function exitCodeOfRuns(outcomes: readonly { status: string; lockHeld?: boolean; notReady?: boolean }[]): number {
  const failed = outcomes.filter((outcome) => outcome.status === 'failed');
  if (failed.some((outcome) => !outcome.lockHeld && !outcome.notReady)) return EXIT.failed;
  if (failed.some((outcome) => outcome.lockHeld)) return EXIT.locked;
  return failed.length > 0 ? EXIT.notReady : EXIT.ok;
}

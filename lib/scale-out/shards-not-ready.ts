/**
 * A commit (or commit part) refused because shards or parts of the hour are missing, stale or of
 * another listing: nothing was published, and running it again once they finish can succeed
 * (recordFailure marks the result `notReady`; the CLI exits 5).
 */
export class ShardsNotReadyError extends Error {
  constructor(
    hour: string,
    readonly problems: readonly string[],
  ) {
    super(`refusing to publish hour ${hour}: ${problems.join('; ')}`);
    this.name = 'ShardsNotReadyError';
  }
}

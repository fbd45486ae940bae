import type { AlertPayload, Severity } from './alert-payload.ts';

/** What one delivery attempt did: every alert ends up delivered or failed, never in between. */
export interface SinkResult {
  delivered: string[];
  failed: string[];
  /** The last error when something failed. */
  error?: string;
  /** HTTP requests made (webhooks), for the log and the tests. */
  requests?: number;
}

/**
 * A place alerts are sent to. `deliver` never throws: like a kysely batch, it returns per-alert
 * results, so the caller can keep what failed pending for the next run.
 */
export interface AlertSink {
  readonly name: string;
  readonly minSeverity: Severity;
  deliver(alerts: readonly AlertPayload[]): Promise<SinkResult>;
}
